"""The buy-and-hold benchmark of a multi-currency run is valued in the account currency.

Hand arithmetic. Daily bars: X (quoted in EUR) opens at 100 and closes 100, 110, 120; Y
(quoted in the account currency) opens at 50 and closes 50, 55, 60. The EUR rate (account
units per EUR) is 0.5 from T0 on and 0.25 from the third close on. Each symbol is bought
at its first open with half the initial value: X's half is worth close × rate / (100 ×
0.5) = 1, 1.1, 0.6 at the closes; Y's 1, 1.1, 1.2; the benchmark 1, 1, 1.1, 0.9 with the
start. In quote currency (the old answer) X would read 1, 1.1, 1.2 and the benchmark 1.2.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.feeds import BarFrame
from engine.portfolio.fx import RateSeries
from engine.report import compute_metrics
from engine.report.series import benchmark_values

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY
TIMES = np.array([T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY], dtype=np.int64)


def _frame(symbol: str, open_: float, closes: list[float]) -> BarFrame:
    close = np.array(closes)
    ts = T0 + np.arange(close.size, dtype=np.int64) * DAY
    opens = np.concatenate(([open_], close[:-1]))
    return BarFrame(symbol, DAY, ts, opens, close, close, close, np.ones(close.size))


FRAMES = [_frame("X", 100.0, [100.0, 110.0, 120.0]), _frame("Y", 50.0, [50.0, 55.0, 60.0])]
EUR = RateSeries("EUR", TIMES.copy(), np.array([0.5, 0.5, 0.5, 0.25]))


def test_benchmark_values_each_holding_at_the_rate_as_of_each_time() -> None:
    values = benchmark_values(TIMES, FRAMES, rates={"X": EUR})
    assert values is not None
    assert values.tolist() == pytest.approx([1.0, 1.0, 1.1, 0.9])
    # without rates every symbol is in the account currency (unchanged arithmetic)
    plain = benchmark_values(TIMES, FRAMES)
    assert plain is not None
    assert plain.tolist() == pytest.approx([1.0, 1.0, 1.1, 1.2])


def test_rate_not_yet_known_at_the_first_open_is_the_first_rate() -> None:
    # the rate file is the bars' own (first rate known at the first close, as the engine
    # allows): the purchase converts at that first rate, and the value starts at 1.0
    late = RateSeries("EUR", TIMES[1:].copy(), np.array([0.5, 0.5, 0.25]))
    values = benchmark_values(TIMES, FRAMES[:1], rates={"X": late})
    assert values is not None
    assert values.tolist() == pytest.approx([1.0, 1.0, 1.1, 0.6])


def test_metrics_benchmark_is_in_the_account_currency() -> None:
    equity = np.array([10_000.0, 10_100.0, 10_050.0])
    common = {
        "initial_cash": 10_000.0, "start_ns": T0, "ts": TIMES[1:], "equity": equity,
        "gross_exposure": np.zeros(3), "trades": [], "fees_paid": 0.0, "frames": FRAMES,
    }  # fmt: skip
    metrics = compute_metrics(**common, fx_rates={"X": EUR})  # type: ignore[arg-type]
    assert metrics["benchmark_total_return"] == pytest.approx(-0.1)
    bench = np.array([0.0, 0.1, 0.9 / 1.1 - 1.0])  # per-bar returns of 1, 1, 1.1, 0.9
    own = equity / np.array([10_000.0, 10_000.0, 10_100.0]) - 1.0
    assert metrics["beta"] == pytest.approx(np.cov(own, bench)[0, 1] / np.var(bench, ddof=1))
