"""Cash, positions with average price, realized and unrealized PnL, equity.

Accounting rules (all amounts in the account currency):
- A buy of q at p with fee f: ``cash -= q * p + f``; a sell: ``cash += q * p - f``.
- Adding to a position moves its average price to the quantity-weighted mean of fills.
- Reducing a position realizes ``closed_quantity * (p - average_price) * sign(position)``;
  the average price of what remains is unchanged. Crossing through zero closes the old
  side and opens the new one at the fill price.
- Unrealized PnL is ``quantity * (last_close - average_price)``.
- Equity is ``cash + Σ quantity * last_close`` (a short's value is negative; its sale
  proceeds are in cash). Fees are never part of realized PnL; they are in cash.
- Cash flows that are not fills (borrow fees, funding; see `engine.portfolio.accounts`)
  go through `apply_cash_flow`: ``cash += amount``, summed in ``cash_flows`` (and per
  position), and published as `CashAdjusted`. So realized + unrealized − fees +
  cash_flows = equity − initial cash, always.

Last closes come from the shared ``prices`` mapping that `engine.cache.MarketCache`
updates before anyone else sees a bar. The equity curve (one `EquitySnapshot` per
timestamp, taken by `snapshot`) is kept in ``equity_curve``; with ``publish_snapshots``
each snapshot is also published on the bus (paper/live subscribers), which a backtest
skips to keep the per-bar path short.

One ledger (issue 12): this class is the only place cash and position arithmetic happens.
- Journal: after each change it applies (a fill, a cash flow) the portfolio appends
  ``(ts_init, symbol, quantity after, cash after)`` to ``journal``
  (`engine.portfolio.journal`); a backtest builds its equity curve from that journal and
  the marks (`engine.portfolio.curve`) instead of snapshotting per bar.
- Pending fills: a venue publishes a fill before the bus delivers it here, and a second
  fill matched in the same bar must not spend the same cash. The venue therefore calls
  `reserve_fill` as it publishes; `projected_cash` and `projected_position` count every
  reserved fill not yet applied, and `on_order_filled` releases the reservation in the
  same step as it applies the fill. Both numbers are thus the same before and after the
  fill is delivered, whichever handlers run before or after the portfolio's.
"""

from __future__ import annotations

from engine.bus import EventBus
from engine.clock import Clock
from engine.model import CashAdjusted, EquitySnapshot, OrderFilled, OrderSide, PositionChanged
from engine.portfolio.journal import Journal

__all__ = ["Portfolio", "Position"]

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_BUY = OrderSide.BUY


