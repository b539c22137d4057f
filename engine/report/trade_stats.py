"""Trade statistics of closed round trips, and each trade's adverse and favorable excursion.

Formulas (``pnl`` is a trade's net PnL after fees, in the account currency; a winner has
``pnl > 0``, every other closed trade is a loser; trades are taken in the order they closed):
- win_rate = winners / trades; average_win = mean pnl of winners; average_loss = mean pnl
  of losers (≤ 0); payoff_ratio = average_win / |average_loss|.
- profit_factor = Σ winning pnl / |Σ losing pnl| (None without a losing PnL).
- expectancy = mean pnl per trade (currency); expectancy_pct = mean of
  pnl / entry value (a fraction; the entry value in the account currency too).
- holding time = exit time − entry time (fill times), in days: average and max.
- max_win_streak / max_loss_streak: most consecutive winners / losers.
- MAE / MFE (maximum adverse / favorable excursion), fractions of the entry price, from
  the bars the position was held through — every bar that closes after the entry fill and
  opens before the exit fill, plus the entry and exit prices themselves. Long:
  MAE = min(low)/entry − 1 (≤ 0), MFE = max(high)/entry − 1 (≥ 0); short: MAE =
  1 − max(high)/entry, MFE = 1 − min(low)/entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from engine.feeds import BarFrame
from engine.report.recorder import TradeRecord
from engine.report.series import NS_PER_DAY

__all__ = ["longest_streak", "trade_excursions", "trade_statistics"]


def longest_streak(flags: Sequence[bool]) -> int:
    """Return the length of the longest run of True in ``flags``."""
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        if current > best:
            best = current
    return best


def trade_excursions(
    trades: Sequence[TradeRecord], frames: Sequence[BarFrame]
) -> list[tuple[float, float]]:
    """Return ``(mae, mfe)`` per trade (see the module docstring); NaN-free.

    A trade whose symbol has no frame gets excursions from its entry and exit prices only.
    The trades' prices (`TradeRecord.entry_price`, ``exit_price``: the same divisions) and
    the bar ranges of all trades are gathered in one vectorized pass per symbol.
    """
    count = len(trades)

    def column(name: str, dtype: type = np.float64) -> np.ndarray:
        return np.array(list(map(attrgetter(name), trades)), dtype=dtype)

    entry_quantity, exit_quantity = column("entry_quantity"), column("exit_quantity")
    # TradeRecord.entry_price; a trade never exited has no exit price (NaN)
    entry = np.divide(
        column("entry_value"), entry_quantity, out=np.zeros(count), where=entry_quantity != 0
    )
    exits = np.divide(
        column("exit_value"), exit_quantity, out=np.full(count, np.nan), where=exit_quantity != 0
    )
    low = entry.copy()
    high = entry.copy()
    has_exit = ~np.isnan(exits)
    low[has_exit] = np.minimum(low[has_exit], exits[has_exit])
    high[has_exit] = np.maximum(high[has_exit], exits[has_exit])
    symbols = np.array([t.symbol for t in trades], dtype=object)
    entry_times, exit_times = column("entry_ts", np.int64), column("exit_ts", np.int64)
    for frame in {frame.symbol: frame for frame in frames}.values():
        if not len(frame):
            continue
        rows = np.flatnonzero(symbols == frame.symbol)
        if rows.size == 0:
            continue
        entry_ts = entry_times[rows]
        end_ts = exit_times[rows]
        end_ts[end_ts == 0] = int(frame.ts_close_ns[-1]) + 1  # still open: to the last bar
        first = np.searchsorted(frame.ts_close_ns, entry_ts, side="right")
        stop = np.searchsorted(frame.ts_open_ns, end_ts, side="left")
        lengths = np.maximum(stop - first, 0)
        spans = rows[lengths > 0]
        if spans.size == 0:
            continue
        first, lengths = first[lengths > 0], lengths[lengths > 0]
        # every bar index of every span, then one min/max per span (segments start at
        # the running total of lengths)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        index = np.repeat(first - offsets, lengths) + np.arange(int(lengths.sum()))
        low[spans] = np.minimum(low[spans], np.minimum.reduceat(frame.low[index], offsets))
        high[spans] = np.maximum(high[spans], np.maximum.reduceat(frame.high[index], offsets))
    # each trade's pair from its side, all at once (the same float operations per trade)
    long = np.array([t.side == "long" for t in trades], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # an entry price of 0: see below
        mae = np.where(long, low / entry - 1.0, 1.0 - high / entry)
        mfe = np.where(long, high / entry - 1.0, 1.0 - low / entry)
    unpriced = entry <= 0  # no price to measure from (a NaN one is measured, as NaN)
    mae[unpriced] = 0.0
    mfe[unpriced] = 0.0
    return list(zip(mae.tolist(), mfe.tolist(), strict=True))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def trade_statistics(
    trades: Sequence[TradeRecord], frames: Sequence[BarFrame] | None = None
) -> dict[str, Any]:
    """Return the trade statistics of closed ``trades`` (None where undefined)."""
    pnl = [t.net_pnl for t in trades]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p <= 0]
    gross_loss = -sum(losses)
    average_win = _mean(wins)
    average_loss = _mean(losses)
    holding = [(t.exit_ts - t.entry_ts) / NS_PER_DAY for t in trades]
    returns = [p / t.entry_value_account for p, t in zip(pnl, trades, strict=True) if t.entry_value]
    stats: dict[str, Any] = {
        "num_trades": len(trades),
        "win_rate": len(wins) / len(pnl) if pnl else None,
        "average_win": average_win,
        "average_loss": average_loss,
        "payoff_ratio": (
            average_win / -average_loss
            if average_win is not None and average_loss is not None and average_loss < 0
            else None
        ),
        "profit_factor": sum(wins) / gross_loss if gross_loss > 0 else None,
        "expectancy": _mean(pnl),
        "expectancy_pct": _mean(returns),
        "average_holding_days": _mean(holding),
        "max_holding_days": max(holding) if holding else None,
        "max_win_streak": longest_streak([p > 0 for p in pnl]),
        "max_loss_streak": longest_streak([p <= 0 for p in pnl]),
        "average_mae": None,
        "average_mfe": None,
        "worst_mae": None,
        "best_mfe": None,
    }
    if frames is not None and trades:
        excursions = trade_excursions(trades, frames)
        maes = [mae for mae, _ in excursions]
        mfes = [mfe for _, mfe in excursions]
        stats.update(
            average_mae=_mean(maes),
            average_mfe=_mean(mfes),
            worst_mae=min(maes),
            best_mfe=max(mfes),
        )
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in stats.items()}
