"""Matching on trade ticks and quote ticks, through the kernel and through the CLI.

Trades: takers fill at the next trade's price; a resting buy limit fills at its limit when
a trade prints below it. Quotes: buys take the ask, sells the bid, at most the displayed
size per update; resting limits fill at the limit when the other side crosses it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds.ticks import load_ticks
from engine.model import OrderSide, QuoteTick, TradeTick
from tests.integration.conftest import CliRunner, assert_one_line_error

MS = 10**6
T0 = 1_700_000_000_000 * MS


class OnTicks(Strategy):
    """Runs the scripted actions on the n-th tick (0-based) of any kind."""

    def __init__(self, actions: dict[int, list]) -> None:
        super().__init__()
        self.actions = actions
        self.n = -1

    def _step(self, ctx: Context) -> None:
        self.n += 1
        for action in self.actions.get(self.n, ()):
            action(ctx)

    def on_trade(self, ctx: Context, tick: TradeTick) -> None:
        self._step(ctx)

    def on_quote(self, ctx: Context, quote: QuoteTick) -> None:
        self._step(ctx)


def run(tmp_path: Path, rows: list[dict], kind: str, actions: dict, **execution: object):
    path = tmp_path / f"{kind}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    config = parse_config(
        {
            "data": [{"path": str(path), "symbol": "X", "kind": kind}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "ticks"},
            "execution": {"fee_rate": 0.0, **execution},
        }
    )
    return run_backtest(config, strategy=OnTicks(actions))


def trades(*prices_sizes: tuple[float, float]) -> list[dict]:
    return [
        {"timestamp": (T0 + i * MS) // MS, "price": p, "amount": s, "side": "buy", "id": i}
        for i, (p, s) in enumerate(prices_sizes)
    ]


def quotes(*rows: tuple[float, float, float, float]) -> list[dict]:
    return [
        {"timestamp": (T0 + i * MS) // MS, "bid": b, "ask": a, "bid_size": bs, "ask_size": az}
        for i, (b, a, bs, az) in enumerate(rows)
    ]


def fills(result) -> list[tuple[int, float, float, str]]:
    return [
        ((f.ts_event - T0) // MS, f.price, f.quantity, f.liquidity) for f in result.recorder.fills
    ]


def test_market_order_fills_at_the_next_trade(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        trades((10.0, 5), (10.2, 5), (10.1, 5)),
        "trades",
        {0: [lambda ctx: ctx.buy("X", 3)]},
    )
    assert fills(result) == [(1, 10.2, 3.0, "taker")]
    assert result.portfolio.cash == pytest.approx(10_000 - 30.6)
    assert result.equity_curve.equity[-1] == pytest.approx(10_000 - 30.6 + 3 * 10.1)


def test_resting_limit_fills_at_limit_when_a_trade_prints_through(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        trades((10.0, 5), (9.95, 5), (9.89, 5), (9.7, 5)),
        "trades",
        {0: [lambda ctx: ctx.buy("X", 3, limit_price=9.9)]},
    )
    assert fills(result) == [(2, 9.9, 3.0, "maker")]


def test_marketable_limit_takes_on_arrival(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        trades((10.0, 5), (9.8, 5)),
        "trades",
        {0: [lambda ctx: ctx.buy("X", 3, limit_price=9.9)]},
    )
    assert fills(result) == [(1, 9.8, 3.0, "taker")]


def test_volume_participation_on_trades(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        trades((10.0, 4), (10.0, 4), (10.0, 4), (10.0, 4)),
        "trades",
        {0: [lambda ctx: ctx.buy("X", 5)]},
        volume_participation=0.5,
    )
    assert fills(result) == [
        (1, 10.0, 2.0, "taker"),
        (2, 10.0, 2.0, "taker"),
        (3, 10.0, 1.0, "taker"),
    ]


def test_stop_triggers_on_a_trade_and_fills_at_its_price(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        trades((10.0, 5), (10.1, 5), (10.6, 5)),
        "trades",
        {0: [lambda ctx: ctx.buy("X", 3, stop_price=10.5)]},
    )
    assert fills(result) == [(2, 10.6, 3.0, "taker")]


def test_quotes_buy_takes_the_ask_capped_by_displayed_size(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        quotes((9.9, 10.1, 5, 2), (9.9, 10.2, 5, 10)),
        "quotes",
        {0: [lambda ctx: ctx.buy("X", 3)]},
    )
    assert fills(result) == [(1, 10.2, 3.0, "taker")]


def test_quotes_depth_spreads_a_market_order(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        quotes((9.9, 10.1, 5, 2), (9.9, 10.1, 5, 2), (9.9, 10.3, 5, 5)),
        "quotes",
        {0: [lambda ctx: ctx.buy("X", 3)]},
    )
    assert fills(result) == [(1, 10.1, 2.0, "taker"), (2, 10.3, 1.0, "taker")]


def test_quotes_sell_takes_the_bid_and_limit_rests(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        quotes((9.9, 10.1, 5, 5), (9.8, 10.0, 5, 5), (10.3, 10.4, 5, 5)),
        "quotes",
        {0: [lambda ctx: ctx.sell("X", 2), lambda ctx: ctx.sell("X", 1, limit_price=10.2)]},
    )
    assert fills(result) == [(1, 9.8, 2.0, "taker"), (2, 10.2, 1.0, "maker")]
    assert result.portfolio.position_quantity("X") == -3


def test_real_trade_file_loads_and_runs(tmp_path: Path) -> None:
    frame = load_ticks("data/XRP_ETH_trades_20191011_20191013.csv", symbol="XRP/ETH", kind="trades")
    assert len(frame) == 12_477
    assert frame.columns["price"][0] == pytest.approx(0.00141342)
    side = OrderSide.BUY
    config = parse_config(
        {
            "account": {"initial_cash": 10.0, "currency": "ETH"},
            "data": [
                {"path": "data/XRP_ETH_trades_20191011_20191013.csv", "symbol": "XRP/ETH",
                 "kind": "trades"}
            ],
            "instruments": [{"symbol": "XRP/ETH", "lot_size": 1.0, "tick_size": 1e-8}],
            "strategy": {"path": "ticks"},
        }
    )  # fmt: skip
    result = run_backtest(
        config, strategy=OnTicks({10: [lambda ctx: ctx.submit_order("XRP/ETH", side, 100)]})
    )
    (fill,) = result.recorder.fills
    assert fill.price == pytest.approx(float(frame.columns["price"][11]))
    assert len(result.equity_curve) == len(set(frame.ts_ns.tolist()))


def test_bad_tick_data_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "q.csv"
    data.write_text("timestamp,bid,ask\n1700000000000,10.2,10.1\n")
    config = tmp_path / "q.toml"
    config.write_text(
        f'[[data]]\npath = "{data}"\nsymbol = "X"\nkind = "quotes"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
    )
    assert_one_line_error(kestrel("backtest", str(config), "--no-db"), "crossed quote")
