"""ExecutionEngine: the client-side book of orders between risk and the broker.

In: `OrderApproved` and `CancelRequested` (sent to the broker), and the broker's answers
(`OrderAccepted`, `OrderRejected`, `OrderFilled`, `OrderCanceled`). Out: calls to the
`Broker` protocol, and the `Order` entities (state changed only through the transition
table) that strategies and risk read through `open_orders`. The same engine fronts the
simulated broker in backtest/paper and the ccxt broker in live.
"""

from __future__ import annotations

from typing import Protocol

from engine.errors import InvalidStateTransition
from engine.model import (
    CancelRequested,
    Order,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderStatus,
)
from engine.model.orders import IllegalTransition

__all__ = ["Broker", "ExecutionEngine"]


class Broker(Protocol):
    """Where orders go: the simulated matching engine or a real venue adapter."""

    def submit(self, order: OrderRequested) -> None:
        """Send an approved order; the answer comes back as events on the bus."""
        ...

    def cancel(self, order_id: str) -> None:
        """Ask to cancel a working order; the answer comes back as an event."""
        ...


class ExecutionEngine:
    """Tracks every order's state; routes approved orders and cancels to the broker."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[Order]:
        """Return working orders of ``strategy_id`` (optionally one symbol), oldest first."""
        return [
            order
            for order in self._open.values()
            if order.strategy_id == strategy_id and (symbol is None or order.symbol == symbol)
        ]

    def all_open_orders(self) -> list[Order]:
        """Return every working order of every strategy, oldest first."""
        return list(self._open.values())

    def on_order_approved(self, event: OrderApproved) -> None:
        """Create the order entity, mark it submitted and hand it to the broker."""
        request = event.order
        order = Order(
            order_id=request.order_id,
            strategy_id=request.strategy_id,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force,
            ts_created=request.ts_event,
            tag=request.tag,
        )
        self._move(order, OrderStatus.SUBMITTED, event.ts_event)
        self.orders[order.order_id] = order
        self._broker.submit(request)

    def on_cancel_requested(self, event: CancelRequested) -> None:
        """Forward a cancel for a working order; unknown or closed orders are ignored."""
        if event.order_id in self._open:
            self._broker.cancel(event.order_id)

    def on_order_accepted(self, event: OrderAccepted) -> None:
        """Mark the order working."""
        order = self.orders[event.order_id]
        self._move(order, OrderStatus.ACCEPTED, event.ts_event)
        self._open[order.order_id] = order

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Mark the order rejected."""
        self._move(self.orders[event.order_id], OrderStatus.REJECTED, event.ts_event, event.reason)

    def on_order_filled(self, event: OrderFilled) -> None:
        """Record the fill on the order; closed orders leave the open book."""
        order = self.orders[event.order_id]
        try:
            order.apply_fill(event.quantity, event.price, event.fee, event.ts_event)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
        if order.status is OrderStatus.FILLED:
            self._open.pop(order.order_id, None)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Mark the order canceled."""
        order = self.orders[event.order_id]
        self._move(order, OrderStatus.CANCELED, event.ts_event, event.reason)
        self._open.pop(order.order_id, None)

    @staticmethod
    def _move(order: Order, status: OrderStatus, ts: int, reason: str = "") -> None:
        try:
            order.transition(status, ts, reason)
        except IllegalTransition as exc:
            raise InvalidStateTransition(f"order {order.order_id}: {exc}") from None
