"""The equity curve of a backtest, built in one vectorized pass from the portfolio's journal.

In: the portfolio's `Journal` (cash and the changed position after every fill and cash
flow it applied, with the simulated time it applied them), the marks of every symbol
(bar close times and closes, or tick times and prices) and, for symbols quoted in a
foreign currency, their rate series. Out: per distinct mark time ``T`` (the moments a
live portfolio takes its `EquitySnapshot`): cash, equity and gross exposure after every
event at ``T`` was processed.

Why not a snapshot per bar during the run: the curve is fully determined by the changes
the portfolio applied (the only things that move cash and positions) and the marks (the
only things that move values), so building it afterwards gives the same numbers while
keeping the per-bar loop free of accounting work. No accounting happens here: cash and
quantities are the portfolio's own, as journaled (`engine.portfolio.journal`); this
module only looks up, for each ``T``, the last journal row applied at or before ``T``
and multiplies quantities by marks.

Symbols quoted in a foreign currency (``rates``) follow `engine.portfolio.fx`: a mark at
``T`` converts at the rate as of ``T`` (the fills were converted by the portfolio).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.portfolio.fx import RateSeries
from engine.portfolio.journal import Journal

__all__ = ["equity_curve"]


def equity_curve(
    journal: Journal,
    closes: Sequence[tuple[str, np.ndarray, np.ndarray]],
    rates: Mapping[str, RateSeries] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(ts, cash, equity, gross_exposure)`` arrays, one row per mark time.

    Args:
        journal: The portfolio's journal at the end of the run.
        closes: Per symbol ``(symbol, ts_close_ns, close)``, each sorted by time.
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
    rows = journal.columns()
    # rows applied at or before each snapshot time: the index after the last one (0: none)
    applied = np.searchsorted(rows.ts, ts, side="right")
    cash_curve = np.concatenate(([journal.initial_cash], rows.cash))[applied]
    amounts: list[np.ndarray] = []
    opened: list[np.ndarray] = []  # per row: the journal row that opened the position
    several = len(closes) > 1  # the opening order matters only when positions are summed
    for symbol, symbol_ts, symbol_close in closes:
        code = journal.code(symbol)
        if code is None:
            continue
        own = np.flatnonzero(rows.symbol == code)  # this symbol's rows, in order
        if own.size == 0:
            continue
        quantity_levels = np.concatenate(([0.0], rows.quantity[own]))
        # position after the last of this symbol's rows applied by each snapshot (when
        # every row is this symbol's, the same index)
        every = own.size == len(rows.ts)
        level = applied if every else np.searchsorted(own, applied, side="left")
        quantity = quantity_levels[level]
        if several:
            # The row that last took the position from flat to open: the portfolio sums its
            # open positions in that order (`Portfolio.snapshot`), and so must this, bit for
            # bit.
            opening = (quantity_levels[:-1] == 0.0) & (quantity_levels[1:] != 0.0)
            opened_levels = np.maximum.accumulate(
                np.concatenate(([-1], np.where(opening, own, -1)))
            )
            opened.append(opened_levels[level])
        del level
        # last close at or before each snapshot (0 before the symbol's first bar)
        if symbol_ts is ts or np.array_equal(symbol_ts, ts):  # one symbol: its own closes
            mark = np.asarray(symbol_close, dtype=np.float64)
        else:
            at = np.searchsorted(symbol_ts, ts, side="right")
            mark = np.concatenate(([0.0], symbol_close))[at]
        amount = quantity * mark
        series = rates.get(symbol)
        if series is not None:  # the rate as of each snapshot (NaN before the first)
            known = np.searchsorted(series.ts, ts, side="right")
            # (quantity × mark) × rate, grouped as `FxPortfolio` does: the same bits
            amount = amount * np.concatenate(([np.nan], series.rate))[known]
        amount[quantity == 0.0] = 0.0  # flat: 0.0, whatever the mark (NaN, inf)
        del quantity, mark
        amounts.append(amount)
    del applied
    value, gross = _sum_in_opening_order(amounts, opened, ts.size)
    del amounts, opened
    # cash + value, written over value (a 10 M-bar curve holds one array less at its peak)
    return ts, cash_curve, np.add(cash_curve, value, out=value), gross


def _sum_in_opening_order(
    amounts: list[np.ndarray], opened: list[np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows' value and gross exposure, adding positions in the order they opened.

    Float addition is not associative: adding the same amounts in another order can differ
    in the last bit. The live portfolio adds its open positions in the order they opened
    (a flat position adds 0.0, which changes nothing wherever it falls), so each row is
    summed in that order, one position at a time, as the portfolio's loop does.
    """
    if len(amounts) == 1:  # 0.0 + amount, as the loop below, in place (the amount is ours)
        amount = amounts[0]
        gross = np.abs(amount)  # never -0.0: adding it to 0.0 changes no bit
        return np.add(amount, 0.0, out=amount), gross
    value = np.zeros(size)
    gross = np.zeros(size)
    if not amounts:
        return value, gross
    order = np.argsort(np.stack(opened), axis=0, kind="stable")
    ordered = np.take_along_axis(np.stack(amounts), order, axis=0)
    for amount in ordered:
        value += amount
        gross += np.abs(amount)
    return value, gross
