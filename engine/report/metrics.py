"""Performance metrics from an equity curve and a list of round-trip trades.

Formulas (returns are simple per-bar returns of equity, the first taken from the
initial cash; ``P`` is periods per year):
- ``P = (number of returns) / (years spanned)``, years = (last close − first open) /
  365.25 days. Inferring it from the data makes daily stock bars (~252/yr) and 24/7
  crypto bars (8,766 h/yr) both come out right without a setting.
- total_return = E_end / E_0 − 1; cagr = (E_end / E_0)^(1/years) − 1.
- volatility (annualized) = std(r, ddof=1) · √P.
- sharpe = mean(r) / std(r, ddof=1) · √P (risk-free rate 0).
- sortino = mean(r) / √mean(min(r, 0)²) · √P.
- max_drawdown = min(E / running_max(E) − 1), a fraction ≤ 0;
  max_drawdown_duration_days: from the peak before the deepest trough to the recovery
  of that peak (or the end); longest_drawdown_duration_days: the longest such episode.
- win_rate = winners / closed trades (net of fees); profit_factor = Σ winning net PnL /
  |Σ losing net PnL| (None when there is no losing trade).
- exposure = fraction of bars that closed with a non-zero position.
Undefined values (no trades, zero volatility) are None in JSON, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.report.recorder import TradeRecord

__all__ = ["compute_metrics", "drawdown_durations"]

NS_PER_DAY = 86_400 * 10**9
DAYS_PER_YEAR = 365.25


def _clean(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def drawdown_durations(ts: np.ndarray, equity: np.ndarray) -> tuple[float, float, float]:
    """Return (max_drawdown, its episode's duration in days, longest episode in days).

    An episode runs from the last peak before equity dips below it to the first time
    equity is back at or above that peak (or the last bar, if it never recovers).
    """
    if equity.size == 0:
        return 0.0, 0.0, 0.0
    peak = np.maximum.accumulate(equity)
    drawdown = equity / peak - 1.0
    trough = int(np.argmin(drawdown))
    edges = np.diff(np.concatenate(([0], (drawdown < 0).astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)  # first bar under water
    ends = np.flatnonzero(edges == -1)  # first bar back at the peak (size: never)
    if starts.size == 0:
        return 0.0, 0.0, 0.0
    spans = ts[np.minimum(ends, equity.size - 1)] - ts[np.maximum(starts - 1, 0)]
    episode = int(np.searchsorted(starts, trough, side="right")) - 1
    deepest = int(spans[episode]) if episode >= 0 and trough < ends[episode] else 0
    return float(drawdown[trough]), deepest / NS_PER_DAY, int(spans.max()) / NS_PER_DAY


def compute_metrics(
    *,
    initial_cash: float,
    start_ns: int,
    ts: np.ndarray,
    equity: np.ndarray,
    gross_exposure: np.ndarray,
    trades: Sequence[TradeRecord],
    fees_paid: float,
) -> dict[str, Any]:
    """Return the run's metrics as a JSON-ready dict (see module docstring for formulas)."""
    values = np.concatenate(([initial_cash], equity.astype(np.float64)))
    times = np.concatenate(([start_ns], ts.astype(np.int64)))
    returns = values[1:] / values[:-1] - 1.0
    years = (times[-1] - times[0]) / NS_PER_DAY / DAYS_PER_YEAR if times.size > 1 else 0.0
    periods = returns.size / years if years > 0 else math.nan
    final = float(values[-1])
    total_return = final / initial_cash - 1.0
    cagr = (final / initial_cash) ** (1.0 / years) - 1.0 if years > 0 and final > 0 else math.nan
    if returns.size > 1:
        std = float(np.std(returns, ddof=1))
        mean = float(np.mean(returns))
        downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    else:
        std = mean = downside = math.nan
    root = math.sqrt(periods) if periods == periods else math.nan
    sharpe = mean / std * root if std > 0 else math.nan
    sortino = mean / downside * root if downside > 0 else math.nan
    max_dd, dd_days, longest_days = drawdown_durations(times, values)
    net = np.array([t.net_pnl for t in trades], dtype=np.float64)
    wins = net[net > 0]
    losses = net[net <= 0]
    gross_loss = float(-losses.sum())
    return {
        "initial_cash": initial_cash,
        "final_equity": final,
        "total_return": total_return,
        "cagr": _clean(cagr),
        "volatility": _clean(std * root),
        "sharpe": _clean(sharpe),
        "sortino": _clean(sortino),
        "max_drawdown": max_dd,
        "max_drawdown_duration_days": dd_days,
        "longest_drawdown_duration_days": longest_days,
        "num_trades": len(trades),
        "win_rate": _clean(wins.size / net.size) if net.size else None,
        "profit_factor": _clean(float(wins.sum()) / gross_loss) if gross_loss > 0 else None,
        "exposure": float(np.mean(gross_exposure > 0)) if gross_exposure.size else 0.0,
        "fees_paid": fees_paid,
        "bars": int(equity.size),
        "periods_per_year": _clean(periods),
        "start": int(times[0]),
        "end": int(times[-1]),
    }
