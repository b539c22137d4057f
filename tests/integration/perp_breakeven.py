"""`PerpBreakEven`, a strategy plugin for perpetual tests: every position under a stop that
is moved to break-even once the trade is far enough in profit; it writes down every answer.

In: bars of one symbol. Out: market entries of ``quantity`` (long after a rising bar,
short after a falling one), a reduce-only stop ``risk`` beyond the entry price (placed on
the bar after the entry filled), moved to the entry price (break-even, on the tick grid)
on the first bar that closes ``move_at`` in the trade's favour. A position still open
``hold_bars`` bars after its entry is closed: the stop canceled, a reduce-only market
order. On the bar after a stop filled it modifies that stop once more (refused: it is no
longer working). From the bar closing at ``flat_from_ns`` on it cancels its orders and
closes the position.

``heard`` lists every answer in order (modified with the new stop, modify-rejected with
why, canceled, rejected with why, filled with side, quantity and price); a live
node keeps it in the store through ``on_save``. A config names it as
``tests.integration.perp_breakeven:PerpBreakEven`` (the repo root on the path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.model import (
    Bar,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
)
from engine.strategy import Context, Strategy


@dataclass(frozen=True)
class PerpBreakEvenParams:
    """Parameters of `PerpBreakEven`.

    Attributes:
        quantity: Size of each entry, in base units.
        risk: The stop's distance from the entry price (a fraction of it).
        move_at: The favourable move of a close (a fraction of the entry) that moves the
            stop to break-even.
        hold_bars: Bars after which a position still open is closed at the market.
        flat_from_ns: Close time (ns UTC) of the first bar on which it only closes; 0: never.
    """

    quantity: float = 0.1
    risk: float = 0.006
    move_at: float = 0.003
    hold_bars: int = 8
    flat_from_ns: int = 0


class PerpBreakEven(Strategy):
    """A stop per position, moved to break-even (see the module)."""

    Params = PerpBreakEvenParams
    params: PerpBreakEvenParams

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.heard: list[str] = []
        self.entry = 0.0  # the open position's entry price (0: flat)
        self.bars = 0  # bars since the entry filled
        self.stops: list[str] = []  # every stop placed
        self.moved: list[str] = []  # stops moved to break-even
        self.stopped: list[str] = []  # stops filled, to modify once more (refused)

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        """Write the fill down; an entry's price is the break-even level."""
        self.heard.append(f"filled {event.order_id} {event.side} {event.quantity:g} "
                          f"{event.price:.2f}")  # fmt: skip
        if event.order_id in self.stops and event.leaves_quantity <= 0:
            self.stopped.append(event.order_id)
        held = ctx.position(event.symbol)
        if not held:
            self.entry = 0.0
        elif not self.entry:
            self.entry, self.bars = event.price, 0

    def on_order_updated(
        self, ctx: Context, event: OrderTriggered | OrderModified | OrderModifyRejected
    ) -> None:
        if isinstance(event, OrderModified):
            self.heard.append(f"modified {event.order_id} {event.quantity:g} {event.stop_price}")
        elif isinstance(event, OrderModifyRejected):
            self.heard.append(f"modify-rejected {event.order_id} {event.reason}")

    def on_order_canceled(self, ctx: Context, event: OrderCanceled) -> None:
        # not the reason: a strategy's own cancel is "canceled" live, "canceled by request"
        # in a backtest (a wording difference outside this plugin's subject)
        self.heard.append(f"canceled {event.order_id}")

    def on_order_rejected(self, ctx: Context, event: OrderRejected) -> None:
        self.heard.append(f"rejected {event.order_id} {event.reason}")

    def on_save(self) -> dict[str, Any]:
        return {"heard": self.heard, "entry": self.entry, "bars": self.bars,
                "stops": self.stops, "moved": self.moved,
                "stopped": self.stopped}  # fmt: skip

    def on_load(self, state: dict[str, Any]) -> None:
        self.heard, self.stops = list(state["heard"]), list(state["stops"])
        self.entry, self.bars = float(state["entry"]), int(state["bars"])
        self.moved, self.stopped = list(state["moved"]), list(state["stopped"])

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Enter, protect, move the stop, or close on ``bar`` (see the module)."""
        symbol, params = bar.symbol, self.params
        held = ctx.position(symbol)
        orders = ctx.open_orders(symbol)
        for order_id in self.stopped:  # no longer working: refused
            ctx.modify(order_id, stop_price=round(bar.close, 2))
        self.stopped = []
        closing = 0 < params.flat_from_ns <= bar.ts_event
        if held:
            self.bars += 1
        if closing or (held and self.bars >= params.hold_bars):
            for order in orders:
                ctx.cancel(order.order_id)
            if held:
                ctx.submit_order(symbol, "sell" if held > 0 else "buy", abs(held),
                                 reduce_only=True)  # fmt: skip
            return
        if held and not orders and self.entry:
            long = held > 0
            stop = round(self.entry * (1 - params.risk if long else 1 + params.risk), 2)
            order_id = ctx.submit_order(symbol, "sell" if long else "buy", abs(held),
                                        stop_price=stop, reduce_only=True)  # fmt: skip
            self.stops.append(order_id)
        elif held and orders:
            long = held > 0
            gain = (bar.close - self.entry) / self.entry * (1 if long else -1)
            for order in orders:
                if order.order_id in self.moved or gain < params.move_at:
                    continue
                self.moved.append(order.order_id)
                ctx.modify(order.order_id, stop_price=round(self.entry, 2))
        elif not held and not orders:
            if bar.close > bar.open:
                ctx.buy(symbol, params.quantity)
            else:
                ctx.sell(symbol, params.quantity)
