"""Parity of exchange-side stops: a stop-market exit run as a backtest and as a live node
trading through ccxt on the local exchange gives the same fills, cash and equity (issue 15).

`StopExit` buys 0.1 BTC at market after a rising bar and, once long, protects the position
with a sell stop 0.5 % under the last close; the stop is the only exit. Over ~470 hourly
bars it triggers many times (on a bar's low, at the stop). The live run follows
`tests.integration.test_live_parity`: each bar reaches the node once the local exchange has
closed it, so the node's stop waits at the exchange during the next bar, as the backtest's
becomes eligible on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import parse_config, run_backtest
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.adapters.local import LocalExchange
from engine.clock import SimClock
from engine.feeds import load_bars
from engine.model import Bar, OrderType
from engine.persistence import RunStore
from engine.runtime.backtest import iter_bars
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.venue import live_mode
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy
from tests.contract.conftest import BTC, BTC_CSV, SECRET

END = "2020-12-20"


class StopExit(Strategy):
    """Long 0.1 after a rising bar; a sell stop 0.5 % under the close is the only exit."""

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if ctx.open_orders(bar.symbol):
            return
        held = ctx.position(bar.symbol)
        if held > 0:
            ctx.sell(bar.symbol, held, stop_price=round(bar.close * 0.995, 2))
        elif bar.close > bar.open:
            ctx.buy(bar.symbol, 0.1)


def test_a_stop_exit_fills_live_as_in_the_backtest(tmp_path: Path) -> None:
    config = parse_config(
        {
            "run": {"name": "stops"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": str(BTC_CSV), "symbol": "BTC/USDT", "end": END}],
            "instruments": [
                {"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001,
                 "min_quantity": 0.00001, "min_notional": 10.0}
            ],
            "strategy": {"path": "unused:Unused", "id": "stops"},
            "execution": {"fee_rate": 0.001, "slippage_bps": 0.0},
        }
    )  # fmt: skip
    backtest = run_backtest(config, strategy=StopExit())
    expected = backtest.recorder.fills
    orders = backtest.recorder.orders
    stops = {oid for oid, row in orders.items() if row["order_type"] == str(OrderType.STOP)}
    assert len([f for f in expected if f.order_id in stops]) >= 10

    frame = load_bars(BTC_CSV, symbol="BTC/USDT", end=END)
    local = LocalExchange(
        [frame], {"BTC/USDT": BTC}, secret=SECRET, paused=True, history=0,
        balances={"USDT": 10_000.0}, fee_rate=0.001,
    )  # fmt: skip
    local.start()
    try:
        client = open_trading_exchange(
            "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
        )
        client.enableRateLimit = False
        exchange = CcxtExchange(client, RetryPolicy(attempts=2, backoff_s=0.0), wall_clock_ms)
        manager = OrderManager(
            exchange, LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "p")
        )
        reconcile(manager, {"BTC/USDT": BTC})
        clock = SimClock(int(frame.ts_close_ns[0]) - 3_600 * 10**9)
        node = TradingNode(config, clock=clock, strategy=StopExit(), mode=live_mode(manager))
        filled = node.kernel.recorder.fills
        for bar in iter_bars([frame]):
            while local.replay.now_ms * 1_000_000 < bar.ts_event and not local.replay.finished:
                local.advance(1)  # the bar closes at the exchange, the next one opens
            node.on_event(bar)
        node.stop()
        wallet = exchange.balances()
    finally:
        local.stop()
    assert sum(o.type == "STOP_LOSS" for o in local.venue.orders.values()) == len(stops)
    assert [(f.order_id, f.side, f.quantity) for f in filled] == [
        (f.order_id, f.side, f.quantity) for f in expected
    ]
    for got, want in zip(filled, expected, strict=True):
        assert got.price == pytest.approx(want.price, abs=1e-9)
        assert got.fee == pytest.approx(want.fee, abs=1e-8)
    portfolio, reference = node.kernel.portfolio, backtest.portfolio
    assert portfolio.cash == pytest.approx(reference.cash, abs=1e-6)
    assert portfolio.equity() == pytest.approx(reference.equity, abs=1e-6)
    assert wallet["USDT"][1] == pytest.approx(reference.cash, abs=1e-6)  # the exchange agrees
