"""Parity of a perpetual: a strategy going long and short run as a backtest and as a live node
trading Binance USDⓈ-M through ccxt on the local exchange gives the same fills, cash and
equity, funding included (issue 15: positions for derivatives).

The config declares the perpetual as a backtest does, with a ``[[data]] funding`` series (8-
hourly rates of alternating sign); the local exchange pays the same rates from the same file
(`engine.adapters.local.futures`). `LongShort` holds 0.1 BTC long after a rising bar and
short after a falling one, closing before it turns (the closes go out ``reduceOnly``). Each
bar reaches the node once the exchange has closed it, so market orders fill at the next
open on both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine import parse_config, run_backtest
from engine.adapters.ccxt.algo import AlgoExchange
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.adapters.local import LocalExchange
from engine.clock import SimClock
from engine.config import RunConfig
from engine.feeds import load_bars
from engine.model import Bar, OrderSide
from engine.persistence import RunStore
from engine.portfolio.accounts import load_funding_rates
from engine.runtime.backtest import iter_bars
from engine.runtime.live import LiveLedger, LiveOrder, LiveStatus, OrderManager, client_order_id
from engine.runtime.live.perpetuals import perpetual_symbols, prepare_perpetuals
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.restore import absorb, check_agrees, restore
from engine.runtime.live.venue import LiveVenue, live_mode
from engine.runtime.node import TradingNode
from engine.strategy import Strategy
from tests.contract.conftest import BTC, BTC_CSV, SECRET
from tests.integration.long_short import LongShort, LongShortParams

END = "2020-12-20"
SYMBOL = "BTC/USDT"


def long_short(flat_from_ns: int) -> LongShort:
    """Return `LongShort` trading 0.1 BTC, flat from the bar closing at ``flat_from_ns`` on:
    the local exchange never closes its last bar (`engine.adapters.local.replay`), so the
    run ends flat at the second-to-last bar's decision, filled at the last bar's open on
    both sides."""
    return LongShort(LongShortParams(quantity=0.1, flat_from_ns=flat_from_ns))


def funding_file(folder: Path) -> Path:
    """Write 8-hourly funding rates over the run: +0.01 %, -0.005 %, alternating."""
    times = pd.date_range("2020-12-01", END, freq="8h", tz="UTC")
    rates = [0.0001 if i % 2 == 0 else -0.00005 for i in range(len(times))]
    path = folder / "funding.csv"
    pd.DataFrame({"timestamp": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "rate": rates}).to_csv(
        path, index=False
    )
    return path


def perpetual_config(funding: Path) -> RunConfig:
    return parse_config(
        {
            "run": {"name": "perp"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT", "leverage": 3},
            "data": [{"path": str(BTC_CSV), "symbol": SYMBOL, "end": END,
                      "funding": str(funding)}],
            "instruments": [
                {"symbol": SYMBOL, "tick_size": 0.01, "lot_size": 0.00001,
                 "min_quantity": 0.00001, "min_notional": 10.0}
            ],
            "strategy": {"path": "unused:Unused", "id": "ls"},
            "execution": {"fee_rate": 0.0004, "slippage_bps": 0.0},
        }
    )  # fmt: skip


def perpetual_venue(local: LocalExchange, config: RunConfig) -> CcxtExchange:
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
        perpetual=True,
    )  # fmt: skip
    client.enableRateLimit = False  # `kestrel live`'s exchange: stops as algo orders
    return AlgoExchange(client, RetryPolicy(attempts=2, backoff_s=0.0), wall_clock_ms,
                        perpetuals=perpetual_symbols(config))  # fmt: skip


def run_live_perpetual(
    config: RunConfig, funding: Path, store: Path, strategy: Strategy | None = None
) -> dict[str, Any]:
    """Run the config's bars through a live node on a local perpetuals exchange
    (``strategy``: `long_short`'s by default)."""
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    local = LocalExchange(
        [frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=0, fee_rate=0.0004,
        perpetual=True, funding={SYMBOL: load_funding_rates(funding)},
    )  # fmt: skip
    local.start()
    try:
        exchange = perpetual_venue(local, config)
        assert prepare_perpetuals(exchange, config) == 3
        manager = OrderManager(exchange, LiveLedger(RunStore(f"sqlite:///{store}"), "perp"))
        reconcile(manager, {SYMBOL: BTC})
        clock = SimClock(int(frame.ts_close_ns[0]) - 3_600 * 10**9)
        strategy = strategy or long_short(int(frame.ts_close_ns[-2]))
        node = TradingNode(config, clock=clock, strategy=strategy, mode=live_mode(manager))
        for bar in iter_bars([frame]):
            while local.replay.now_ms * 1_000_000 < bar.ts_event and not local.replay.finished:
                local.advance(1)
            node.on_event(bar)
        node.stop()
        reconciled = reconcile(manager, {SYMBOL: BTC})  # the position agrees with the store
        return {
            "node": node,
            "local": local,
            "account": local.venue.account_json(),  # type: ignore[attr-defined]
            "position": exchange.positions([SYMBOL])[SYMBOL].quantity,
            "reconciled": reconciled,
            "orders": manager.ledger.orders(),
        }
    finally:
        local.stop()


def test_a_long_short_perpetual_trades_live_as_in_the_backtest(tmp_path: Path) -> None:
    funding = funding_file(tmp_path)
    config = perpetual_config(funding)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    backtest = run_backtest(config, strategy=long_short(int(frame.ts_close_ns[-2])))
    expected = backtest.recorder.fills
    assert len(expected) >= 50
    assert {f.side for f in expected} == {OrderSide.BUY, OrderSide.SELL}
    assert backtest.portfolio.cash_flows != 0.0  # funding was paid and received
    live = run_live_perpetual(config, funding, tmp_path / "live.db")
    node = live["node"]
    filled = node.kernel.recorder.fills
    assert [(f.order_id, f.side, f.quantity) for f in filled] == [
        (f.order_id, f.side, f.quantity) for f in expected
    ]
    for got, want in zip(filled, expected, strict=True):
        assert got.price == pytest.approx(want.price, abs=1e-9)
        assert got.fee == pytest.approx(want.fee, abs=1e-8)
    portfolio, reference = node.kernel.portfolio, backtest.portfolio
    assert portfolio.cash == pytest.approx(reference.cash, abs=1e-6)
    assert portfolio.equity() == pytest.approx(reference.equity, abs=1e-6)
    # the exchange: its margin balance (wallet + unrealized) is the backtest's equity, its
    # wallet the initial cash + realized PnL - fees + funding, its position the backtest's
    usdt = live["account"]["assets"][0]
    assert float(usdt["marginBalance"]) == pytest.approx(reference.equity, abs=1e-6)
    position = reference.positions[SYMBOL]
    wallet = 10_000.0 + position.realized_pnl - position.fees + reference.cash_flows
    assert float(usdt["walletBalance"]) == pytest.approx(wallet, abs=1e-6)
    assert live["position"] == position.quantity == 0.0  # closed on the last open
    assert live["reconciled"].actual[f"position {SYMBOL}"] == pytest.approx(position.quantity)
    # every close went out reduce-only, every open without it
    reduce = [o.reduce_only for o in live["local"].venue.orders.values()]
    assert reduce == [False, True] * (len(expected) // 2)


def test_a_killed_node_restarts_with_its_short_and_sends_nothing_twice(tmp_path: Path) -> None:
    """Node A trades 120 bars and dies (no stop) while a short it sent is accepted but not
    written back; node B restores, reconciles, adopts it and trades on to the end."""
    funding = funding_file(tmp_path)
    config = perpetual_config(funding)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    local = LocalExchange(
        [frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=0, fee_rate=0.0004,
        perpetual=True, funding={SYMBOL: load_funding_rates(funding)},
    )  # fmt: skip
    local.start()
    store = RunStore(f"sqlite:///{tmp_path / 'live.db'}")
    bars = list(iter_bars([frame]))

    def boot() -> tuple[TradingNode, OrderManager, Any]:
        exchange = perpetual_venue(local, config)
        prepare_perpetuals(exchange, config)
        manager = OrderManager(exchange, LiveLedger(store, "perp"))
        clock = SimClock(int(frame.ts_close_ns[0]) - 3_600 * 10**9)
        strategy = long_short(int(frame.ts_close_ns[-2]))
        node = TradingNode(config, clock=clock, strategy=strategy, mode=live_mode(manager))
        restore(node, manager, {SYMBOL: BTC})
        result = reconcile(manager, {SYMBOL: BTC})
        manager.session = manager.ledger.begin_session()
        node.start()
        venue = node.kernel.venue
        assert isinstance(venue, LiveVenue)
        node.deliver(lambda: venue.report(result.updates))
        absorb(node, result.updates, {SYMBOL: BTC})
        return node, manager, check_agrees(node, manager, {SYMBOL: BTC})

    def feed(node: TradingNode, chunk: list[Bar]) -> None:
        for bar in chunk:
            while local.replay.now_ms * 1_000_000 < bar.ts_event and not local.replay.finished:
                local.advance(1)
            node.on_event(bar)

    try:
        node, manager, _ = boot()
        feed(node, bars[:120])
        before = node.kernel.portfolio.positions[SYMBOL].quantity
        # dies between writing a short's row and reading the exchange's answer
        client_id = client_order_id("perp", "ls-999999", manager.session)
        manager.ledger.insert(
            LiveOrder(client_id, "ls-999999", "ls", SYMBOL, "sell", "market", 0.05, None, "GTC",
                      LiveStatus.SENDING, ts_created=wall_clock_ms(), ts_last=0)
        )  # fmt: skip
        manager.exchange.exchange.create_order(
            "BTC/USDT:USDT", "market", "sell", 0.05, None, {"clientOrderId": client_id}
        )
        del node, manager  # SIGKILL: no stop, nothing flushed
        node, manager, positions = boot()
        at_exchange = manager.exchange.positions([SYMBOL])[SYMBOL].quantity
        assert positions[SYMBOL] == pytest.approx(before - 0.05, abs=1e-12)
        assert node.kernel.portfolio.positions[SYMBOL].quantity == pytest.approx(at_exchange)
        assert manager.ledger.get(client_id).status is LiveStatus.FILLED
        feed(node, bars[120:])
        node.stop()
        reconcile(manager, {SYMBOL: BTC})  # still agrees at the end
        sent = [o.client_id for o in local.venue.orders.values()]
        assert len(sent) == len(set(sent)) == len(manager.ledger.orders(origin="node"))
        assert node.kernel.portfolio.positions[SYMBOL].quantity == pytest.approx(
            manager.exchange.positions([SYMBOL])[SYMBOL].quantity, abs=1e-12
        )
    finally:
        local.stop()
