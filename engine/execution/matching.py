"""Where a bar says an order's price was reached: pure functions, no state.

Prices inside a bar are not observed, only its open, high, low and close. These functions
encode the assumptions (each documented in the README's fill table):
- The open is the first price of the bar. A stop or limit already beyond it at the open
  fills at the open (a gap is neither forgiven nor denied its improvement).
- Otherwise a level is reached if it lies within [low, high]; a limit needs the bar to
  trade beyond it (``touch=False``) or only to reach it (``touch=True``).
- Intrabar order (used only to decide which of two sibling orders was reached first when
  ``bracket_conflict = "path"``): open, then the extreme nearer the open, then the other
  extreme, then the close.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.model import Bar, OrderSide

__all__ = ["Reached", "limit_reached", "path_position", "stop_reached"]


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
    """Return where a resting limit of ``side`` fills on ``bar``, or None."""
    if side is OrderSide.BUY:
        if bar.open <= limit:
            return Reached(bar.open, True)
        crossed = bar.low <= limit if touch else bar.low < limit
    else:
        if bar.open >= limit:
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
