"""Parity: the node with the live venue, trading through ccxt on the local exchange, makes the
backtest's orders at the backtest's prices and ends with its cash and equity (issue 15).

The SMA crossover (half the equity per entry, or all of it, no slippage) is backtested over
~470 hourly bars; then a `TradingNode` in the live mode
(`engine.runtime.live.venue.live_mode`) is fed the same bars, each once the local exchange
has closed it — so a market order decided on a bar fills at the next bar's open, the
backtest's ``next_open`` rule. Fills are compared field by field (prices to the cent as the
exchange sends them, fees to 1e-8: Binance's 8-decimal strings). All in, each buy costs more
than the cash once the fee (and a higher open) is added: the backtest's cash account cuts it
at the fill (``cash_shortfall = "reduce"``), the live venue before sending it, at the ask
the market order meets — the next bar's open here — so the quantities must agree to the lot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from engine.config import RunConfig
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.runtime.backtest import BacktestResult, iter_bars
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.checkpoint import Checkpoint
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.venue import live_mode
from engine.runtime.node import TradingNode
from engine.strategy import Strategy
from tests.contract.conftest import BTC, BTC_CSV, SECRET

END = "2020-12-20"


@pytest.mark.parametrize("target_percent", [0.5, 1.0])
def test_live_node_trades_like_the_backtest(tmp_path: Path, target_percent: float) -> None:
    config = parity_config(
        {
            "path": "strategies.sma_cross:SmaCross",
            "params": {"fast": 5, "slow": 20, "target_percent": target_percent},
        }
    )
    backtest = run_backtest(config)
    assert len(backtest.recorder.fills) >= 6
    node, wallet, _ = run_live(config, tmp_path)
    assert_same(backtest, node, wallet)


def parity_config(strategy: dict[str, Any]) -> RunConfig:
    """Return the BTC/USDT 1h run to `END` (10,000 USDT, fee 0.1 %, no slippage)."""
    return parse_config(
        {
            "run": {"name": "parity"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": str(BTC_CSV), "symbol": "BTC/USDT", "end": END}],
            "instruments": [
                {"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001,
                 "min_quantity": 0.00001, "min_notional": 10.0}
            ],
            "strategy": strategy,
            "execution": {"fee_rate": 0.001, "slippage_bps": 0.0},
        }
    )  # fmt: skip


def assert_same(
    backtest: BacktestResult, node: TradingNode, wallet: dict[str, tuple[float, float]]
) -> None:
    """Assert the live node made the backtest's fills and ended with its cash and equity.

    Fills field by field: prices to the cent as the exchange sends them, fees to 1e-8
    (Binance's 8-decimal strings); the exchange's USDT agrees with the backtest's cash.
    """
    filled, expected = node.kernel.recorder.fills, backtest.recorder.fills
    assert [(f.order_id, f.side, f.quantity) for f in filled] == [
        (f.order_id, f.side, f.quantity) for f in expected
    ]
    for got, want in zip(filled, expected, strict=True):
        assert got.price == pytest.approx(want.price, abs=1e-9)
        assert got.fee == pytest.approx(want.fee, abs=1e-8)
    portfolio, reference = node.kernel.portfolio, backtest.portfolio
    assert portfolio.cash == pytest.approx(reference.cash, abs=1e-6)
    assert portfolio.equity() == pytest.approx(reference.equity, abs=1e-6)
    assert wallet["USDT"][1] == pytest.approx(reference.cash, abs=1e-6)


def run_live(
    config: RunConfig,
    tmp_path: Path,
    strategy: Strategy | None = None,
    *,
    checkpointed: bool = False,
) -> tuple[TradingNode, dict[str, tuple[float, float]], LocalExchange]:
    """Run ``config``'s bars (to `END`) through a live node trading on a local exchange.

    Each bar reaches the node once the exchange has closed it (and opened the next). With
    ``checkpointed`` the node commits each bar's checkpoint (equity row, the bar) to account
    ``p`` as ``kestrel live`` does. Returns the stopped node, the exchange's final wallet and
    the (stopped) exchange.
    """
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
        node = TradingNode(config, clock=clock, strategy=strategy, mode=live_mode(manager))
        checkpoint = None
        if checkpointed:
            node.start()
            checkpoint = Checkpoint(node, manager.ledger, manager.ledger.begin_session())
            checkpoint.start()
        for bar in iter_bars([frame]):
            while local.replay.now_ms * 1_000_000 < bar.ts_event and not local.replay.finished:
                local.advance(1)  # the bar closes at the exchange, the next one opens
            node.on_event(bar)
            if checkpoint is not None:
                checkpoint.after_bar(bar)
        node.stop()
        return node, exchange.balances(), local
    finally:
        local.stop()
