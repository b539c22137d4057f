"""The report's curve computations that avoid curve-length temporaries (issue 13's memory).

Each is compared with the form it replaced, written out here: the same labels, indices
and bits. Calendar periods: a close at ``t`` belongs to the UTC day of ``t − 1 ns``.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.feeds import BarFrame
from engine.report.series import (
    NS_PER_DAY,
    benchmark_values,
    drawdown,
    period_ends,
    period_keys,
    period_returns,
    series_on,
    worst_drawdowns,
)

MINUTE = 60 * 10**9


def _labelled_returns(
    ts: np.ndarray, equity: np.ndarray, initial: float, period: str
) -> tuple[np.ndarray, np.ndarray]:
    """The first `period_returns`: every close labelled, then the label changes found."""
    keys = ((ts - 1) // NS_PER_DAY).astype("datetime64[D]")
    if period != "D":
        keys = keys.astype(f"datetime64[{period}]")
    last = np.flatnonzero(np.concatenate((keys[1:] != keys[:-1], [True])))
    ends = equity[last]
    base = np.concatenate(([initial], ends[:-1]))
    return keys[last], ends / base - 1.0


def _closes(kind: str, rng: np.random.Generator) -> np.ndarray:
    start = 1_600_000_000 * 10**9 // NS_PER_DAY * NS_PER_DAY  # a UTC midnight
    if kind == "minutes":
        return start + MINUTE * np.arange(1, 20_000)
    if kind == "midnights":  # closes exactly at midnight belong to the day before
        return start + NS_PER_DAY * np.arange(1, 400)
    if kind == "gappy":  # weeks and months without closes
        steps = rng.choice([MINUTE, 3_600 * 10**9, 40 * NS_PER_DAY, 400 * NS_PER_DAY], 300)
        return start + np.cumsum(steps)
    return np.array([start + 5])  # one close


@pytest.mark.parametrize("kind", ["minutes", "midnights", "gappy", "one"])
@pytest.mark.parametrize("period", ["D", "M", "Y"])
def test_period_ends_match_labelling_every_close(kind: str, period: str) -> None:
    rng = np.random.default_rng(7)
    ts = _closes(kind, rng).astype(np.int64)
    equity = 100_000 * np.exp(np.cumsum(rng.normal(0, 0.001, ts.size)))
    labels, returns = period_returns(ts, equity, 100_000.0, period)  # type: ignore[arg-type]
    want_labels, want_returns = _labelled_returns(ts, equity, 100_000.0, period)
    assert labels.dtype == want_labels.dtype
    assert np.array_equal(labels, want_labels)
    assert np.array_equal(returns, want_returns)
    keys = period_keys(ts, period)  # type: ignore[arg-type]
    assert np.array_equal(keys[period_ends(ts, period)], want_labels)  # type: ignore[arg-type]


def test_drawdown_with_a_value_before_is_the_drawdown_of_both() -> None:
    rng = np.random.default_rng(3)
    equity = 1_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 5_000)))
    for initial in (500.0, 1_000.0, float(equity.max()) + 1.0):
        whole = drawdown(np.concatenate(([initial], equity)))
        assert np.array_equal(drawdown(equity, before=initial), whole[1:])


def test_buy_and_hold_benchmark_divides_in_place_with_the_same_bits() -> None:
    rng = np.random.default_rng(5)
    n = 3_000
    ts = (np.arange(1, n + 1) * MINUTE).astype(np.int64)
    frames = []
    for symbol in ("A", "B", "C"):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
        open_ = np.concatenate(([50.0], close[:-1]))
        frames.append(
            BarFrame(symbol, MINUTE, ts, open_, close + 1, close - 1, close, np.ones(n), "<t>")
        )
    times = np.concatenate(([0], ts))
    for count in (1, 3):
        total = np.zeros(times.size)
        for frame in frames[:count]:  # the form it replaced
            start = float(frame.open[0])
            total += series_on(times, frame.ts_close_ns, frame.close, start) / start
        got = benchmark_values(times, frames[:count])
        assert got is not None
        assert np.array_equal(got, total / count)


@pytest.mark.parametrize("seed", range(6))
def test_worst_drawdowns_from_a_start_point_equal_those_of_the_joined_curve(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3_000))
    ts = (np.arange(1, n + 1) * MINUTE).astype(np.int64)
    equity = 1_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if seed % 2:  # flat stretches: equal troughs and recoveries exactly at the peak
        equity = np.round(equity, -1)
    for initial in (float(equity[0]), 1_500.0, 800.0):
        joined = worst_drawdowns(
            np.concatenate(([0], ts)), np.concatenate(([initial], equity)), count=20
        )
        assert worst_drawdowns(ts, equity, count=20, start=(0, initial)) == joined
    assert worst_drawdowns(ts[:0], equity[:0], start=(0, 1.0)) == []
