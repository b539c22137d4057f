"""Enumerations used by orders and events. String values appear in artifacts as they are."""

from __future__ import annotations

from enum import StrEnum


class OrderSide(StrEnum):
    """Direction of an order."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for buy, -1 for sell."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    """How an order is matched (see `engine.execution.broker` for the fill rules)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class TimeInForce(StrEnum):
    """How long an order stays working."""

    GTC = "gtc"


class OrderStatus(StrEnum):
    """Life-cycle state of an order; legal moves are in `engine.model.orders`."""

    REQUESTED = "requested"
    DENIED = "denied"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"

    @property
    def is_closed(self) -> bool:
        """Return True when no further transition is possible."""
        return self in _CLOSED


_CLOSED = frozenset(
    {OrderStatus.DENIED, OrderStatus.REJECTED, OrderStatus.FILLED, OrderStatus.CANCELED}
)
