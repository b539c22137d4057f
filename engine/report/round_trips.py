"""Round trips: fills folded into position-based trades, the one trade builder of every mode.

In: fills, oldest first, as ``(symbol, side, quantity, price, fee, fill id, ts_event)`` plus
the quote-to-account rate at the fill (1.0 without FX). Out: `TradeRecord`s — the closed
round trips in the order they closed, the trade still open per symbol, and those open ones
marked to a price (`RoundTrips.marked`).

Who feeds it: the backtest's and paper's `engine.report.recorder.Recorder` (its
`OrderFilled` events, folded when its trades are read) and the live report
(`engine.runtime.live.report`: the account's stored fills, each as the node's kernel booked
it, `engine.runtime.live.venue.kernel_fill`). The same fills give the same trades, byte for
byte, whichever mode produced them.

Rules: a trade opens when a symbol's position leaves zero and closes when it returns to zero
(within 1e-9 of the trade's entry quantity: float dust does not keep a trade open); a fill
that crosses zero closes one trade and opens the next, and its fee is split between them in
proportion to quantity. A trade's prices (``entry_price``, ``exit_price``, ``entry_value``,
``exit_value``) are in the instrument's quote currency; ``fees``, ``gross_pnl`` and
``net_pnl`` in the account currency (with FX, ``entry_cost`` / ``exit_proceeds`` hold the
account-currency values at each fill's rate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["Mark", "RoundTrips", "TradeRecord"]


@dataclass(slots=True)
class TradeRecord:
    """One round trip (or the still-open trade of a symbol)."""

    symbol: str
    side: str  # "long" or "short"
    entry_ts: int
    entry_quantity: float = 0.0
    entry_value: float = 0.0
    exit_quantity: float = 0.0
    exit_value: float = 0.0
    fees: float = 0.0
    exit_ts: int = 0
    fill_ids: list[str] = field(default_factory=list)
    # account-currency entry cost and exit proceeds (multi-currency runs); None: they equal
    # entry_value and exit_value (the instrument is quoted in the account currency)
    entry_cost: float | None = None
    exit_proceeds: float | None = None
    # a position still open at the end, marked to its last close (`RoundTrips.marked`)
    is_open: bool = False
    unrealized_pnl: float = 0.0  # account currency; 0 for closed trades

    @property
    def entry_value_account(self) -> float:
        """Return what the entry cost in the account currency."""
        return self.entry_value if self.entry_cost is None else self.entry_cost

    @property
    def entry_price(self) -> float:
        """Return the quantity-weighted average entry price."""
        return self.entry_value / self.entry_quantity if self.entry_quantity else 0.0

    @property
    def exit_price(self) -> float:
        """Return the quantity-weighted average exit price."""
        return self.exit_value / self.exit_quantity if self.exit_quantity else 0.0

    @property
    def gross_pnl(self) -> float:
        """Return PnL before fees on the closed quantity (account currency)."""
        direction = 1.0 if self.side == "long" else -1.0
        if self.entry_cost is not None and self.exit_proceeds is not None:
            average_cost = self.entry_cost / self.entry_quantity if self.entry_quantity else 0.0
            return direction * (self.exit_proceeds - average_cost * self.exit_quantity)
        return direction * (self.exit_value - self.entry_price * self.exit_quantity)

    @property
    def net_pnl(self) -> float:
        """Return PnL after all fees of the trade."""
        return self.gross_pnl - self.fees


class Mark(NamedTuple):
    """Where an open position is marked at the end of a run."""

    ts_ns: int  # close time of the symbol's last bar (or last tick), ns UTC
    price: float  # last close, quote currency
    rate: float  # quote-to-account rate at the end (1.0 without FX)
    unrealized_pnl: float  # the portfolio's unrealized PnL of the position, account currency


class RoundTrips:
    """Fold fills into round trips (see the module docstring)."""

    def __init__(self, *, fx: bool = False) -> None:
        """Start flat; with ``fx`` every trade also keeps its account-currency values."""
        self._fx = fx
        self.closed: list[TradeRecord] = []  # in the order they closed
        self.open: dict[str, TradeRecord] = {}  # the trade still open per symbol
        self._position: dict[str, float] = {}

    def add(
        self,
        symbol: str,
        buy: bool,
        quantity: float,
        price: float,
        fee: float,
        fill_id: str,
        ts_event: int,
        rate: float = 1.0,
    ) -> None:
        """Fold one fill (``fee`` in the quote currency, ``rate`` quote-to-account)."""
        signed = quantity if buy else -quantity
        position = self._position.get(symbol, 0.0)
        remaining = quantity
        trade = self.open.get(symbol)
        if trade is not None and (position > 0) != (signed > 0):
            closing = min(remaining, abs(position))
            trade.exit_quantity += closing
            trade.exit_value += closing * price
            if trade.exit_proceeds is not None:
                trade.exit_proceeds += closing * price * rate
            trade.fees += fee * rate * closing / quantity
            trade.fill_ids.append(fill_id)
            remaining -= closing
            position += closing if signed > 0 else -closing
            if abs(position) <= 1e-9 * trade.entry_quantity:
                position = 0.0
                trade.exit_ts = ts_event
                self.closed.append(trade)
                del self.open[symbol]
        if remaining > 1e-12 * quantity:
            trade = self.open.get(symbol)
            if trade is None:
                trade = TradeRecord(symbol, "long" if signed > 0 else "short", ts_event)
                if self._fx:
                    trade.entry_cost = trade.exit_proceeds = 0.0
                self.open[symbol] = trade
            trade.entry_quantity += remaining
            trade.entry_value += remaining * price
            if trade.entry_cost is not None:
                trade.entry_cost += remaining * price * rate
            trade.fees += fee * rate * remaining / quantity
            trade.fill_ids.append(fill_id)
            position += remaining if signed > 0 else -remaining
        self._position[symbol] = position

    def marked(self, marks: Mapping[str, Mark]) -> list[TradeRecord]:
        """Return the open trades marked to ``marks``, flagged ``is_open``.

        Each is the whole trade (since the position left zero) as if its remaining
        quantity were sold (bought back) at its mark, at the mark's time, without an exit
        fee (none was paid): entry quantity and price are all it bought (sold short), not
        what is held; the exit price blends the partial exits with the mark for the rest;
        gross PnL is realized (partial exits) + unrealized. Copies, in the order they
        opened; the open trades themselves are not changed. A symbol without a mark is
        skipped (it has no price to mark at).
        """
        marked = []
        for symbol, trade in self.open.items():
            mark = marks.get(symbol)
            if mark is None:
                continue
            remaining = trade.entry_quantity - trade.exit_quantity
            copy = TradeRecord(
                symbol=symbol,
                side=trade.side,
                entry_ts=trade.entry_ts,
                entry_quantity=trade.entry_quantity,
                entry_value=trade.entry_value,
                exit_quantity=trade.entry_quantity,
                exit_value=trade.exit_value + remaining * mark.price,
                fees=trade.fees,
                exit_ts=mark.ts_ns,
                fill_ids=list(trade.fill_ids),
                entry_cost=trade.entry_cost,
                exit_proceeds=None
                if trade.exit_proceeds is None
                else trade.exit_proceeds + remaining * mark.price * mark.rate,
                is_open=True,
                unrealized_pnl=mark.unrealized_pnl,
            )
            marked.append(copy)
        return marked
