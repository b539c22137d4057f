"""Risk's ``order_validity`` check: can the order be read, and does it make sense?

In: an `OrderRequested` from anyone on the bus (`Context` already converts what
strategies pass; engine exits, adapters and user code may publish their own). Out: the
order with its enum fields as members, or one line saying what is wrong, which
`engine.risk.engine.RiskEngine` denies with check ``order_validity``.

An order carries the fields its type takes, and no other (a field another type takes is a
mistake: ignored, it hid the mistake; applied, it misprices the fill):

- market, market-on-open, market-on-close: no ``limit_price``, ``stop_price`` or
  ``trailing_offset``;
- limit: a ``limit_price``; stop: a ``stop_price``; stop-limit: both;
- trailing stop: a ``trailing_offset`` (``trailing_offset_type`` says in what), and a
  ``stop_price`` as its initial stop if given; no ``limit_price``.

``expire_time`` goes with ``time_in_force = GTD`` only (which needs one); ``post_only``
with limit orders only. Was: a market order's ``limit_price`` capped its slipped fill
price (a market buy "limited" at 50 filled at 50 on a bar trading 99..103), and a limit's
``stop_price``, ``trailing_offset`` or a GTC order's ``expire_time`` were kept and ignored.
"""

from __future__ import annotations

import math
from enum import StrEnum

from engine.model import (
    TAKES_LIMIT_PRICE,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from engine.model import parse_enum as _parse

__all__ = ["normalized", "problem"]

_WITH_LIMIT = TAKES_LIMIT_PRICE
_WITH_STOP = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


def normalized(order: OrderRequested) -> tuple[OrderRequested, str]:
    """Return ``order`` with its enum fields as members, or the reason it cannot be read.

    Every later stage compares members by identity (``side is OrderSide.BUY``), which a
    plain ``"buy"`` fails: a str side would book the opposite position. A string value in
    any case is converted; anything else denied.
    """
    side = _parse(OrderSide, order.side)
    kind = _parse(OrderType, order.order_type)
    tif = _parse(TimeInForce, order.time_in_force)
    offset = _parse(TrailingOffsetType, order.trailing_offset_type)
    if side is None or kind is None or tif is None or offset is None:
        return order, _unreadable(order)
    if (
        side is order.side
        and kind is order.order_type
        and tif is order.time_in_force
        and offset is order.trailing_offset_type
    ):
        return order, ""
    return order._replace(
        side=side, order_type=kind, time_in_force=tif, trailing_offset_type=offset
    ), ""


def _unreadable(order: OrderRequested) -> str:
    """Return which enum field of ``order`` names no member, with the allowed values."""
    fields: tuple[tuple[str, type[StrEnum]], ...] = (
        ("side", OrderSide),
        ("order_type", OrderType),
        ("time_in_force", TimeInForce),
        ("trailing_offset_type", TrailingOffsetType),
    )
    for name, enum in fields:
        value = getattr(order, name)
        if _parse(enum, value) is None:
            return f"{name} {value!r} is not one of {', '.join(m.value for m in enum)}"
    return ""


def problem(order: OrderRequested) -> str | None:
    """Return what is wrong with ``order`` (its enums members), in one line; None if valid."""
    # ``0 < x < inf`` is False for NaN, inf and non-positive numbers alike.
    if not 0.0 < order.quantity < math.inf:
        return f"quantity must be a positive number, got {order.quantity}"
    limit, stop, kind = order.limit_price, order.stop_price, order.order_type
    if limit is not None and not 0.0 < limit < math.inf:
        return f"limit_price must be a positive number, got {limit}"
    if stop is not None and not 0.0 < stop < math.inf:
        return f"stop_price must be a positive number, got {stop}"
    if kind in _WITH_LIMIT and limit is None:
        return f"a {kind} order needs a limit_price"
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
        return f"a {kind} order needs a stop_price"
    offset = order.trailing_offset
    if kind is OrderType.TRAILING_STOP:
        if offset is None or not 0.0 < offset < math.inf:
            return f"a trailing stop needs a positive trailing_offset, got {offset}"
        percent = order.trailing_offset_type is TrailingOffsetType.PERCENT
        if percent and order.side is OrderSide.SELL and offset >= 100.0:
            # the level, best × (1 − offset / 100), would be at or below 0: it never triggers
            return f"a sell trailing stop's percent offset must be below 100, got {offset:g}"
    extra = _extra_field(order)
    if extra:
        return extra
    if order.time_in_force is TimeInForce.GTD and order.expire_time_ns is None:
        return "a GTD order needs an expire_time"
    if order.post_only and kind is not OrderType.LIMIT:
        return f"post_only applies to limit orders, not {kind}"
    return None


def _extra_field(order: OrderRequested) -> str:
    """Return which field ``order`` carries that its type (or time in force) does not take."""
    kind, limit, stop = order.order_type, order.limit_price, order.stop_price
    if limit is not None and kind not in _WITH_LIMIT:
        if kind is OrderType.STOP:
            return "a stop order with a limit price is a stop_limit order; set order_type"
        return f"a {kind} order takes no limit_price, got {limit:g}"
    if stop is not None and kind not in _WITH_STOP:
        if kind is OrderType.LIMIT:
            return "a limit order with a stop price is a stop_limit order; set order_type"
        return f"a {kind} order takes no stop_price, got {stop:g}"
    if kind is not OrderType.TRAILING_STOP:
        if order.trailing_offset is not None:
            return f"a {kind} order takes no trailing_offset, got {order.trailing_offset:g}"
        if order.trailing_offset_type is not TrailingOffsetType.PRICE:
            return f"a {kind} order takes no trailing_offset_type, got {order.trailing_offset_type}"
    tif = order.time_in_force
    if order.expire_time_ns is not None and tif is not TimeInForce.GTD:
        return f"expire_time applies to gtd orders only, not {tif}: set time_in_force='gtd'"
    return ""
