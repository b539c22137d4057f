"""The equity curve of a backtest, rebuilt from its fills and bars in one vectorized pass.

In: the bar close times and closes of every symbol, the fills in the order the portfolio
applied them, and the initial cash. Out: per distinct bar close time ``T`` (the moments a
live portfolio takes its `EquitySnapshot`): cash, equity and gross exposure after every
bar closing at ``T`` was processed.

Why not a snapshot per bar during the run: the curve is fully determined by the fills
(the only things that change cash and positions) and the closes (the only things that
change marks), so taking it afterwards gives the same numbers while keeping the per-bar
loop free of accounting work. The fills' ``ts_init`` is the simulated time at which they
were applied, which is exactly the snapshot they first belong to. Cash and positions are
accumulated fill by fill with the same arithmetic as `Portfolio`. Cash flows that are not
fills (`CashAdjusted`: borrow fees, funding) change cash too; they are passed in as well
and counted from the snapshot of their ``ts_init`` on.

Symbols quoted in a foreign currency (``rates``) follow `engine.portfolio.fx`: a fill's
cash converts at the rate as of its ``ts_event``, a mark at snapshot ``T`` at the rate as
of ``T`` — the same rates `FxPortfolio` uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.model import CashAdjusted, OrderFilled, OrderSide
from engine.portfolio.fx import RateSeries

__all__ = ["equity_curve"]


def equity_curve(
    initial_cash: float,
    closes: Sequence[tuple[str, np.ndarray, np.ndarray]],
    fills: Sequence[OrderFilled],
    adjustments: Sequence[CashAdjusted] = (),
    rates: Mapping[str, RateSeries] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(ts, cash, equity, gross_exposure)`` arrays, one row per bar close time.

    Args:
        initial_cash: Cash before the first fill.
        closes: Per symbol ``(symbol, ts_close_ns, close)``, each sorted by time.
        fills: Every fill, in the order they were applied.
        adjustments: Every `CashAdjusted`, in the order they were applied.
        rates: Per symbol quoted in a foreign currency, its rate into the account currency.
    """
    rates = rates or {}
    if len(closes) == 1:
        ts = np.asarray(closes[0][1], dtype=np.int64)  # one symbol: already sorted
        if ts.size > 1 and bool(np.any(ts[1:] == ts[:-1])):
            ts = np.unique(ts)  # ticks may share a timestamp
    elif closes:
        ts = np.unique(np.concatenate([t for _, t, _ in closes]))
    else:
        ts = np.empty(0, dtype=np.int64)
    fill_ts = np.fromiter((f.ts_init for f in fills), dtype=np.int64, count=len(fills))
    cash_after: list[float] = []  # a list, then one array: faster than item assignment
    cash = initial_cash
    held: dict[str, float] = {}
    held_after: dict[str, list[tuple[int, float]]] = {}
    buy = OrderSide.BUY
    for k, fill in enumerate(fills):
        symbol = fill.symbol
        signed = fill.quantity if fill.side is buy else -fill.quantity
        series = rates.get(symbol)
        if series is None:
            cash -= signed * fill.price + fill.fee
        else:
            cash -= (signed * fill.price + fill.fee) * series.at(fill.ts_event)
        cash_after.append(cash)
        old = held.get(symbol, 0.0)
        new = old + signed
        if old:  # same dust rule as Position.apply (which skips it when opening)
            larger = old if abs(old) > abs(signed) else signed
            if abs(new) <= 1e-9 * abs(larger):
                new = 0.0
        held[symbol] = new
        changes = held_after.get(symbol)
        if changes is None:
            held_after[symbol] = changes = []
        changes.append((k, new))
    # index of the last fill applied at or before each snapshot time (-1: none yet)
    last_fill = np.searchsorted(fill_ts, ts, side="right") - 1
    cash_curve = np.array([initial_cash, *cash_after])[last_fill + 1]
    if adjustments:
        adjusted_ts = np.fromiter((a.ts_init for a in adjustments), np.int64, len(adjustments))
        flows = np.cumsum([0.0] + [a.amount for a in adjustments])
        cash_curve = cash_curve + flows[np.searchsorted(adjusted_ts, ts, side="right")]
    value = np.zeros(ts.size)
    gross = np.zeros(ts.size)
    for symbol, symbol_ts, symbol_close in closes:
        changes = held_after.get(symbol)
        if not changes:
            continue
        quantity_levels = np.array([0.0] + [q for _, q in changes])
        # position after the last of this symbol's fills applied by each snapshot
        if len(changes) == len(fills):  # every fill is this symbol's: same index
            quantity = quantity_levels[last_fill + 1]
        else:
            fill_index = np.array([k for k, _ in changes], dtype=np.int64)
            quantity = quantity_levels[np.searchsorted(fill_index, last_fill, side="right")]
        # last close at or before each snapshot (0 before the symbol's first bar)
        if symbol_ts is ts or np.array_equal(symbol_ts, ts):  # one symbol: its own closes
            mark = np.asarray(symbol_close, dtype=np.float64)
        else:
            at = np.searchsorted(symbol_ts, ts, side="right")
            mark = np.concatenate(([0.0], symbol_close))[at]
        series = rates.get(symbol)
        if series is not None:  # the rate as of each snapshot (NaN before the first)
            known = np.searchsorted(series.ts, ts, side="right")
            mark = mark * np.concatenate(([np.nan], series.rate))[known]
        amount = np.where(quantity != 0.0, quantity * mark, 0.0)
        value += amount
        gross += np.abs(amount)
    return ts, cash_curve, cash_curve + value, gross
