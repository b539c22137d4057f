"""The local exchange fills a strategy's orders exactly as the backtest does.

The SMA demo is backtested without slippage; then every order it made is sent through real
ccxt to the local exchange replaying the same bars, at the moment the strategy decided it
(the close of its decision bar). Each fill must have the backtest's price and fee, and the
account must end with the backtest's cash — the fill semantics are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from tests.contract.conftest import BTC, BTC_CSV, SECRET, ccxt_client
from tests.integration.conftest import CliRunner

END = "2021-01-15"  # about 1,100 bars: enough crossovers (a few dozen orders), quick


def test_market_orders_fill_like_the_backtest(kestrel: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(out),
        "--set", "execution.slippage_bps=0.0", "--set", f'data.0.end="{END}"',
    )  # fmt: skip
    assert result.code == 0, result.err
    fills = pd.read_csv(out / "fills.csv")
    equity = pd.read_csv(out / "equity.csv")
    assert len(fills) >= 10

    frame = load_bars(BTC_CSV, symbol="BTC/USDT", end=END)
    exchange = LocalExchange(
        [frame], {"BTC/USDT": BTC}, secret=SECRET, paused=True, history=0,
        balances={"USDT": 10_000.0}, fee_rate=0.001,
    )  # fmt: skip
    exchange.start()
    try:
        client = ccxt_client(exchange)
        client.load_markets()
        for number, fill in enumerate(fills.itertuples(), start=1):
            decided_ms = int(pd.Timestamp(fill.ts_event).timestamp() * 1000)
            while exchange.replay.now_ms < decided_ms:
                exchange.advance(1)
            assert exchange.replay.now_ms == decided_ms
            client_id = f"parity-{number}"
            client.create_order(
                "BTC/USDT", "market", fill.side, fill.quantity, params={"clientOrderId": client_id}
            )
            by_id = {"origClientOrderId": client_id}
            order: dict[str, Any] = client.fetch_order(None, "BTC/USDT", params=by_id)
            if order["status"] == "open":  # decided before a gap: fills at the next open
                exchange.advance(1)
                order = client.fetch_order(None, "BTC/USDT", params=by_id)
            assert order["status"] == "closed", fill
            assert order["average"] == pytest.approx(fill.price, rel=1e-12), fill
            trades = client.fetch_my_trades("BTC/USDT", params={"orderId": order["id"]})
            # Binance sends amounts as 8-decimal strings: equal to the backtest's to 1e-8.
            assert sum(t["fee"]["cost"] for t in trades) == pytest.approx(fill.fee, abs=1e-8)
        balance = client.fetch_balance()
    finally:
        exchange.stop()
    assert balance["USDT"]["total"] == pytest.approx(float(equity["cash"].iloc[-1]), abs=1e-6)
    assert balance["BTC"]["total"] == pytest.approx(
        fills.quantity.where(fills.side == "buy", -fills.quantity).sum(), abs=1e-9
    )
