"""Parity of stop-loss / take-profit exits on a perpetual: a long/short strategy whose every
position is protected by a stop and a target in one OCO group, run as a backtest and as a
live node trading Binance USDⓈ-M through ccxt on the local exchange, gives the same fills,
cash and equity, funding included (issue 15).

`BracketedLongShort` goes 0.1 BTC long after a rising bar and short after a falling one;
once in a position, it sends a stop 0.5 % beyond the last close against it and a limit
0.5 % in its favour, both ``reduce_only``, one group. Live the stop is a Binance algo order
(STOP_MARKET), the target a plain limit, both ``reduceOnly``, and the node cancels the
other once one filled (`engine.runtime.live.pairs`); on a bar reaching both the local
exchange triggers the stop first, as the backtest's ``bracket_conflict = "stop_first"``,
and the target, reduce-only with the position gone, expires. From the second-to-last bar
on it cancels its exits and closes, so both runs end flat. Over ~470 hourly bars: 350
fills, 175 of them exits (30 to 54 of each leg and side).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import run_backtest
from engine.feeds import load_bars
from engine.model import Bar, OrderSide
from engine.strategy import Context, Strategy
from tests.contract.conftest import BTC_CSV
from tests.integration.test_live_parity import assert_same
from tests.integration.test_live_perpetual_parity import (
    END,
    SYMBOL,
    funding_file,
    perpetual_config,
    run_live_perpetual,
)


class BracketedLongShort(Strategy):
    """Long or short 0.1 after each bar's direction; every position under one OCO exit."""

    def __init__(self, flat_from_ns: int) -> None:
        super().__init__()
        self.flat_from_ns = flat_from_ns

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        held = ctx.position(bar.symbol)
        working = ctx.open_orders(bar.symbol)
        if self.flat_from_ns <= bar.ts_event:
            for order in working:
                ctx.cancel(order.order_id)
            if held:
                side = "sell" if held > 0 else "buy"
                ctx.submit_order(bar.symbol, side, abs(held), reduce_only=True)
            return
        if working:
            return
        if held:
            exit_side = "sell" if held > 0 else "buy"
            down, up = round(bar.close * 0.995, 2), round(bar.close * 1.005, 2)
            stop, target = (down, up) if held > 0 else (up, down)
            group = f"exit-{bar.ts_event}"
            ctx.submit_order(bar.symbol, exit_side, abs(held), stop_price=stop,
                             reduce_only=True, oco_group=group)  # fmt: skip
            ctx.submit_order(bar.symbol, exit_side, abs(held), limit_price=target,
                             reduce_only=True, oco_group=group)  # fmt: skip
        elif bar.close > bar.open:
            ctx.buy(bar.symbol, 0.1)
        else:
            ctx.sell(bar.symbol, 0.1)


@pytest.mark.slow
def test_stop_loss_and_take_profit_exits_on_a_perpetual_fill_live_as_in_the_backtest(
    tmp_path: Path,
) -> None:
    funding = funding_file(tmp_path)
    config = perpetual_config(funding)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    flat_from = int(frame.ts_close_ns[-2])
    backtest = run_backtest(config, strategy=BracketedLongShort(flat_from))
    expected = backtest.recorder.fills
    kinds = {oid: row["order_type"] for oid, row in backtest.recorder.orders.items()}
    exits = [(kinds[f.order_id], f.side) for f in expected if kinds[f.order_id] != "market"]
    for kind in ("stop", "limit"):  # both legs fill, closing longs and shorts
        for side in (OrderSide.BUY, OrderSide.SELL):
            assert exits.count((kind, side)) >= 30, (kind, side)
    live = run_live_perpetual(config, funding, tmp_path / "live.db", BracketedLongShort(flat_from))
    wallet = {"USDT": (0.0, float(live["account"]["totalWalletBalance"]))}  # flat: all cash
    assert_same(backtest, live["node"], wallet)
    assert live["position"] == 0.0
    algos = live["local"].venue.algos.orders.values()
    assert {a.status for a in algos} <= {"FINISHED", "CANCELED", "REJECTED"}
    assert all(a.reduce_only for a in algos)
