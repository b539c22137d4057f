"""compute_metrics against formulas written here independently; drawdown episodes by hand."""

from __future__ import annotations

import itertools
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.report import TradeRecord, compute_metrics
from engine.report.metrics import drawdown_durations

DAY = 86_400 * 10**9
REPO = Path(__file__).resolve().parents[3]


def trade(net: float) -> TradeRecord:
    """A closed long trade whose net PnL is ``net`` (1 unit, entry 100, no fees)."""
    return TradeRecord(
        "A", "long", 0, entry_quantity=1.0, entry_value=100.0, exit_quantity=1.0,
        exit_value=100.0 + net, exit_ts=1,
    )  # fmt: skip


def reference(
    initial: float, start_ns: int, ts: list[int], equity: list[float]
) -> dict[str, float | None]:
    """The documented formulas, in plain Python (statistics module, loops)."""
    values = [initial, *equity]
    times = [start_ns, *ts]
    returns = [b / a - 1 for a, b in itertools.pairwise(values)]
    years = (times[-1] - times[0]) / DAY / 365.25
    periods = len(returns) / years
    mean = statistics.fmean(returns)
    std = statistics.stdev(returns)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    peak = -math.inf
    worst = 0.0
    for v in values:
        peak = max(peak, v)
        worst = min(worst, v / peak - 1)
    return {
        "final_equity": values[-1],
        "total_return": values[-1] / initial - 1,
        "cagr": (values[-1] / initial) ** (1 / years) - 1,
        "volatility": std * math.sqrt(periods),
        "sharpe": mean / std * math.sqrt(periods),
        "sortino": mean / downside * math.sqrt(periods) if downside else None,
        "max_drawdown": worst,
        "periods_per_year": periods,
    }


def test_small_hand_series() -> None:
    ts = [DAY, 2 * DAY, 3 * DAY, 4 * DAY]
    equity = [110.0, 99.0, 108.9, 120.0]
    metrics = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array(ts),
        equity=np.array(equity),
        gross_exposure=np.array([0.0, 5.0, 5.0, 0.0]),
        trades=[trade(10.0), trade(-5.0), trade(3.0), trade(0.0)],
        fees_paid=1.25,
    )
    expected = reference(100.0, 0, ts, equity)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-12), key
    # by hand: returns +10%, -10%, +10%, +10.19%; 4 returns over 4 days
    assert metrics["total_return"] == pytest.approx(0.2)
    assert metrics["periods_per_year"] == pytest.approx(365.25)
    assert metrics["max_drawdown"] == pytest.approx(-0.1)  # 110 -> 99
    assert metrics["max_drawdown_duration_days"] == 3.0  # day 1 peak, back above on day 4
    assert metrics["longest_drawdown_duration_days"] == 3.0
    assert metrics["num_trades"] == 4
    assert metrics["win_rate"] == 0.5  # a zero-PnL trade is not a win
    assert metrics["profit_factor"] == pytest.approx(13.0 / 5.0)
    assert metrics["exposure"] == 0.5
    assert metrics["fees_paid"] == 1.25
    assert (metrics["bars"], metrics["start"], metrics["end"]) == (4, 0, 4 * DAY)
    assert metrics["initial_cash"] == 100.0


def test_undefined_values_are_none_not_nan() -> None:
    flat = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array([DAY, 2 * DAY, 3 * DAY]),
        equity=np.array([100.0, 100.0, 100.0]),
        gross_exposure=np.zeros(3),
        trades=[],
        fees_paid=0.0,
    )
    assert flat["sharpe"] is None
    assert flat["sortino"] is None
    assert flat["volatility"] == 0.0
    assert flat["win_rate"] is None
    assert flat["profit_factor"] is None
    assert flat["cagr"] == 0.0
    assert (flat["max_drawdown"], flat["max_drawdown_duration_days"]) == (0.0, 0.0)
    assert flat["exposure"] == 0.0

    only_winners = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array([DAY]),
        equity=np.array([101.0]),
        gross_exposure=np.array([1.0]),
        trades=[trade(1.0)],
        fees_paid=0.0,
    )
    assert only_winners["profit_factor"] is None  # no losing trade
    assert only_winners["win_rate"] == 1.0
    assert only_winners["sharpe"] is None  # one return has no std
    assert only_winners["volatility"] is None

    empty = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array([], dtype=np.int64),
        equity=np.array([]),
        gross_exposure=np.array([]),
        trades=[],
        fees_paid=0.0,
    )
    assert (empty["final_equity"], empty["total_return"], empty["bars"]) == (100.0, 0.0, 0)
    assert empty["cagr"] is None
    assert empty["periods_per_year"] is None
    assert empty["exposure"] == 0.0


