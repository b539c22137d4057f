"""Parity of post-only, GTD/DAY and modified orders: run as a backtest and as a live node
trading through ccxt on the local exchange, they give the same fills, cash and equity.

`MakerEntry`, over ~470 hourly bars: flat and without orders, it bids a post-only limit
0.3 % under the close, good for three hours (GTD); one bar later, still unfilled, it moves
the bid to 0.3 % under the new close (a modification: live, Binance's cancel-replace).
Once long it protects the position with a DAY sell stop 1 % under the close and, when the
close is 0.5 % above the entry, moves the stop up to the entry (the break-even move, a
modification of the stop); the DAY stop expires at midnight UTC and is placed again. Live,
the entries are LIMIT_MAKER orders, the GTD and DAY orders GTC ones the node cancels at
their expiry (`engine.runtime.live.expiry`) and every modification a new exchange order.
"""

from __future__ import annotations

from pathlib import Path

from engine import run_backtest
from engine.model import (
    Bar,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderSide,
    OrderTriggered,
)
from engine.strategy import Context, Strategy
from tests.integration.test_live_parity import assert_same, parity_config, run_live

HOUR_NS = 3_600 * 10**9


class MakerEntry(Strategy):
    """Post-only GTD entries, amended once; a DAY stop moved to break-even (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self.entry = 0.0
        self.moved: set[str] = set()  # orders modified once already
        self.heard: list[str] = []  # the answers to the modifications, in order

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        if event.side is OrderSide.BUY:
            self.entry = event.price

    def on_order_updated(
        self, ctx: Context, event: OrderTriggered | OrderModified | OrderModifyRejected
    ) -> None:
        self.heard.append(f"{type(event).__name__} {event.order_id}")

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        symbol = bar.symbol
        held = ctx.position(symbol)
        orders = ctx.open_orders(symbol)
        if held <= 0:
            for order in orders:
                if order.side is OrderSide.BUY and order.order_id not in self.moved:
                    self.moved.add(order.order_id)
                    ctx.modify(order.order_id, limit_price=round(bar.close * 0.997, 2))
            if not orders:
                ctx.buy(symbol, 0.1, limit_price=round(bar.close * 0.997, 2), post_only=True,
                        time_in_force="gtd", expire_time=bar.ts_event + 3 * HOUR_NS)  # fmt: skip
            return
        stops = [o for o in orders if o.side is OrderSide.SELL]
        if not stops:
            ctx.sell(symbol, held, stop_price=round(bar.close * 0.99, 2), time_in_force="day")
            return
        stop = stops[0]
        breakeven = round(self.entry, 2)
        rising = bar.close > self.entry * 1.005 and (stop.stop_price or 0.0) < breakeven
        if rising and stop.order_id not in self.moved:
            self.moved.add(stop.order_id)
            ctx.modify(stop.order_id, stop_price=breakeven)


def test_post_only_gtd_day_and_modified_orders_fill_live_as_in_the_backtest(
    tmp_path: Path,
) -> None:
    config = parity_config({"path": "unused:Unused", "id": "kinds"})
    strategy = MakerEntry()
    backtest = run_backtest(config, strategy=strategy)
    statuses = [row["status"] for row in backtest.recorder.orders.values()]
    assert len(backtest.recorder.fills) >= 10
    assert statuses.count("expired") >= 5
    assert len(strategy.moved) >= 10
    live_strategy = MakerEntry()
    node, wallet, local = run_live(config, tmp_path, live_strategy)
    assert_same(backtest, node, wallet)
    assert live_strategy.heard == strategy.heard  # the same modifications, answered alike
    live = {oid: o.status for oid, o in node.kernel.execution.orders.items()}
    assert [str(s) for s in live.values()] == statuses
    exchange_orders = list(local.venue.orders.values())
    assert {"LIMIT_MAKER", "STOP_LOSS"} <= {o.type for o in exchange_orders}
    # each modification the exchange took is one more exchange order (cancel-replace)
    modified = sum(1 for h in strategy.heard if h.startswith("OrderModified"))
    assert modified >= 10
    assert len(exchange_orders) == len(live) + modified
    assert not [o for o in local.venue.orders.values() if o.open]
