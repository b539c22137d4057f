"""ExecutionEngine: the client-side book of orders between risk and the broker.

In: `OrderApproved`, `CancelRequested` and `ModifyApproved` (sent to the broker), and the
broker's answers (`OrderAccepted`, `OrderRejected`, `OrderTriggered`, `OrderFilled`,
`OrderModified`, `OrderCanceled`, `OrderExpired`). Out: calls to the venue's order
commands (`engine.execution.venue.OrderCommands`, part of the `Venue` protocol),
and the `Order` entities (changed only through the transition table) that strategies and
risk read through `open_orders`. The same engine fronts the simulated broker in
backtest/paper and a venue adapter in live.

Contingent orders (OTO, brackets): an approved order with a ``parent_order_id`` whose
parent has not filled is HELD here, not sent. When the parent fills completely the child
is submitted for the parent's filled quantity; when the parent ends (canceled, expired,
rejected) after a partial fill, for what did fill; with no fill at all, the child is
canceled.
"""

from __future__ import annotations

from engine.bus import EventBus
from engine.clock import Clock
from engine.errors import InvalidStateTransition
from engine.execution.venue import OrderCommands
from engine.model import (
    CancelRequested,
    ModifyApproved,
    ModifyRequested,
    Order,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderStatus,
    OrderTriggered,
)
from engine.model.orders import IllegalTransition

__all__ = ["Broker", "ExecutionEngine"]

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_ACCEPTED, _CANCELED, _EXPIRED, _FILLED, _HELD, _REJECTED, _REQUESTED, _SUBMITTED, _TRIGGERED = (
    OrderStatus.ACCEPTED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
    OrderStatus.FILLED,
    OrderStatus.HELD,
    OrderStatus.REJECTED,
    OrderStatus.REQUESTED,
    OrderStatus.SUBMITTED,
    OrderStatus.TRIGGERED,
)


# The order commands of a venue (`engine.execution.venue`); the old name stays importable.
Broker = OrderCommands