class Position:
    """One symbol's holding. ``quantity`` is signed: > 0 long, < 0 short."""

    __slots__ = ("average_price", "cash_flows", "fees", "quantity", "realized_pnl", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.quantity = 0.0
        self.average_price = 0.0
        self.realized_pnl = 0.0
        self.fees = 0.0
        self.cash_flows = 0.0  # borrow fees and funding, signed (< 0: paid)

    def apply(self, signed_quantity: float, price: float) -> float:
        """Apply a fill of ``signed_quantity`` at ``price``; return the PnL it realized."""
        old = self.quantity
        if old == 0.0:  # opening: the common case, nothing to net
            self.quantity = signed_quantity
            self.average_price = price
            return 0.0
        new = old + signed_quantity
        if abs(new) <= 1e-9 * max(abs(old), abs(signed_quantity)):
            new = 0.0  # float dust from lot arithmetic would leave a phantom position
        realized = 0.0
        if (old > 0) == (signed_quantity > 0):
            self.average_price = (
                abs(old) * self.average_price + abs(signed_quantity) * price
            ) / abs(new)
        else:
            closed = min(abs(signed_quantity), abs(old))
            realized = closed * (price - self.average_price) * (1.0 if old > 0 else -1.0)
            if new == 0.0:
                self.average_price = 0.0
            elif (new > 0) != (old > 0):
                self.average_price = price
        self.quantity = new
        self.realized_pnl += realized
        return realized

    def unrealized_pnl(self, last_price: float) -> float:
        """Return ``quantity * (last_price - average_price)``."""
        return self.quantity * (last_price - self.average_price) if self.quantity else 0.0


class Portfolio:
    """The account: cash and positions, marked to each bar's close."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        initial_cash: float,
        prices: dict[str, float],
        *,
        publish_snapshots: bool = False,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self.initial_cash = initial_cash
        self._cash = initial_cash
        self.positions: dict[str, Position] = {s: Position(s) for s in prices}
        self._open: dict[str, Position] = {}
        self._last = prices
        self._publish_snapshots = publish_snapshots
        self.fees_paid = 0.0
        self.cash_flows = 0.0  # Σ CashAdjusted amounts (borrow fees, funding), signed
        self.equity_curve: list[EquitySnapshot] = []
        self.journal = Journal(initial_cash, prices)
        # fills a venue published and this portfolio has not applied yet (`reserve_fill`)
        self._pending_cash = 0.0  # Σ cash change of the reserved fills (account currency)
        self._pending_quantity: dict[str, float] = {}  # Σ signed quantity, per symbol
        self._reserved: dict[str, float] = {}  # fill id -> its cash change, until applied

    @property
    def cash(self) -> float:
        """Return cash in account currency."""
        return self._cash

    def position_quantity(self, symbol: str) -> float:
        """Return the signed quantity held in ``symbol``."""
        return self.positions[symbol].quantity

    def last_price(self, symbol: str) -> float:
        """Return the last close marked for ``symbol`` (NaN before its first bar)."""
        return self._last[symbol]

    def equity(self) -> float:
        """Return ``cash + Σ quantity * last_close`` over open positions."""
        if not self._open:
            return self._cash  # flat: nothing to mark
        last = self._last
        return self._cash + sum(p.quantity * last[s] for s, p in self._open.items())

    def gross_exposure(self) -> float:
        """Return ``Σ |quantity * last_close|`` over open positions."""
        last = self._last
        return sum(abs(p.quantity * last[s]) for s, p in self._open.items())

    def open_positions(self) -> dict[str, Position]:
        """Return the non-flat positions by symbol (a live view: do not modify it)."""
        return self._open

    def margin_state(self) -> tuple[float, float]:
        """Return ``(equity, gross_exposure)`` in one pass over the open positions."""
        last = self._last
        value = 0.0
        gross = 0.0
        for symbol, position in self._open.items():
            amount = position.quantity * last[symbol]
            value += amount
            gross += abs(amount)
        return self._cash + value, gross

    # --- fills published by the venue and not yet applied -------------------------------

    def reserve_fill(self, fill: OrderFilled) -> None:
        """Count ``fill`` in `projected_cash` / `projected_position` until it is applied.

        The venue calls this as it publishes ``fill`` (`engine.execution.fills`); the
        reservation ends when `on_order_filled` applies that fill (matched by fill id).
        """
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        amount = self._fill_cash(fill, signed)
        self._reserved[fill.fill_id] = amount
        self._pending_cash -= amount
        pending = self._pending_quantity
        pending[fill.symbol] = pending.get(fill.symbol, 0.0) + signed

    def projected_cash(self) -> float:
        """Return cash after every reserved fill: what the venue may still spend."""
        return self._cash + self._pending_cash

    def projected_position(self, symbol: str) -> float:
        """Return ``symbol``'s signed quantity after every reserved fill."""
        return self.positions[symbol].quantity + self._pending_quantity.get(symbol, 0.0)

    def _fill_cash(self, fill: OrderFilled, signed: float) -> float:
        """Return what ``fill`` takes from cash (account currency; < 0: it brings cash)."""
        return signed * fill.price + fill.fee

    def _release(self, fill: OrderFilled) -> None:
        """End ``fill``'s reservation (it has just been applied), if it had one."""
        amount = self._reserved.pop(fill.fill_id, None)
        if amount is not None:
            self._pending_cash += amount
            signed = fill.quantity if fill.side is _BUY else -fill.quantity
            self._pending_quantity[fill.symbol] -= signed

    # --- applying changes ----------------------------------------------------------------

    def apply_cash_flow(self, symbol: str, amount: float, reason: str, ts_event: int) -> None:
        """Add ``amount`` (signed, account currency) to cash; publish `CashAdjusted`.

        For cash flows that are not fills: borrow fees (``reason="borrow_fee"``) and
        funding payments (``"funding"``). ``ts_event`` is when the flow was due.
        """
        now = self._clock.timestamp_ns()
        self._add_cash_flow(symbol, amount, now)
        self._bus.publish(CashAdjusted(symbol, amount, reason, ts_event, now))

    def restore_cash_flow(self, symbol: str, amount: float, ts_event: int) -> None:
        """Add a cash flow booked before this process started; publish nothing.

        A restarted live node adds the funding its perpetuals paid and received, as the
        exchange booked it (`engine.runtime.live.restore`): `apply_cash_flow`'s arithmetic,
        but history, as `restore_fill` is for fills.
        """
        self._add_cash_flow(symbol, amount, ts_event)

    def _add_cash_flow(self, symbol: str, amount: float, ts_ns: int) -> None:
        self._cash += amount
        self.cash_flows += amount
        position = self.positions[symbol]
        position.cash_flows += amount
        self.journal.record(ts_ns, symbol, position.quantity, self._cash)

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Apply a fill to cash and the position; publish `PositionChanged`.

        `_apply` then `_position_changed`, inlined (once per fill; `FxPortfolio` converts
        and calls `_position_changed` itself).
        """
        symbol = fill.symbol
        position = self.positions[symbol]
        quantity, price, fee = fill.quantity, fill.price, fill.fee
        signed = quantity if fill.side is _BUY else -quantity
        self._cash -= signed * price + fee
        self.fees_paid += fee
        position.fees += fee
        position.apply(signed, price)
        self.journal.record(fill.ts_init, symbol, position.quantity, self._cash)
        if self._reserved:  # `_release`, inlined
            amount = self._reserved.pop(fill.fill_id, None)
            if amount is not None:
                self._pending_cash += amount
                self._pending_quantity[symbol] -= signed
        if position.quantity:
            self._open[symbol] = position
        else:
            self._open.pop(symbol, None)
        if self._bus.handlers(PositionChanged):  # a backtest has no listener: skip the event
            self._publish_position(fill, position)

    def restore_fill(self, fill: OrderFilled) -> None:
        """Apply a fill recorded before this process started; publish nothing.

        A restarted live node rebuilds its account from its stored fills
        (`engine.runtime.live.restore`): the arithmetic is `on_order_filled`'s, but the fill
        is history, so no `PositionChanged` reaches the strategy or the recorder for it.
        """
        position = self._apply(fill)
        self.journal.record(fill.ts_init, fill.symbol, position.quantity, self._cash)
        if position.quantity:
            self._open[fill.symbol] = position
        else:
            self._open.pop(fill.symbol, None)

    def _apply(self, fill: OrderFilled) -> Position:
        """Move cash, fees and the position by ``fill``; return the position."""
        position = self.positions[fill.symbol]
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        self._cash -= signed * fill.price + fill.fee
        self.fees_paid += fill.fee
        position.fees += fill.fee
        position.apply(signed, fill.price)
        return position

    def _position_changed(self, fill: OrderFilled, position: Position) -> None:
        """Journal ``fill`` and end its reservation; track ``position``; publish the change."""
        self.journal.record(fill.ts_init, fill.symbol, position.quantity, self._cash)
        if self._reserved:
            self._release(fill)
        if position.quantity:
            self._open[fill.symbol] = position
        else:
            self._open.pop(fill.symbol, None)
        if self._bus.handlers(PositionChanged):  # a backtest has no listener: skip the event
            self._publish_position(fill, position)

    def _publish_position(self, fill: OrderFilled, position: Position) -> None:
        self._bus.publish(
            PositionChanged(
                fill.symbol,
                position.quantity,
                position.average_price,
                position.realized_pnl,
                fill.ts_event,
                self._clock.timestamp_ns(),
            )
        )

    def snapshot(self, ts_ns: int) -> None:
        """Record (and maybe publish) the `EquitySnapshot` at ``ts_ns``, after its bars."""
        cash = self._cash
        if self._open:
            last = self._last
            value = 0.0
            gross = 0.0
            for symbol, position in self._open.items():
                amount = position.quantity * last[symbol]
                value += amount
                gross += abs(amount)
            row = (ts_ns, ts_ns, cash, cash + value, gross)
        else:
            row = (ts_ns, ts_ns, cash, cash, 0.0)
        # tuple.__new__ skips the named tuple's Python-level __new__: this runs once per bar.
        snapshot = tuple.__new__(EquitySnapshot, row)
        self.equity_curve.append(snapshot)
        if self._publish_snapshots:
            self._bus.publish(snapshot)
