"""The portfolio's journal: cash and the changed position after every change it applies.

In: one row per change `engine.portfolio.Portfolio` applies — a fill (`on_order_filled`) or
a cash flow that is not a fill (`apply_cash_flow`: borrow fees, funding) — written by the
portfolio itself: when it was applied (``ts_init``, the simulated time), the symbol, that
symbol's signed quantity after it and the account's cash after it (account currency).
Out: the rows as numpy columns (`Journal.columns`), from which `engine.portfolio.curve`
builds a backtest's equity curve without redoing any accounting.

Why a journal: the portfolio is the only ledger (issue 12). The equity curve needs cash
and positions at every bar close time, but taking them per bar would put accounting work
in the backtest's per-bar loop; recording them per change costs four list appends per fill
and nothing per bar, and the curve then reads the portfolio's own numbers (its rounding,
its dust rule, its fx conversion) instead of re-deriving them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

__all__ = ["Journal", "JournalColumns"]


class JournalColumns(NamedTuple):
    """The journal as arrays of equal length, in the order the changes were applied."""

    ts: np.ndarray  # int64 ns: the simulated time each change was applied (non-decreasing)
    symbol: np.ndarray  # int64: index of the symbol in `Journal.symbols`
    quantity: np.ndarray  # float64: that symbol's signed quantity after the change
    cash: np.ndarray  # float64: the account's cash after the change


class Journal:
    """Append-only columns of the portfolio's state after each change it applied."""

    __slots__ = ("_cash", "_code", "_quantity", "_symbol", "_ts", "initial_cash", "symbols")

    def __init__(self, initial_cash: float, symbols: Iterable[str]) -> None:
        """Start empty: before the first row, cash is ``initial_cash`` and every position 0."""
        self.initial_cash = initial_cash
        self.symbols = list(symbols)
        self._code = {symbol: index for index, symbol in enumerate(self.symbols)}
        self._ts: list[int] = []
        self._symbol: list[int] = []
        self._quantity: list[float] = []
        self._cash: list[float] = []

    def record(self, ts_ns: int, symbol: str, quantity: float, cash: float) -> None:
        """Append one change: at ``ts_ns``, ``symbol`` holds ``quantity`` and cash is ``cash``."""
        self._ts.append(ts_ns)
        self._symbol.append(self._code[symbol])
        self._quantity.append(quantity)
        self._cash.append(cash)

    def code(self, symbol: str) -> int | None:
        """Return ``symbol``'s index in the ``symbol`` column (None: not in this account)."""
        return self._code.get(symbol)

    def __len__(self) -> int:
        return len(self._ts)

    def columns(self) -> JournalColumns:
        """Return the rows so far as numpy columns (copies: the journal may grow on)."""
        n = len(self._ts)
        return JournalColumns(
            np.fromiter(self._ts, dtype=np.int64, count=n),
            np.fromiter(self._symbol, dtype=np.int64, count=n),
            np.fromiter(self._quantity, dtype=np.float64, count=n),
            np.fromiter(self._cash, dtype=np.float64, count=n),
        )