class ExecutionEngine:
    """Tracks every order's state; routes approved orders, cancels and modifications."""

    def __init__(self, broker: OrderCommands, bus: EventBus, clock: Clock) -> None:
        self._broker = broker
        self._bus = bus
        self._clock = clock
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        self._held: dict[str, list[OrderRequested]] = {}  # parent id -> children
        # order id -> reason of a cancel that arrived before the order's approval (a cancel
        # published in the same hook as its order overtakes the approval on the bus)
        self._early_cancels: dict[str, str] = {}

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[Order]:
        """Return working orders of ``strategy_id`` (optionally one symbol), oldest first."""
        if not self._open:
            return []  # nothing works: asked on every order_target_* call
        return [
            order
            for order in self._open.values()
            if order.strategy_id == strategy_id and (symbol is None or order.symbol == symbol)
        ]

    def all_open_orders(self) -> list[Order]:
        """Return every working order of every strategy, oldest first."""
        return list(self._open.values())

    def adopt(self, order: Order) -> None:
        """Book an order placed before this process started (a restarted live node's).

        It is tracked from its current state (``status``, ``filled_quantity``) on: working
        if open, so the strategy sees it in ``open_orders`` and its later fills apply.
        """
        self.orders[order.order_id] = order
        if order.is_open:
            self._open[order.order_id] = order

    def on_order_approved(self, event: OrderApproved) -> None:
        """Create the order entity; hold it if its parent has not filled, else send it."""
        request = event.order
        order = Order(  # positional, in field order: once per order
            request.order_id,
            request.strategy_id,
            request.symbol,
            request.side,
            request.quantity,
            request.order_type,
            request.limit_price,
            request.stop_price,
            request.time_in_force,
            request.ts_event,
            request.tag,
            request.parent_order_id,
            request.oco_group,
        )
        self.orders[order.order_id] = order
        if self._early_cancels and order.order_id in self._early_cancels:
            reason = self._early_cancels.pop(order.order_id) or "canceled by request"
            now = self._clock.timestamp_ns()
            self._move(order, _HELD, now)  # never sent: canceled as it arrives
            self._bus.publish(
                OrderCanceled(order.order_id, order.strategy_id, order.symbol, reason, now, now)
            )
            return
        parent_id = request.parent_order_id
        if parent_id:  # a contingent child (none on the common path)
            parent = self.orders.get(parent_id)
            if parent is None:
                # Approvals arrive in request order, so an unknown parent was denied by risk.
                self._cancel_child(order, request, 0.0)
                return
            if parent.status is not _FILLED:
                if parent.status.is_closed:
                    self._cancel_child(order, request, parent.filled_quantity)
                    return
                self._move(order, _HELD, event.ts_event)
                self._held.setdefault(parent.order_id, []).append(request)
                return
        try:  # `_move`, inlined: once per order
            order.transition(_SUBMITTED, event.ts_event)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
        self._broker.submit(request)

    def on_order_denied(self, event: OrderDenied) -> None:
        """A denied parent takes its held children with it."""
        self._release_children(event.order_id, 0.0)

    def on_cancel_requested(self, event: CancelRequested) -> None:
        """Forward a cancel for a working order; held children are canceled here."""
        order = self.orders.get(event.order_id)
        if order is None:
            # Not approved yet (still in risk, or denied there): canceled when it arrives.
            self._early_cancels[event.order_id] = event.reason
            return
        if order.status is _HELD:
            # Out of its parent's list at once: a parent that ends before this cancel is
            # delivered must not cancel the child a second time.
            siblings = self._held.get(order.parent_order_id)
            if siblings:
                siblings[:] = [r for r in siblings if r.order_id != order.order_id]
            now = self._clock.timestamp_ns()
            reason = event.reason or "canceled by request"
            self._bus.publish(
                OrderCanceled(order.order_id, order.strategy_id, order.symbol, reason, now, now)
            )
        elif event.order_id in self._open:
            if event.reason:
                self._broker.cancel(event.order_id, event.reason)
            else:
                self._broker.cancel(event.order_id)

    def on_modify_approved(self, event: ModifyApproved) -> None:
        """Forward a modification risk let through (`RiskEngine.on_modify_requested`)."""
        self.on_modify_requested(event.request)

    def on_modify_requested(self, event: ModifyRequested) -> None:
        """Forward a modification of a working order; refuse one of any other order.

        A held child (its parent has not filled) is not at the broker yet, and an ended or
        unknown order cannot change: both are answered with `OrderModifyRejected` rather
        than dropped, so the strategy's ``on_order_updated`` learns the change did not
        happen.
        """
        if event.order_id in self._open:
            self._broker.modify(event.order_id, event.quantity, event.limit_price, event.stop_price)
            return
        order = self.orders.get(event.order_id)
        if order is not None and order.status is _HELD:
            reason = f"order is held until its parent {order.parent_order_id} fills"
        else:
            reason = "order is not working"
        now = self._clock.timestamp_ns()
        symbol = "" if order is None else order.symbol
        self._bus.publish(
            OrderModifyRejected(event.order_id, event.strategy_id, symbol, reason, now, now)
        )

    def on_order_accepted(self, event: OrderAccepted) -> None:
        """Mark the order working."""
        order = self.orders[event.order_id]
        try:  # `_move`, inlined: once per order
            order.transition(_ACCEPTED, event.ts_event)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
        self._open[order.order_id] = order

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Mark the order rejected; its held children are canceled."""
        self._move(self.orders[event.order_id], _REJECTED, event.ts_event, event.reason)
        self._release_children(event.order_id, 0.0)

    def on_order_triggered(self, event: OrderTriggered) -> None:
        """Mark a stop-limit triggered (now a working limit)."""
        order = self.orders[event.order_id]
        if order.status is _ACCEPTED:
            self._move(order, _TRIGGERED, event.ts_event)

    def on_order_filled(self, event: OrderFilled) -> None:
        """Record the fill; a completely filled parent releases its children."""
        order = self.orders[event.order_id]
        try:
            order.apply_fill(event.quantity, event.price, event.fee, event.ts_event)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
        if order.status is _FILLED:
            self._open.pop(order.order_id, None)
            if order.order_id in self._held:
                self._release_children(order.order_id, order.filled_quantity)

    def on_order_modified(self, event: OrderModified) -> None:
        """Apply the broker's new quantity and prices."""
        order = self.orders[event.order_id]
        order.quantity = event.quantity
        order.limit_price = event.limit_price
        order.stop_price = event.stop_price
        order.ts_last = event.ts_event

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Mark the order canceled; held children follow its filled quantity."""
        order = self.orders[event.order_id]
        self._move(order, _CANCELED, event.ts_event, event.reason)
        self._open.pop(order.order_id, None)
        self._release_children(order.order_id, order.filled_quantity)

    def on_order_expired(self, event: OrderExpired) -> None:
        """Mark the order expired; held children follow its filled quantity."""
        order = self.orders[event.order_id]
        self._move(order, _EXPIRED, event.ts_event, "expired")
        self._open.pop(order.order_id, None)
        self._release_children(order.order_id, order.filled_quantity)

    def _release_children(self, parent_id: str, filled: float) -> None:
        for request in self._held.pop(parent_id, ()):
            child = self.orders[request.order_id]
            if child.status is not _HELD:
                continue  # canceled while held
            if filled <= 0:
                self._cancel_child(child, request, filled)
                continue
            sized = request._replace(quantity=filled) if filled < request.quantity else request
            child.quantity = sized.quantity
            self._move(child, _SUBMITTED, self._clock.timestamp_ns())
            self._broker.submit(sized)

    def _cancel_child(self, child: Order, request: OrderRequested, filled: float) -> None:
        now = self._clock.timestamp_ns()
        reason = f"parent {request.parent_order_id} ended without a fill"
        if child.status is _REQUESTED:
            self._move(child, _HELD, now)
        if filled <= 0 and request.parent_order_id not in self.orders:
            reason = f"parent {request.parent_order_id} was denied"
        self._bus.publish(
            OrderCanceled(child.order_id, child.strategy_id, child.symbol, reason, now, now)
        )

    @staticmethod
    def _move(order: Order, status: OrderStatus, ts: int, reason: str = "") -> None:
        try:
            order.transition(status, ts, reason)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
