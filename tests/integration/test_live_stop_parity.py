"""Parity of exchange-side stops: a stop-market exit run as a backtest and as a live node
trading through ccxt on the local exchange gives the same fills, cash and equity (issue 15).

`StopExit` buys 0.1 BTC at market after a rising bar and, once long, protects the position
with a sell stop 0.5 % under the last close; the stop is the only exit. Over ~470 hourly
bars it triggers many times (on a bar's low, at the stop). The live run is
`tests.integration.test_live_parity.run_live`: each bar reaches the node once the local
exchange has closed it, so the node's stop waits at the exchange during the next bar, as
the backtest's becomes eligible on it.
"""

from __future__ import annotations

from pathlib import Path

from engine import run_backtest
from engine.model import Bar, OrderType
from engine.strategy import Context, Strategy
from tests.integration.test_live_parity import assert_same, parity_config, run_live


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
    config = parity_config({"path": "unused:Unused", "id": "stops"})
    backtest = run_backtest(config, strategy=StopExit())
    orders = backtest.recorder.orders
    stops = {oid for oid, row in orders.items() if row["order_type"] == str(OrderType.STOP)}
    assert len([f for f in backtest.recorder.fills if f.order_id in stops]) >= 10
    node, wallet, local = run_live(config, tmp_path, StopExit())
    # every stop waited at the exchange as STOP_LOSS (none sent as a market, none refused)
    assert sum(o.type == "STOP_LOSS" for o in local.venue.orders.values()) == len(stops)
    assert_same(backtest, node, wallet)
