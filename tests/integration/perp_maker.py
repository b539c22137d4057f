"""`PerpMaker`, a strategy plugin for perpetual tests: post-only entries and exits, each
modified once, and modifications that must be refused; it writes down every answer.

In: bars of one symbol. Out: post-only limits of ``quantity``. Flat and without orders, it
alternates a buy 0.3 % under the close, good for three hours (GTD), and a sell 0.3 % above
it, good for the UTC day (DAY). In a position without orders, it sends a reduce-only
post-only exit 0.5 % in its favour (DAY). On the bar after an order was placed, still
working, it is modified once: an entry to 0.2 % from the new close and 20 % more quantity,
an exit to 0.3 % from it. Before that modification, in the same bar, every second order is
first moved through the last close (refused: a post-only limit would take liquidity) and
every third first given a quantity of zero (refused: it must exceed what filled). On the
bar after each fill it also modifies the filled order (refused: it is no longer working).
From the bar closing at ``flat_from_ns`` on it cancels its orders and closes the position
with a market order.

``heard`` lists every answer in order (modified with the new terms, modify-rejected with
why, expired, canceled with why, rejected with why, filled with side and quantity); a live
node keeps it in the store through ``on_save``. A config names it as
``tests.integration.perp_maker:PerpMaker`` (the repo root on the path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.model import (
    Bar,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderSide,
    OrderTriggered,
)
from engine.strategy import Context, Strategy

HOUR_NS = 3_600 * 10**9


@dataclass(frozen=True)
class PerpMakerParams:
    """Parameters of `PerpMaker`.

    Attributes:
        quantity: Size of each entry, in base units.
        flat_from_ns: Close time (ns UTC) of the first bar on which it only closes; 0: never.
    """

    quantity: float = 0.1
    flat_from_ns: int = 0


class PerpMaker(Strategy):
    """Post-only entries and exits, each modified once (see the module)."""

    Params = PerpMakerParams
    params: PerpMakerParams

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.heard: list[str] = []
        self.moved: list[str] = []  # orders modified (or refused) once, in order
        self.entries = 0
        self.filled: list[str] = []  # filled orders not yet modified

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        """Write the fill down; a filled order is modified on the next bar (refused)."""
        self.heard.append(f"filled {event.order_id} {event.side} {event.quantity:g}")
        if event.leaves_quantity <= 0:
            self.filled.append(event.order_id)

    def on_order_updated(
        self, ctx: Context, event: OrderTriggered | OrderModified | OrderModifyRejected
    ) -> None:
        if isinstance(event, OrderModified):
            self.heard.append(f"modified {event.order_id} {event.quantity:g} {event.limit_price}")
        elif isinstance(event, OrderModifyRejected):
            self.heard.append(f"modify-rejected {event.order_id} {event.reason}")

    def on_order_expired(self, ctx: Context, event: OrderExpired) -> None:
        self.heard.append(f"expired {event.order_id}")

    def on_order_canceled(self, ctx: Context, event: OrderCanceled) -> None:
        self.heard.append(f"canceled {event.order_id} {event.reason}")

    def on_order_rejected(self, ctx: Context, event: OrderRejected) -> None:
        self.heard.append(f"rejected {event.order_id} {event.reason}")

    def on_save(self) -> dict[str, Any]:
        return {"heard": self.heard, "moved": self.moved, "entries": self.entries,
                "filled": self.filled}  # fmt: skip

    def on_load(self, state: dict[str, Any]) -> None:
        self.heard, self.moved = list(state["heard"]), list(state["moved"])
        self.entries, self.filled = int(state["entries"]), list(state["filled"])

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Place, modify or close on ``bar`` (see the module)."""
        symbol, close = bar.symbol, bar.close
        orders = ctx.open_orders(symbol)
        held = ctx.position(symbol)
        if 0 < self.params.flat_from_ns <= bar.ts_event:
            for order in orders:
                ctx.cancel(order.order_id)
            if held:
                ctx.submit_order(symbol, "sell" if held > 0 else "buy", abs(held),
                                 reduce_only=True)  # fmt: skip
            return
        for order_id in self.filled:  # no longer working
            ctx.modify(order_id, limit_price=round(close, 2))
        self.filled = []
        for order in orders:
            if order.order_id in self.moved:
                continue
            buy = order.side is OrderSide.BUY
            self.moved.append(order.order_id)
            if len(self.moved) % 2 == 0:  # through the last close: a post-only would take
                ctx.modify(order.order_id, limit_price=round(close * (1.001 if buy else 0.999), 2))
            if len(self.moved) % 3 == 0:
                ctx.modify(order.order_id, quantity=0.0)
            if order.tag == "exit":
                ctx.modify(order.order_id, limit_price=round(close * (0.997 if buy else 1.003), 2))
            else:
                ctx.modify(order.order_id, quantity=round(order.quantity * 1.2, 5),
                           limit_price=round(close * (0.998 if buy else 1.002), 2))  # fmt: skip
        if orders:
            return
        if held:
            side = "sell" if held > 0 else "buy"
            price = round(close * (1.005 if held > 0 else 0.995), 2)
            ctx.submit_order(symbol, side, abs(held), limit_price=price, post_only=True,
                             reduce_only=True, time_in_force="day", tag="exit")  # fmt: skip
            return
        self.entries += 1
        if self.entries % 2:
            expiry = bar.ts_event + 3 * HOUR_NS
            ctx.buy(symbol, self.params.quantity, limit_price=round(close * 0.997, 2),
                    post_only=True, time_in_force="gtd", expire_time=expiry)  # fmt: skip
        else:
            ctx.sell(symbol, self.params.quantity, limit_price=round(close * 1.003, 2),
                     post_only=True, time_in_force="day")  # fmt: skip
