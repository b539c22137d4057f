"""An account whose equity reaches zero or below: return-based ratios are undefined.

``r_i = E_i / E_{i−1} − 1`` flips sign once ``E_{i−1} < 0`` (a further loss from −2,000 to
−3,000 reads as +50 %): the audit's short of 15× equity (final equity −17,628.61) scored
Sharpe +0.39, Omega 1.13, best day +328.98 %, turnover −34.02/yr. From the first equity ≤ 0
on those figures are None; ``equity_went_non_positive_at`` says when; total return and the
drawdown (a fraction of the peak, below −1 once equity is negative) stay computed.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.report import TradeRecord, compute_metrics

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY

# one value per day: the run gains 10 %, loses it all and more, and ends at +1,000
EQUITY = [11_000.0, 5_000.0, -2_000.0, -3_000.0, -1_000.0, 1_000.0]
TS = T0 + DAY * np.arange(1, len(EQUITY) + 1, dtype=np.int64)
RETURN_BASED = (
    "volatility", "sharpe", "sortino", "calmar", "omega", "var_95", "cvar_95", "skew",
    "kurtosis", "tail_ratio", "best_day", "worst_day", "best_month", "worst_month",
    "average_exposure", "turnover", "alpha", "beta", "information_ratio", "correlation",
    "probabilistic_sharpe", "deflated_sharpe",
)  # fmt: skip


def _metrics(equity: list[float]) -> dict[str, object]:
    trade = TradeRecord("X", "short", T0, 10.0, 1_000.0, 10.0, 1_900.0, 0.0, T0 + DAY)
    benchmark = (np.concatenate(([T0], TS)), np.linspace(100.0, 130.0, len(equity) + 1))
    return compute_metrics(
        initial_cash=10_000.0, start_ns=T0, ts=TS, equity=np.array(equity),
        gross_exposure=np.full(len(equity), 5_000.0), trades=[trade], fees_paid=0.0,
        benchmark=benchmark,
    )  # fmt: skip


def test_return_based_metrics_are_none_once_equity_is_not_positive() -> None:
    metrics = _metrics(EQUITY)
    assert metrics["equity_went_non_positive_at"] == int(TS[2])
    assert {key: metrics[key] for key in RETURN_BASED} == dict.fromkeys(RETURN_BASED)
    # the endpoints and the drawdown stay: −3,000 is 127.27 % below the 11,000 peak
    assert metrics["total_return"] == pytest.approx(-0.9)
    assert metrics["final_equity"] == 1_000.0
    assert metrics["max_drawdown"] == pytest.approx(-3_000.0 / 11_000.0 - 1.0)
    assert metrics["benchmark_total_return"] == pytest.approx(0.3)  # the benchmark's own
    assert metrics["num_trades"] == 1


def test_equity_exactly_zero_counts_and_a_positive_curve_has_no_flag() -> None:
    assert _metrics([11_000.0, 0.0, 0.0, 0.0, 0.0, 0.0])["equity_went_non_positive_at"] == (
        int(TS[1])
    )
    healthy = _metrics([11_000.0, 5_000.0, 6_000.0, 7_000.0, 6_500.0, 9_000.0])
    assert healthy["equity_went_non_positive_at"] is None
    assert healthy["sharpe"] is not None
    assert healthy["turnover"] is not None
