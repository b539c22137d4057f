"""A spot account's coins sold outside the node: reconciliation refuses to trade on coins the
wallet no longer holds, and says which outside trades it recorded (audit F2).

The audit's node held 0.51961 BTC, was killed, 0.3 BTC were sold by hand on the same
account, and the restart said "wallet matches" (the outside sale is an external fill, so
the wallet check passes by construction), restored 0.51961 BTC and cut its next exit to
the 0.22961 left, silently. Replay state: 100 closed hourly BTC/USDT bars, row 100 in
progress (open 18818.05); 10,000 USDT; the exchange's fee 0.1 % in USDT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.errors import ExchangeFatalError
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def start(local: Any, tmp_path: Path) -> OrderManager:
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms)
    exchange.load()
    lookup = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda _: None)
    store = RunStore(f"sqlite:///{tmp_path / 'live.db'}")
    return OrderManager(exchange, LiveLedger(store, "acct"), lookup)


def test_coins_sold_outside_the_node_refuse_the_restart_naming_both_quantities(
    local: Any, tmp_path: Path
) -> None:
    node = start(local, tmp_path)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.05))
    hand = node.exchange.exchange  # the same account, by hand, while the node is down
    hand.create_order("BTC/USDT", "market", "sell", 0.03, None, {"clientOrderId": "by-hand"})
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, tmp_path), INSTRUMENTS)
    message = str(refused.value)
    assert "\n" not in message
    assert "the node's own fills hold 0.05000000 BTC, the wallet holds 0.02000000 BTC" in message
    assert "outside trades of BTC: 1 (sold 0.03000000, bought 0.00000000)" in message
    assert "Refusing to trade" in message
    # bought back by hand: the node's coins are there again, the restart trades on
    hand.create_order("BTC/USDT", "market", "buy", 0.03, None, {"clientOrderId": "by-hand-2"})
    result = reconcile(start(local, tmp_path), INSTRUMENTS)
    assert result.mismatches == []
    assert [(f.side, f.quantity) for f in result.outside] == [("buy", 0.03)]
    assert "1 outside trade(s) recorded" in result.summary()


def test_outside_trades_a_reconciliation_records_are_counted(local: Any, tmp_path: Path) -> None:
    node = start(local, tmp_path)
    first = reconcile(node, INSTRUMENTS)
    assert first.outside == []
    assert "0 outside trade(s) recorded" in first.summary()
    hand = node.exchange.exchange
    hand.create_order("BTC/USDT", "market", "buy", 0.002, None, {"clientOrderId": "by-hand"})
    hand.create_order("BTC/USDT", "limit", "buy", 0.01, 18000.0, {"clientOrderId": "resting"})
    result = reconcile(start(local, tmp_path), INSTRUMENTS)
    assert [(f.client_id, f.side, f.quantity, f.price) for f in result.outside] == [
        ("external-1", "buy", 0.002, 18818.05),
    ]
    assert result.external == ["resting"]
    assert result.summary() == (
        "reconciled: 0 order(s) brought up to date, 1 external order(s) left alone, "
        "1 outside trade(s) recorded, wallet matches"
    )
    assert reconcile(start(local, tmp_path), INSTRUMENTS).outside == []  # recorded once
