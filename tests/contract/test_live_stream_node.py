"""A fill the user-data stream pushes between bars reaches the strategy and the portfolio at
once (`TradingNode.deliver` + `LiveVenue.report`), and the next bar's REST poll does not
count it again.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05; it then
trades 18800..18932). On bar 99 the strategy rests a limit buy at 18810; the exchange fills
it when row 100 closes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine import parse_config
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.user import OrderEvent
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.clock import SimClock
from engine.feeds import load_bars
from engine.model import Bar, OrderFilled
from engine.persistence import RunStore
from engine.runtime.backtest import iter_bars
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.venue import LiveVenue, live_mode
from engine.runtime.node import TradingNode
from engine.strategy import Strategy
from engine.strategy.context import Context
from tests.contract.conftest import BTC, BTC_CSV, SECRET, btc_rows
from tests.contract.test_live_user_stream import user_stream


class RestingBuy(Strategy):
    """Rests one limit buy at 18810 on its first bar; records its fills."""

    def __init__(self) -> None:
        super().__init__()
        self.fills: list[OrderFilled] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if not self.fills and not ctx.open_orders(bar.symbol):
            ctx.buy(bar.symbol, 0.01, limit_price=18810.0)

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        self.fills.append(event)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def test_a_fill_pushed_between_bars_reaches_the_strategy_once(local: Any, tmp_path: Path) -> None:
    config = parse_config(
        {
            "run": {"name": "between"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": str(BTC_CSV), "symbol": "BTC/USDT"}],
            "instruments": [
                {"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001,
                 "min_quantity": 0.00001, "min_notional": 10.0}
            ],
            "strategy": {"path": "strategies.sma_cross:SmaCross"},
        }
    )  # fmt: skip
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=2, backoff_s=0.0), wall_clock_ms)
    manager = OrderManager(exchange, LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "b"))
    reconcile(manager, {"BTC/USDT": BTC})
    bars = list(iter_bars([load_bars(btc_rows(102), symbol="BTC/USDT", timeframe="1h")]))
    strategy = RestingBuy()
    node = TradingNode(
        config, clock=SimClock(bars[99].ts_event), strategy=strategy, mode=live_mode(manager)
    )
    venue = node.kernel.venue
    assert isinstance(venue, LiveVenue)
    node.on_event(bars[99])  # the limit buy rests
    assert venue.working

    async def pushed() -> list[OrderEvent]:
        stream = user_stream(local)
        try:
            await stream.subscribe()
            await asyncio.to_thread(local.advance, 1)  # row 100 closes: the buy fills
            events: list[OrderEvent] = []
            while not any(e.order.status == "closed" for e in events):
                events += await asyncio.wait_for(stream.next(), 5)
            return events
        finally:
            await stream.close()

    for event in asyncio.run(pushed()):  # between bars: what the monitor does per report
        updates = manager.apply(event.order, event.trades)
        node.deliver(lambda updates=updates: venue.report(updates))
    assert [(f.quantity, f.price) for f in strategy.fills] == [(0.01, 18810.0)]
    assert node.kernel.portfolio.positions["BTC/USDT"].quantity == pytest.approx(0.01)
    assert not venue.working
    node.on_event(bars[100])  # the next bar's poll finds nothing new
    assert len(strategy.fills) == 1
    assert len(node.kernel.recorder.fills) == 1
