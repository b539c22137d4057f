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
    """How an order is matched (see `engine.execution.matching` for the fill rules)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"  # stop-market
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"  # stop-market whose stop follows the best price
    MARKET_ON_OPEN = "market_on_open"
    MARKET_ON_CLOSE = "market_on_close"


class TimeInForce(StrEnum):
    """How long an order stays working.

    GTC until canceled; DAY until the end of the UTC day it was accepted in; GTD until the
    order's ``expire_time_ns``; IOC fills what it can on its first eligible bar or tick and
    cancels the rest; FOK fills completely on its first eligible bar or tick, or not at all.
    """

    GTC = "gtc"
    DAY = "day"
    GTD = "gtd"
    IOC = "ioc"
    FOK = "fok"


class TrailingOffsetType(StrEnum):
    """Unit of a trailing stop's offset: a price amount or a percent of the best price."""

    PRICE = "price"
    PERCENT = "percent"


class OrderStatus(StrEnum):
    """Life-cycle state of an order; legal moves are in `engine.model.orders`."""

    REQUESTED = "requested"
    DENIED = "denied"
    HELD = "held"  # a contingent child waiting for its parent to fill
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TRIGGERED = "triggered"  # a stop-limit whose stop was reached: now a working limit
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_closed(self) -> bool:
        """Return True when no further transition is possible."""
        return self in _CLOSED


_CLOSED = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)
