"""Parity of one-cancels-other exits: a stop-loss and a take-profit in one OCO group, run as
a backtest and as a live node trading through ccxt on the local exchange, give the same
fills, cash and equity (issue 15).

`OcoExit` buys 0.1 BTC at market after a rising bar and, once long, protects the position
with a sell stop 0.5 % under the last close and a sell limit 0.5 % over it, one group.
Live the two go out as one exchange order list (Binance's OCO: a LIMIT_MAKER and a
STOP_LOSS, `engine.runtime.live.groups`); the exchange fills one and expires the other,
and on a bar that reaches both fills the stop, as the backtest's ``bracket_conflict =
"stop_first"`` (the default) does. Over ~470 hourly bars both legs fill many times.
"""

from __future__ import annotations

from pathlib import Path

from engine import run_backtest
from engine.model import Bar
from engine.strategy import Context, Strategy
from tests.integration.test_live_parity import assert_same, parity_config, run_live


class OcoExit(Strategy):
    """Long 0.1 after a rising bar; a stop and a target 0.5 % away, one OCO group."""

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if ctx.open_orders(bar.symbol):
            return
        held = ctx.position(bar.symbol)
        if held > 0:
            group = f"exit-{bar.ts_event}"
            ctx.submit_order(bar.symbol, "sell", held, stop_price=round(bar.close * 0.995, 2),
                             reduce_only=True, oco_group=group)  # fmt: skip
            ctx.submit_order(bar.symbol, "sell", held, limit_price=round(bar.close * 1.005, 2),
                             reduce_only=True, oco_group=group)  # fmt: skip
        elif bar.close > bar.open:
            ctx.buy(bar.symbol, 0.1)


def test_oco_exits_fill_live_as_in_the_backtest(tmp_path: Path) -> None:
    config = parity_config({"path": "unused:Unused", "id": "oco"})
    backtest = run_backtest(config, strategy=OcoExit())
    rows = backtest.recorder.orders
    kinds = {oid: row["order_type"] for oid, row in rows.items()}
    sells = [kinds[f.order_id] for f in backtest.recorder.fills if f.side == "sell"]
    assert sells.count("stop") >= 5
    assert sells.count("limit") >= 5
    node, wallet, local = run_live(config, tmp_path, OcoExit())
    assert_same(backtest, node, wallet)
    legs = [o for o in local.venue.orders.values() if o.list_id >= 0]
    assert len(legs) == 2 * len(local.venue.lists) >= 2 * len(sells)
    assert {o.status for o in legs} <= {"FILLED", "EXPIRED", "CANCELED"}
    assert sum(o.status == "FILLED" for o in legs) == len(sells)  # one leg per list at most
