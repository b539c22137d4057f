"""What the order manager reports of an order: the `Update` the live venue publishes.

In: nothing (a value). Out: `Update`, made by `engine.runtime.live.orders.OrderManager` and
`engine.runtime.live.amend`, read by `engine.runtime.live.venue.LiveVenue`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.runtime.live.ledger import LiveFill, LiveOrder

__all__ = ["Update"]


@dataclass(frozen=True)
class Update:
    """Something that happened to an order: ``kind`` is accepted, filled, canceled,
    rejected or expired, or, for a perpetual's modification in place, amended (``order``
    has the new terms), amend_rejected or amend_canceled (the exchange canceled the order
    on refusing it; ``order.reason`` says why); ``fill`` is set for filled."""

    kind: str
    order: LiveOrder
    fill: LiveFill | None = None
