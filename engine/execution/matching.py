"""Where a bar says an order's price was reached: pure functions, no state.

Prices inside a bar are not observed, only its open, high, low and close. These functions
encode the assumptions (each documented in the README's fill table):
- The open is the first price of the bar. A stop or limit already beyond it at the open
  fills at the open (a gap is neither forgiven nor denied its improvement).
- Otherwise a level is reached if it lies within [low, high]; a limit needs the bar to
  trade beyond it (``touch=False``) or only to reach it (``touch=True``). Under
  ``touch=False`` an open exactly at the limit is not "beyond" it either; the same
  strictness holds for a triggered stop-limit's resting limit and for trade ticks
  (`match_tick`). A quote whose ask (buys) / bid (sells) is at the limit does fill it:
  that is displayed liquidity at the limit, which a marketable order takes.
- Liquidity: a limit marketable on arrival (at the last price when it reached the venue,
  `engine.model.limit_marketable`, the post-only rule; or its first bar opens through
  it; on ticks, filling on its first look) takes; a limit that rested is a maker.
- Two sibling orders (one OCO group) reached on one bar: one the open is already beyond
  was reached first and fills (at the open) under every ``bracket_conflict``; when both
  are first reached inside the bar, ``"stop_first"`` / ``"target_first"`` choose, and
  ``"path"`` takes the first along the intrabar order: open, then the extreme nearer the
  open, then the other extreme, then the close (`prefer_in_group`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from engine.model import (
    Bar,
    Instrument,
    OrderRequested,
    OrderSide,
    OrderType,
    TrailingOffsetType,
    limit_marketable,
)

__all__ = [
    "Reached",
    "WorkingOrder",
    "limit_reached",
    "match_bar",
    "match_tick",
    "path_position",
    "prefer_in_group",
    "stop_reached",
    "trail_step",
    "trailing_level",
]

_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


class Reached(NamedTuple):
    """A level was reached: at ``price``; ``at_open`` if the bar opened beyond it."""

    price: float
    at_open: bool


def stop_reached(side: OrderSide, stop: float, bar: Bar) -> Reached | None:
    """Return where a stop of ``side`` triggers on ``bar`` (buy stops trigger upward)."""
    if side is OrderSide.BUY:
        if bar.open >= stop:
            return Reached(bar.open, True)
        return Reached(stop, False) if bar.high >= stop else None
    if bar.open <= stop:
        return Reached(bar.open, True)
    return Reached(stop, False) if bar.low <= stop else None


def limit_reached(side: OrderSide, limit: float, bar: Bar, touch: bool) -> Reached | None:
    """Return where a resting limit of ``side`` fills on ``bar``, or None.

    A bar opening beyond the limit fills it at the open. A bar opening exactly at the
    limit does so only under ``touch``: under "through" (``touch=False``) an open at the
    limit is one more touch, and the limit fills (at its price, intrabar) only if the bar
    then trades beyond it — a buy at 100 on a bar with open = low = 100 does not fill.
    """
    if side is OrderSide.BUY:
        if bar.open < limit or (touch and bar.open == limit):
            return Reached(bar.open, True)
        crossed = bar.low <= limit if touch else bar.low < limit
    else:
        if bar.open > limit or (touch and bar.open == limit):
            return Reached(bar.open, True)
        crossed = bar.high >= limit if touch else bar.high > limit
    return Reached(limit, False) if crossed else None


def path_position(price: float, at_open: bool, bar: Bar) -> float:
    """Return how far along the assumed intrabar path ``price`` is first reached (0..3).

    The path is open → nearer extreme → farther extreme → close; a price between two
    path points is reached at the first leg that spans it.
    """
    if at_open:
        return 0.0
    high_first = (bar.high - bar.open) <= (bar.open - bar.low)
    points = (
        (bar.open, bar.high, bar.low, bar.close)
        if high_first
        else (bar.open, bar.low, bar.high, bar.close)
    )
    for leg in range(3):
        start, end = points[leg], points[leg + 1]
        low, high = min(start, end), max(start, end)
        if low <= price <= high:
            span = end - start
            return leg + (abs(price - start) / abs(span) if span else 0.0)
    return 3.0


class WorkingOrder:
    """Venue-side state of a working order (owned and mutated by the broker)."""

    __slots__ = (
        "at_close",
        "best",
        "eligible_from",
        "expire_ns",
        "leaves",
        "order",
        "seen",
        "stop",
        "taking",
        "triggered",
    )

    def __init__(self, order: OrderRequested, eligible_from: int, expire_ns: int | None) -> None:
        self.order = order
        self.leaves = order.quantity
        self.eligible_from = eligible_from
        self.expire_ns = expire_ns
        self.stop = order.stop_price
        self.triggered = False
        self.best = math.nan
        self.seen = False  # has met the market (a bar or a tick): a limit filling then takes
        # a limit marketable at the last price when it reached the venue (`limit_marketable`;
        # the broker sets it): it takes on its first bar, as post-only would refuse it
        self.taking = False
        # a ``same_close`` market order decided while its symbol's last price was older
        # than the decision: it fills at the close of its symbol's next bar (the broker)
        self.at_close = False

    @property
    def filled(self) -> float:
        return self.order.quantity - self.leaves


def match_bar(working: WorkingOrder, bar: Bar, touch: bool) -> tuple[float, str, int, float] | None:
    """Return (raw price, liquidity, fill time, path position) if ``bar`` fills the order.

    A stop-limit whose stop is reached gets ``working.triggered`` set (the caller
    announces it); it fills at once only when marketable at the trigger price.

    A limit fills as a taker on the first bar it meets if it was marketable on arrival:
    at the last price when it reached the venue (``working.taking``, `limit_marketable`,
    the rule that rejects a post-only limit) or at that bar's open (the bar opens through
    it); a taker pays slippage, capped at its limit by the broker. A limit that rests past
    its first bar is a maker when a later bar reaches it (at the limit, or at the open of a
    bar gapping through it). Was: a maker always (a buy limit of 200 with the last close at
    100 filled at the open with a maker's fee and no slippage, while post-only refused it
    as taking).
    """
    order = working.order
    kind = order.order_type
    side = order.side
    if kind in (OrderType.MARKET, OrderType.MARKET_ON_OPEN):
        return bar.open, "taker", bar.ts_open, 0.0
    if kind is OrderType.MARKET_ON_CLOSE:
        return bar.close, "taker", bar.ts_event, 3.0
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and working.triggered):
        assert order.limit_price is not None  # risk denies limits without a price
        arriving = kind is OrderType.LIMIT and not working.seen
        if arriving:
            working.seen = True
        reached = limit_reached(side, order.limit_price, bar, touch)
        if reached is None:
            return None
        when = bar.ts_open if reached.at_open else bar.ts_event
        liquidity = "taker" if arriving and (working.taking or reached.at_open) else "maker"
        return reached.price, liquidity, when, path_position(reached.price, reached.at_open, bar)
    stop = working.stop
    assert stop is not None  # risk denies stops without a price; trailing sets one
    reached = stop_reached(side, stop, bar)
    if reached is None:
        return None
    when = bar.ts_open if reached.at_open else bar.ts_event
    position = path_position(reached.price, reached.at_open, bar)
    if kind is not OrderType.STOP_LIMIT:
        return reached.price, "taker", when, position
    working.triggered = True
    limit = order.limit_price
    assert limit is not None
    marketable = reached.price <= limit if side is OrderSide.BUY else reached.price >= limit
    if not marketable:
        return None  # rests as a limit from the next bar
    return reached.price, "taker", when, position  # the broker caps slippage at the limit


def match_tick(
    working: WorkingOrder, take: float, touch: bool, quote: bool = False
) -> tuple[float, str] | None:
    """Return (raw price, liquidity) if a tick fills the order.

    ``take`` is where this order would trade: the trade price, or the ask for a buy / the
    bid for a sell (``quote``). A limit marketable on its first look takes at ``take``; a
    resting limit fills at its limit when ``take`` moves through it (``touch``: reaches
    it) — sellers offering below a buy limit, buyers bidding above a sell limit. Under
    "through" (``touch=False``) a trade exactly at the limit is a touch, not a fill, on
    the first look too; a quote's ask (bid) at a buy (sell) limit is displayed liquidity
    at the limit, which the arriving order takes.
    """
    order = working.order
    kind = order.order_type
    buy = order.side is OrderSide.BUY
    if kind in (OrderType.MARKET, OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE):
        return take, "taker"
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and working.triggered):
        limit = order.limit_price
        assert limit is not None
        first_look = not working.seen
        working.seen = True
        marketable = limit_marketable(order.side, limit, take)
        if first_look and marketable and (take != limit or touch or quote):
            return take, "taker"  # marketable on arrival: it takes, at a better price
        crossed = (marketable and take != limit) or (touch and take == limit)
        return (limit, "maker") if crossed else None
    stop = working.stop
    assert stop is not None
    if not ((take >= stop) if buy else (take <= stop)):
        return None
    if kind is not OrderType.STOP_LIMIT:
        return take, "taker"
    working.triggered = True
    limit = order.limit_price
    assert limit is not None
    return (take, "taker") if ((take <= limit) if buy else (take >= limit)) else None


def trailing_level(order: OrderRequested, best: float, instrument: Instrument) -> float:
    """Return a trailing stop's level for the best price ``best`` since it was placed.

    ``trailing_offset`` away from ``best`` (a price amount, or percent of ``best``): below
    for sells, above for buys; on the tick grid passively (a sell stop down, a buy stop
    up), so the level is never nearer the market than the offset asked for.
    """
    offset = order.trailing_offset or 0.0
    if order.trailing_offset_type is TrailingOffsetType.PERCENT:
        offset = best * offset / 100.0
    buy = order.side is OrderSide.BUY
    level = best + offset if buy else best - offset
    return instrument.round_order_price(level, buy, stop=True)


def trail_step(
    order: OrderRequested, best: float, stop: float | None, price: float, instrument: Instrument
) -> tuple[float, float]:
    """Return a trailing stop's ``(best, stop)`` once the market reached ``price``.

    The best price moves to ``price`` if it is better (higher for a sell, lower for a buy)
    and the stop ratchets to `trailing_level` of it, never back. The one rule of the
    backtest's broker and the live node's node-managed trailing stop
    (`engine.runtime.live.trailing`), so both trail alike.
    """
    if order.side is OrderSide.SELL:
        best = max(best, price)
        level = trailing_level(order, best, instrument)
        return best, level if stop is None else max(stop, level)
    best = min(best, price)
    level = trailing_level(order, best, instrument)
    return best, level if stop is None else min(stop, level)


def prefer_in_group(
    candidate: tuple[WorkingOrder, float, str, int, float],
    incumbent: tuple[WorkingOrder, float, str, int, float],
    rule: str,
) -> bool:
    """Return True if ``candidate`` should fill instead of ``incumbent`` in one OCO group.

    Candidates are ``(order, price, liquidity, fill time, path position)`` as from
    `match_bar`; ``rule`` is ``bracket_conflict``. A member the bar opened through (its
    fill time is the bar's open) was reached first, at the open, under every rule: the
    tie rule ("stop_first" / "target_first") decides only between members both first
    reached inside the bar, or both at the open. Was: "stop_first" filled a long
    bracket's stop at 95 on a bar that opened at 108, through its take-profit of 105.
    """
    if candidate[3] != incumbent[3]:  # one at the open, the other inside the bar
        return candidate[3] < incumbent[3]
    if rule == "path":
        return candidate[4] < incumbent[4]
    candidate_is_stop = candidate[0].order.order_type in _STOP_TYPES
    incumbent_is_stop = incumbent[0].order.order_type in _STOP_TYPES
    if candidate_is_stop == incumbent_is_stop:
        return False
    return candidate_is_stop if rule == "stop_first" else not candidate_is_stop
