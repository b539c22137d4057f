"""Enumerations used by orders and events. String values appear in artifacts as they are.

On the order path (strategy order methods, risk, execution, broker, fills, portfolio) the
members it compares with are bound to module globals (``_BUY = OrderSide.BUY``): on
Python 3.11 ``OrderSide.BUY`` goes through the enum metaclass's attribute lookup, ~70 ns
against ~7 ns for a global, and an order reads a few dozen of them (~2 µs an order). The
globals are the members themselves, so ``is`` comparisons are unchanged.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar


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


E = TypeVar("E", bound=StrEnum)


def parse_enum(enum: type[E], value: object) -> E | None:
    """Return the member of ``enum`` that ``value`` names, or None if it names none.

    Accepted: the member itself, or a string equal to its value or its name in any case
    and with surrounding spaces (``"buy"``, ``"BUY"``, ``" Buy "`` all give
    ``OrderSide.BUY``). A member of another enum is never reinterpreted, even when its
    value is spelled the same. Callers at the public boundaries (the strategy `Context`,
    the risk engine) turn None into a clear error or a denial: a ``str`` must not travel
    further, because the engine compares members by identity (``side is OrderSide.BUY``),
    which a plain string never passes.
    """
    if type(value) is enum:
        return value  # the common case: nothing to convert
    if isinstance(value, Enum) or not isinstance(value, str):
        return None
    try:
        return enum(value.strip().lower())
    except ValueError:
        return None


class TradingState(StrEnum):
    """What the risk engine lets through.

    - ``ACTIVE``: every order that passes the checks is approved.
    - ``REDUCING``: only orders that reduce exposure pass (reduce-only orders, and orders
      that bring the expected position closer to zero).
    - ``HALTED``: no new order passes; cancels (which never go through risk) still do, and
      orders already working at the broker (protective exits) keep working.
    """

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def severity(self) -> int:
        """Return 0 (active), 1 (reducing) or 2 (halted)."""
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