def test_ruined_account_has_no_cagr() -> None:
    metrics = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array([DAY, 2 * DAY]),
        equity=np.array([50.0, -10.0]),
        gross_exposure=np.ones(2),
        trades=[trade(-110.0)],
        fees_paid=0.0,
    )
    assert metrics["cagr"] is None
    assert metrics["total_return"] == pytest.approx(-1.1)
    assert metrics["profit_factor"] == 0.0  # losses only: 0 / 110
    assert metrics["win_rate"] == 0.0


def test_goog_closes_as_an_equity_curve() -> None:
    frame = pd.read_csv(REPO / "data" / "GOOG.csv", index_col=0, parse_dates=True)
    opens = frame.index.tz_localize("UTC").as_unit("ns").asi8
    ts = opens + DAY  # daily bars close a day after they open
    equity = (10_000.0 * frame["Close"] / frame["Close"].iloc[0]).to_numpy()
    metrics = compute_metrics(
        initial_cash=10_000.0,
        start_ns=int(opens[0]),
        ts=ts,
        equity=equity,
        gross_exposure=np.where(np.arange(equity.size) % 4 == 0, 0.0, 1.0),
        trades=[],
        fees_paid=0.0,
    )
    expected = reference(10_000.0, int(opens[0]), ts.tolist(), equity.tolist())
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-9), key
    # a second, pandas-based view of the same numbers
    series = pd.Series(np.concatenate(([10_000.0], equity)))
    returns = series.pct_change().dropna()
    years = (ts[-1] - opens[0]) / DAY / 365.25
    assert 250 < returns.size / years < 254  # trading days per year
    assert metrics["volatility"] == pytest.approx(returns.std() * math.sqrt(returns.size / years))
    assert metrics["max_drawdown"] == pytest.approx((series / series.cummax() - 1).min())
    assert metrics["exposure"] == pytest.approx(0.75, abs=1e-3)
    # deepest GOOG drawdown of 2004-2013: the 2007-2008 crash, ~65% down
    assert -0.70 < metrics["max_drawdown"] < -0.60


def days(*values: float) -> np.ndarray:
    return np.array([int(v * DAY) for v in values], dtype=np.int64)


@pytest.mark.parametrize(
    ("ts", "equity", "expected"),
    [
        (days(0, 1, 2), [100.0, 101.0, 102.0], (0.0, 0.0, 0.0)),  # never under water
        (days(0, 1, 2, 3, 4), [100.0, 90.0, 95.0, 100.0, 101.0], (-0.1, 3.0, 3.0)),
        # deep and short (2 days) then shallow and long (5 days)
        (
            days(0, 1, 2, 3, 4, 5, 6, 7),
            [100.0, 80.0, 100.0, 99.0, 98.0, 97.0, 96.0, 100.0],
            (-0.2, 2.0, 5.0),
        ),
        # never recovers: runs from the peak (day 1) to the last bar (day 3)
        (days(0, 1, 2, 3), [100.0, 120.0, 90.0, 95.0], (-0.25, 2.0, 2.0)),
        # the episode starts at the LAST bar at the peak
        (days(0, 1, 2), [100.0, 100.0, 99.0], (-0.01, 1.0, 1.0)),
        # uneven spacing: durations come from the timestamps
        (days(0, 0.5, 3, 10), [10.0, 8.0, 9.0, 10.0], (-0.2, 10.0, 10.0)),
        (days(5), [7.0], (0.0, 0.0, 0.0)),
        (days(), [], (0.0, 0.0, 0.0)),
    ],
)
def test_drawdown_durations(
    ts: np.ndarray, equity: list[float], expected: tuple[float, float, float]
) -> None:
    result = drawdown_durations(ts, np.array(equity, dtype=np.float64))
    assert result == pytest.approx(expected, abs=1e-12)
