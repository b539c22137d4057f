"""The account's history on the local exchange: Binance spot's ``myTrades`` and ``allOrders``.

In: the signed request's parameters and the venue's trades and orders. Out: the rows
Binance answers, or its error. What Binance's REST API documents (GET /api/v3/myTrades and
/api/v3/allOrders, and its 2022-12 changelog for ``myTrades``' combinations), and so this
does:

* ``symbol`` is mandatory (-1102 "Mandatory parameter 'symbol' was not sent, was
  empty/null, or malformed."); a symbol the exchange does not list is -1121.
* ``limit``: 500 unless given, at most 1000 (a larger one is taken as 1000, as the local
  klines take theirs; one below 1 is -1130).
* Rows are always oldest first (by id). Which ones: from ``fromId`` (a trade id) or
  ``orderId`` (``allOrders``: an order id) on, or from ``startTime`` on, the oldest
  ``limit`` ones; otherwise (nothing, or only ``endTime``) the most recent ``limit`` ones
  (up to ``endTime``). Times are inclusive; an order's time is when it was placed.
* ``startTime`` and ``endTime`` together may be at most 24 hours apart (-1127 "More than 24
  hours between startTime and endTime.").
* ``myTrades`` takes only these combinations: nothing, ``orderId``, ``startTime``,
  ``endTime``, ``fromId``, ``startTime`` + ``endTime``, ``orderId`` + ``fromId``; any other
  (``fromId`` with a time, ``orderId`` with a time) is -1128 "Combination of optional
  parameters invalid.". ``orderId`` keeps that order's trades (its most recent ``limit``,
  or from ``fromId`` on).
* A number that is not one is -1100 (the local exchange's klines answer the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from engine.adapters.local.venue import BinanceError, Venue

__all__ = ["all_orders", "my_trades"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_SPAN_MS = 24 * 3_600_000

_Row = TypeVar("_Row")

#: The parameter sets myTrades takes besides ``symbol`` (Binance's "supported combinations").
_TRADE_COMBINATIONS = {
    frozenset(),
    frozenset({"orderId"}),
    frozenset({"startTime"}),
    frozenset({"endTime"}),
    frozenset({"fromId"}),
    frozenset({"startTime", "endTime"}),
    frozenset({"orderId", "fromId"}),
}


def my_trades(venue: Venue, params: dict[str, str]) -> list[dict[str, Any]]:
    """Answer GET /api/v3/myTrades (see the module)."""
    symbol = _symbol(venue, params)
    given = frozenset(k for k in ("orderId", "startTime", "endTime", "fromId") if k in params)
    if given not in _TRADE_COMBINATIONS:
        raise BinanceError(400, -1128, "Combination of optional parameters invalid.")
    limit = _limit(params)
    start, end = _window(params)
    rows = [t for t in venue.trades if t["symbol"] == symbol]
    if "orderId" in params:
        order_id = _number(params, "orderId")
        rows = [t for t in rows if t["orderId"] == order_id]
    first = _number(params, "fromId") if "fromId" in params else None
    return _page([(t["id"], t["time"], t) for t in rows], first, start, end, limit)


def all_orders(venue: Venue, params: dict[str, str]) -> list[dict[str, Any]]:
    """Answer GET /api/v3/allOrders (see the module)."""
    symbol = _symbol(venue, params)
    limit = _limit(params)
    start, end = _window(params)
    first = _number(params, "orderId") if "orderId" in params else None
    rows = [
        (o.order_id, o.time_ms, o)
        for o in sorted(venue.orders.values(), key=lambda o: o.order_id)
        if o.symbol.replace("/", "") == symbol
    ]
    return [o.as_json() for o in _page(rows, first, start, end, limit)]


def _page(
    rows: Sequence[tuple[int, int, _Row]],
    first: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[_Row]:
    """Return the page of ``(id, time, row)`` (id order) the query names, oldest first."""
    kept = [
        row
        for number, time_ms, row in rows
        if (first is None or number >= first)
        and (start is None or time_ms >= start)
        and (end is None or time_ms <= end)
    ]
    if first is not None or start is not None:
        return kept[:limit]
    return kept[-limit:]


def _symbol(venue: Venue, params: dict[str, str]) -> str:
    symbol = params.get("symbol", "")
    if not symbol:
        raise BinanceError(
            400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        )
    venue.instrument(symbol)  # -1121 for one the exchange does not list
    return symbol


def _number(params: dict[str, str], name: str) -> int:
    try:
        return int(params[name])
    except ValueError:
        raise BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
            "'^[0-9]{1,20}$'."
        ) from None  # fmt: skip


def _limit(params: dict[str, str]) -> int:
    if "limit" not in params:
        return DEFAULT_LIMIT
    limit = _number(params, "limit")
    if limit < 1:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return min(limit, MAX_LIMIT)


def _window(params: dict[str, str]) -> tuple[int | None, int | None]:
    start = _number(params, "startTime") if "startTime" in params else None
    end = _number(params, "endTime") if "endTime" in params else None
    if start is not None and end is not None and end - start > MAX_SPAN_MS:
        raise BinanceError(400, -1127, "More than 24 hours between startTime and endTime.")
    return start, end
