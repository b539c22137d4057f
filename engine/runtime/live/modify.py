"""Live modifications: a working order's new terms sent as Binance's cancel-replace.

(On a perpetual, Binance USDⓈ-M modifies a resting limit in place instead:
`engine.runtime.live.amend`; a stop, an algo order, is canceled and placed anew under the
same ``"<order id>~<n>"`` client ids: `engine.runtime.live.stopmove` — except a stop-limit
that has triggered and rests as its limit, whose limit is amended in place, so it stays
triggered as in the backtest; `unamendable` says what cannot be. A leg of a perpetual's
OCO pair, `engine.runtime.live.pairs`, is modified the same ways, keeping its pair link,
``list_id``, and its reduce-only — its prices only: `Modifications.unamendable`.)

In: the kernel's modify (`engine.runtime.live.venue.LiveVenue.modify`: an order id, a new
quantity, limit price and/or stop price) and the order manager's `Update`s of the exchange
orders involved. Out: the new exchange order (`OrderManager.replace`) and the kernel's
events: `OrderModified` once the new order is accepted, `OrderModifyRejected` when it was
refused and the old order still works, `OrderCanceled` when the exchange canceled the old
order but refused the new one (Binance's -2021 under ``STOP_ON_FAILURE``; rare, since the
checks below run first).

Before anything is sent, the backtest's checks (`engine.execution.amend.amend_terms`, which
the simulated broker applies too): the new quantity must exceed what filled, on the lot
grid; prices must be positive; only a limit (stop-limit) has a limit price, only a stop a
stop price. New prices go on the tick grid passively, as the backtest puts them. Then the
live ones: the order must
be working at the exchange (not an unknown outcome, not a trailing stop — the node moves
those itself — and not a spot OCO leg: Binance cannot replace one leg of a list); a sell's new
remainder must fit the free base asset plus what the old order locks, a buy's the free quote
plus the old lock (else the exchange would cancel the old order and refuse the new one); a
post-only limit moved through the last price is refused (the exchange would refuse it after
canceling the old one; the backtest keeps it resting — a difference).

The new exchange order is for what is left: the new quantity less everything the order's
earlier exchange orders filled. A modification whose old order filled before it could
be replaced (the cancel met the fill) is answered `OrderModifyRejected` after the fill,
as the backtest answers a modification of a filled order. Its client id is the
manager's deterministic id of
``"<order id>~<n>"`` (n = 1, 2, ... per modification), and its row (``replaces`` = the old
client id) is committed before the request, so a crash anywhere ends with one working
order: on restart (`engine.runtime.live.restore`) both client ids are looked up — the new
order found is the order, with the new terms; not found while the old one works, the old
one is the order until the new one is found (`OrderModified` then) or can no longer arrive
(past the manager's ``settle_ms``: never placed, `OrderModifyRejected`); not found while
the old one ended (canceled by the request), the new one is the order (UNKNOWN until found;
never placed: `OrderCanceled`). A stop moved to a
level the last price is already through is sent as its market (or limit) order, as a new
stop is (the backtest triggers it at the next bar's open).

Fills that land on the old order between the last poll and the replace are the exchange's
truth (reported as fills), but the new order was sized before them: the order can then fill
more than its quantity by that much — the race every cancel-replace has on a live venue.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.adapters.ccxt.venue import OrderCallFailed, OrderSpec
from engine.model import (
    OrderCanceled,
    OrderModified,
    OrderModifyRejected,
    OrderRequested,
    OrderType,
)
from engine.runtime.live.amend import Amending
from engine.runtime.live.ledger import LiveOrder, LiveStatus
from engine.runtime.live.orders import OrderManager, Update
from engine.runtime.live.refusals import (
    MODIFY_NOT_MADE,
    note_modify_rejected,
    trace_modification,
)
from engine.runtime.live.sendable import takes

__all__ = ["Modifications", "unamendable"]

_OPEN = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED)
_ENDED = (LiveStatus.CANCELED, LiveStatus.EXPIRED)


@dataclass(frozen=True)
class Outcome:
    """What the kernel hears of one update of a modification (`Modifications.outcome`).

    ``kind``: ``publish`` (as any update), ``hide`` (a replaced order's cancel),
    ``modified`` (the new order works: ``request`` has the new terms), ``modify_rejected``
    or ``canceled`` (with ``reason``).
    """

    kind: str
    request: OrderRequested | None = None
    reason: str = ""


class Modifications:
    """The venue's modifications in flight and the exchange orders they replaced."""

    def __init__(self, manager: OrderManager) -> None:
        """Send through ``manager``."""
        self.manager = manager
        self.pending: dict[str, OrderRequested] = {}  # order id -> its new terms, unanswered
        self.told: set[str] = set()  # replaced client ids whose end the kernel heard

    def send(self, request: OrderRequested, spec: OrderSpec) -> list[Update]:
        """Replace ``request``'s current exchange order by ``spec`` (see the module; on a
        perpetual, modify it in place: `amend`).

        ``request`` carries the kernel's new terms (published once the new order works).
        """
        order_id = request.order_id
        current = self.manager.current(order_id)
        assert current is not None
        whole = replace(spec, quantity=request.quantity)  # the kernel's, what filled included
        if self.manager.exchange.perpetual(request.symbol) and current.stop_price is None:
            return self.amend(request, whole)  # a limit: in place
        if self.manager.exchange.perpetual(request.symbol) and self._resting(request, current):
            # a stop-limit that triggered rests as its limit: it stays triggered, as in the
            # backtest (the new stop price is the kernel's alone); its limit is amended
            updates = self.manager.refresh(current)  # its fills, the placed order's id
            return [*updates, *self.amend(request, replace(whole, stop_price=None))]
        manager = self.manager
        client_id = manager.link_id(order_id)
        self.pending[order_id] = request
        if self.manager.exchange.perpetual(request.symbol):  # an algo order: cancel, place
            return manager.move_stop(current, whole, client_id)
        return manager.replace(current, spec, client_id)

    def _resting(self, request: OrderRequested, current: LiveOrder) -> bool:
        """True if the perpetual stop-limit ``current`` has triggered and rests as its
        limit (the exchange shows a plain open limit under its client id)."""
        if request.order_type is not OrderType.STOP_LIMIT:
            return False
        try:
            shown = self.manager.exchange.fetch(current.client_id, current.symbol)
        except OrderCallFailed:
            return False  # not known now: moved as a stop, whose cancel finds the truth
        return shown.stop_price is None and shown.status == "open" and shown.price is not None

    def amend(self, request: OrderRequested, spec: OrderSpec) -> list[Update]:
        """Modify ``request``'s exchange order in place to ``spec`` (a perpetual's limit:
        `engine.runtime.live.amend`); ``request`` has the kernel's new terms."""
        current = self.manager.current(request.order_id)
        assert current is not None
        self.pending[request.order_id] = request
        return self.manager.amend(current, spec)

    def answer(
        self, order: OrderRequested, update: Update, now: int, notify: Callable[..., None]
    ) -> tuple[OrderModified | OrderModifyRejected | OrderCanceled, OrderRequested | None]:
        """Return the event of a perpetual's modification in place (`.amend`) and, done,
        ``order`` with the exchange's terms (the ones asked for, unless a restart lost them);
        `OrderCanceled` with why when the exchange canceled the order on refusing it. A
        refused one is stored and logged (``notify``: `.refusals.trace_modification`)."""
        oid, sid, symbol = order.order_id, order.strategy_id, order.symbol
        request = self.pending.pop(oid, None)
        if update.kind in ("amend_rejected", "amend_canceled"):
            asked = request or order
            if request is None and update.order.amending:  # a restart lost the request
                sent = Amending.load(update.order.amending)
                asked = order._replace(quantity=sent.quantity, limit_price=sent.price)
            trace_modification(self.manager, notify, oid, order,
                               (asked.quantity, asked.limit_price, asked.stop_price),
                               update.order.reason, update.kind == "amend_canceled")  # fmt: skip
        if update.kind == "amend_rejected":
            return OrderModifyRejected(oid, sid, symbol, update.order.reason, now, now), None
        if update.kind == "amend_canceled":
            return OrderCanceled(oid, sid, symbol, update.order.reason, now, now), None
        record = update.order
        new = (request or order)._replace(quantity=record.quantity, limit_price=record.limit_price)
        modified = OrderModified(oid, sid, symbol, new.quantity, new.limit_price, new.stop_price,
                                 now, now)  # fmt: skip
        return modified, new

    def unamendable(self, new: OrderRequested, current: LiveOrder, last: float) -> str:
        """Return why a perpetual's order cannot take the terms ``new`` ("" if it can):
        `unamendable`, a post-only limit moved through the ``last`` price (`takes`); a leg
        of a pair takes new prices only. (The backtest changes the
        member alone and a fill of either then reduces the other by its quantity; the
        node's pair has one "what is left", `engine.runtime.live.pairs.pair_left`, which
        a leg of another size would break: legs of two sizes are not carried live.)"""
        ledger = self.manager.ledger
        if current.list_id:  # the leg's whole quantity: its earlier orders' fills too
            rows = ledger.orders(order_id=current.order_id)
            earlier = sum(o.filled_quantity for o in rows if o.client_id != current.client_id)
            if not math.isclose(new.quantity, earlier + current.quantity, rel_tol=1e-9,
                                abs_tol=1e-12):  # fmt: skip
                return ("a leg of an OCO pair on a perpetual takes new prices only: a new"
                        " quantity would change what is left of the pair (cancel the pair,"
                        " place anew)")  # fmt: skip
        return unamendable(new, current) or takes(new, last)

    def working(self, order_id: str) -> LiveOrder | None:
        """Return ``order_id``'s current exchange order if it is open (else None)."""
        current = self.manager.current(order_id)
        return current if current is not None and current.status in _OPEN else None

    def outcome(
        self, update: Update, current: Callable[[], OrderRequested], notify: Callable[..., None]
    ) -> Outcome:
        """Return what the kernel hears of ``update`` (``current``: the kernel's request);
        a refused new order is logged (``notify``: `.refusals.note_modify_rejected`)."""
        record = update.order
        ledger = self.manager.ledger
        if record.replaces:  # a modification's new exchange order
            if update.kind == "accepted":
                request = self.pending.pop(record.order_id, None) or _terms(current(), record)
                return Outcome("modified", request)
            if update.kind == "rejected":
                self.pending.pop(record.order_id, None)
                old = ledger.get(record.replaces)
                if old is not None and (old.status in _OPEN or old.status is LiveStatus.FILLED):
                    note_modify_rejected(notify, current(), record, canceled=False)
                    return Outcome("modify_rejected", reason=record.reason)  # after the fills
                if old is not None and old.status in _ENDED and old.client_id not in self.told:
                    self.told.add(old.client_id)  # its cancel was held back (or restored)
                    note_modify_rejected(notify, current(), record, canceled=True)
                    return Outcome("canceled", reason=f"canceled: {record.reason}")
                return Outcome("hide")  # the old order's own update said how it ended
        if update.kind == "canceled":  # (a modification's new order may be replaced too)
            newer = [o for o in ledger.orders(replaces=record.client_id)
                     if not o.reason.startswith(MODIFY_NOT_MADE)]  # fmt: skip  # traces
            if any(o.status is not LiveStatus.REJECTED for o in newer):
                return Outcome("hide")  # replaced (or maybe: the new order decides)
            if newer:
                self.told.add(record.client_id)
                note_modify_rejected(notify, current(), newer[-1], canceled=True)
                return Outcome("canceled", reason=f"canceled: {newer[-1].reason}")
        return Outcome("publish")


def _terms(request: OrderRequested, record: LiveOrder) -> OrderRequested:
    """Return ``request`` with the prices of its new exchange order ``record`` (a restart
    lost the terms the kernel asked for)."""
    limit = record.limit_price if request.limit_price is not None else None
    stop = record.stop_price if record.stop_price is not None else request.stop_price
    return request._replace(limit_price=limit, stop_price=stop)


def unamendable(new: OrderRequested, current: LiveOrder) -> str:
    """Return why a perpetual's order cannot take the terms ``new`` ("" if it can):
    Binance USDⓈ-M modifies resting LIMIT orders in place (`engine.runtime.live.amend`);
    a stop (an algo order) the node cancels and places anew (`.stopmove`)."""
    if new.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and current.stop_price:
        return ""
    if new.order_type is not OrderType.LIMIT or current.order_type != "limit":
        return "only a resting limit order on a perpetual can be modified (Binance USDⓈ-M)"
    return ""
