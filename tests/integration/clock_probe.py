"""`ClockProbe`, a strategy plugin for the node's clock: it writes down what time the node
says it is, and keeps a GTD and a DAY order working to see when they expire.

In: bars of one symbol. Out: limit buys that never fill — one 5 % under the close, good
until ``gtd_hours`` after the bar (GTD), and one 6 % under it, good for the UTC day (DAY) —
each placed again once the last one expired. ``seen`` lists ``[bar close,
ctx.time_ns]`` at each bar, ``placed`` ``{order id: [kind, bar close, expire time or
0]}``, ``expired`` ``[[order id, ctx.time_ns]]`` as each expiry is heard; a live node
keeps them in the store through ``on_save``. A config names it as
``tests.integration.clock_probe:ClockProbe`` (the repo root on the path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.model import Bar, OrderExpired
from engine.strategy import Context, Strategy

HOUR_NS = 3_600 * 10**9


@dataclass(frozen=True)
class ClockProbeParams:
    """Parameters of `ClockProbe`.

    Attributes:
        quantity: Size of each order, in base units.
        gtd_hours: How long after its bar's close a GTD order is good for.
    """

    quantity: float = 0.01
    gtd_hours: int = 2


class ClockProbe(Strategy):
    """Writes down the node's time; keeps a GTD and a DAY buy working (see the module)."""

    Params = ClockProbeParams
    params: ClockProbeParams

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.seen: list[list[int]] = []
        self.placed: dict[str, list[Any]] = {}
        self.expired: list[list[Any]] = []

    def on_save(self) -> dict[str, Any]:
        return {"seen": self.seen, "placed": self.placed, "expired": self.expired}

    def on_load(self, state: dict[str, Any]) -> None:
        self.seen, self.placed = list(state["seen"]), dict(state["placed"])
        self.expired = list(state["expired"])

    def on_order_expired(self, ctx: Context, event: OrderExpired) -> None:
        self.expired.append([event.order_id, ctx.time_ns])

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Write the time down; place what is not working (see the module)."""
        self.seen.append([bar.ts_event, ctx.time_ns])
        working = {self.placed[o.order_id][0] for o in ctx.open_orders(bar.symbol)}
        quantity = self.params.quantity
        if "gtd" not in working:
            expire = bar.ts_event + self.params.gtd_hours * HOUR_NS
            order_id = ctx.buy(bar.symbol, quantity, limit_price=round(bar.close * 0.95, 2),
                               time_in_force="gtd", expire_time=expire)  # fmt: skip
            self.placed[order_id] = ["gtd", bar.ts_event, expire]
        if "day" not in working:
            order_id = ctx.buy(bar.symbol, quantity, limit_price=round(bar.close * 0.94, 2),
                               time_in_force="day")  # fmt: skip
            self.placed[order_id] = ["day", bar.ts_event, 0]
