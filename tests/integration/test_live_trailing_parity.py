"""Parity of node-managed trailing stops: a trailing-stop exit run as a backtest and as a live
node trading through ccxt on the local exchange gives the same fills, cash and equity (issue 15).

`TrailExit` buys 0.1 BTC at market after a rising bar and, once long, protects the position
with a trailing sell stop (a percent of the best price, or a price amount); the trailing
stop is the only exit. Over ~470 hourly bars it trails up many bars and triggers many times.
Live, the node holds a STOP_LOSS at the exchange and moves it after each bar by the bar's
high (cancel, then a new link: `engine.runtime.live.trailing`); the exchange triggers it on
the next bar as the backtest's broker does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import run_backtest
from engine.model import Bar, OrderType
from engine.strategy import Context, Strategy
from tests.integration.test_live_parity import assert_same, parity_config, run_live


class TrailExit(Strategy):
    """Long 0.1 after a rising bar; a trailing sell stop is the only exit."""

    def __init__(self, percent: float | None = None, offset: float | None = None) -> None:
        super().__init__()
        self.percent, self.offset = percent, offset

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if ctx.open_orders(bar.symbol):
            return
        held = ctx.position(bar.symbol)
        if held > 0:
            ctx.trailing_stop(bar.symbol, "sell", held, percent=self.percent, offset=self.offset)
        elif bar.close > bar.open:
            ctx.buy(bar.symbol, 0.1)


@pytest.mark.slow
@pytest.mark.parametrize(("percent", "offset"), [(0.6, None), (None, 90.0)])
def test_a_trailing_stop_fills_live_as_in_the_backtest(
    tmp_path: Path, percent: float | None, offset: float | None
) -> None:
    config = parity_config({"path": "unused:Unused", "id": "trails"})
    backtest = run_backtest(config, strategy=TrailExit(percent, offset))
    orders = backtest.recorder.orders
    trailing = {o for o, row in orders.items() if row["order_type"] == str(OrderType.TRAILING_STOP)}
    filled = [f for f in backtest.recorder.fills if f.order_id in trailing]
    assert len(filled) >= 10
    node, wallet, local = run_live(config, tmp_path, TrailExit(percent, offset))
    assert_same(backtest, node, wallet)
    # the stops waited at the exchange and were moved: more STOP_LOSS orders than trailing
    # stops (each move a new link), every one but the filled ones canceled
    stops = [o for o in local.venue.orders.values() if o.type == "STOP_LOSS"]
    assert len(stops) > len(trailing)
    assert {o.status for o in stops} <= {"FILLED", "CANCELED"}
    assert not [o for o in local.venue.orders.values() if o.open]
