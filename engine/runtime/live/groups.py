"""One-cancels-other groups live: a bracket's two exits as one exchange OCO (Binance's order list).

Why native and not node-managed (two plain orders, the node cancelling one when the other
fills): on a spot account both exits are sells of the same coins, and the exchange locks
the base asset of each working sell at placement — the second would be refused for funds
(or cut to nothing). Binance's OCO locks it once for both legs. It is also safe against the
node: when one leg fills, the exchange itself expires the other at once, whether or not the
node is running, so a crash, a slow poll or a network cut never lets both fill, and never
sells more than the wallet holds.

In: the exits of one ``oco_group`` as the execution engine sends them — one `submit` per
leg, in one delivery of the bus (a bracket's children are released together when the entry
fills; the risk engine's exits are requested together). The venue holds each leg here and
publishes `OcoReady` once per group; the bus delivers that marker after every event queued
before it, so by then every leg of the group has arrived. Out: what to send (`pair`).

A group of one leg is sent as a plain order (the risk engine's exits with only a stop loss
or only a trailing stop). A group of a stop or stop-limit and a limit of the same side,
symbol and quantity is sent as one OCO (`OrderManager.submit_oco`): the limit as the
LIMIT_MAKER leg, the stop as the STOP_LOSS[_LIMIT] leg. Anything else (three legs, a
trailing stop with a take profit, two limits) is rejected with a reason.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.adapters.ccxt.venue import OrderSpec
from engine.model import OrderRequested, OrderType

__all__ = ["Leg", "OcoGroups", "OcoReady", "pair"]

_STOPS = (OrderType.STOP, OrderType.STOP_LIMIT)


class OcoReady(NamedTuple):
    """The live venue's own marker: every leg of ``group`` has arrived (see the module)."""

    group: str


class Leg(NamedTuple):
    """One leg held until its group is complete: the order, its capped quantity, its spec."""

    order: OrderRequested
    quantity: float
    spec: OrderSpec | None  # None for a trailing stop (its trailer builds the spec)


class OcoGroups:
    """The legs of groups still arriving, by group name (insertion order kept)."""

    def __init__(self) -> None:
        """Hold nothing."""
        self.pending: dict[str, list[Leg]] = {}

    def add(self, leg: Leg) -> bool:
        """Hold ``leg``; return True for its group's first leg (publish `OcoReady` then)."""
        group = leg.order.oco_group
        first = group not in self.pending
        self.pending.setdefault(group, []).append(leg)
        return first

    def take(self, group: str) -> list[Leg]:
        """Return and forget ``group``'s legs."""
        return self.pending.pop(group, [])


def pair(legs: list[Leg]) -> tuple[Leg, Leg] | str:
    """Return ``(stop, target)`` of a group that can be one OCO, or why it cannot."""
    kinds = sorted(str(leg.order.order_type) for leg in legs)
    stops = [leg for leg in legs if leg.order.order_type in _STOPS]
    targets = [leg for leg in legs if leg.order.order_type is OrderType.LIMIT]
    if len(legs) != 2 or len(stops) != 1 or len(targets) != 1:
        return (
            "live trading sends a one-cancels-other group of one stop (or stop-limit) and one "
            f"limit as an exchange OCO, not {', '.join(kinds)}"
        )
    stop, target = stops[0], targets[0]
    if (stop.order.side, stop.order.symbol) != (target.order.side, target.order.symbol):
        return "the legs of a one-cancels-other group must share their side and symbol"
    if abs(stop.quantity - target.quantity) > 1e-12 * max(stop.quantity, 1.0):
        return (
            f"the legs of a one-cancels-other group must be of one quantity at the exchange, "
            f"not {stop.quantity:g} and {target.quantity:g}"
        )
    return stop, target
