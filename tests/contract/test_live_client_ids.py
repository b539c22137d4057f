"""Client order ids never repeat across run stores, and an exchange order is adopted as a
node order only if it is that order: same symbol, side and quantity (audit F3).

The audit started a fresh store under an account name another store already traded: its
ids hashed (account, session, order id) only, so its first orders went out under the first
store's ids; the exchange answered "Duplicate order sent" and the node adopted the first
store's orders (a buy of 1e-05 recorded as filled 0.0547 on a sell). Replay state: 100
closed hourly BTC/USDT bars, row 100 in progress (open 18818.05); 10,000 USDT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    ExchangeOrder,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus, OrderManager
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
BUY = OrderSpec("", "BTC/USDT", "buy", "market", 0.01)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def start(local: Any, db: Path, account: str = "acct") -> OrderManager:
    """A node starting on the store ``db``: reconciled, its first session begun."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms)
    exchange.load()
    lookup = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda _: None)
    manager = OrderManager(exchange, LiveLedger(RunStore(f"sqlite:///{db}"), account), lookup)
    reconcile(manager, INSTRUMENTS)
    manager.session = manager.ledger.begin_session()
    return manager


def test_a_second_store_under_the_same_account_name_sends_its_own_orders(
    local: Any, tmp_path: Path
) -> None:
    first = start(local, tmp_path / "first.db")
    assert [u.kind for u in first.submit("s-000001", "s", BUY)] == ["accepted", "filled"]
    other = start(local, tmp_path / "other.db")  # the same name, session 1 again
    assert other.session == first.session == 1
    sell = OrderSpec("", "BTC/USDT", "sell", "market", 0.005)
    updates = other.submit("s-000001", "s", sell)
    assert [u.kind for u in updates] == ["accepted", "filled"]
    assert [(o.side, o.quantity) for o in local.venue.orders.values()] == [
        ("BUY", 0.01),
        ("SELL", 0.005),
    ]  # its own order, not the first store's buy adopted as its sell
    ids = [o.client_id for o in local.venue.orders.values()]
    assert len(set(ids)) == 2
    assert other.ledger.get(ids[1]).filled_quantity == 0.005


def test_an_exchange_order_of_other_terms_under_the_client_id_is_not_adopted(
    local: Any, tmp_path: Path
) -> None:
    node = start(local, tmp_path / "k.db")
    hand = node.exchange.exchange
    create = node.exchange.create

    def taken_first(spec: OrderSpec) -> Any:
        # someone else's open order already holds the client id: a duplicate on Binance too
        hand.create_order("BTC/USDT", "limit", "buy", 0.02, 18000.0,
                          {"clientOrderId": spec.client_id})  # fmt: skip
        return create(spec)

    node.exchange.create = taken_first  # type: ignore[method-assign]
    updates = node.submit("s-000001", "s", BUY)
    assert [u.kind for u in updates] == ["rejected"]
    reason = updates[0].order.reason
    assert "a buy of 0.02 BTC/USDT (limit, exchange order 1)" in reason, reason
    assert "not this buy of 0.01 (market)" in reason, reason
    row = node.ledger.get(updates[0].order.client_id)
    assert (row.status, row.exchange_order_id, row.filled_quantity) == (
        LiveStatus.REJECTED, None, 0.0,
    )  # fmt: skip
    # The next start records the hand's order as external, not as the node's.
    node.exchange.create = create  # type: ignore[method-assign]
    result = reconcile(node, INSTRUMENTS)
    assert result.external == ["external-1"]
    foreign = node.ledger.get("external-1")
    assert (foreign.origin, foreign.exchange_order_id, foreign.quantity) == ("external", "1", 0.02)
    assert reconcile(node, INSTRUMENTS).external == []  # recorded once
    assert [o.client_id for o in node.ledger.orders(origin="node")] == [row.client_id]


def test_a_stream_report_of_another_order_under_a_bound_client_id_is_not_applied(
    local: Any, tmp_path: Path
) -> None:
    node = start(local, tmp_path / "k.db")
    resting = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18000.0)
    (accepted,) = node.submit("s-000001", "s", resting)
    row = node.ledger.get(accepted.order.client_id)
    other = ExchangeOrder(row.client_id, "99", "BTC/USDT", "sell", "market", 0.05, None,
                          "closed", 0.05, 18818.05, 1)  # fmt: skip
    assert node.owns(other) is None
    assert node.apply(other) == []
    assert node.ledger.get(row.client_id) == row
    same = ExchangeOrder(row.client_id, row.exchange_order_id or "", "BTC/USDT", "buy",
                         "limit", 0.01, 18000.0, "open", 0.0, None, 1)  # fmt: skip
    assert node.owns(same) == row


def test_an_account_created_before_the_nonce_gets_one_at_its_next_session(
    local: Any, tmp_path: Path
) -> None:
    import json

    from sqlalchemy import update

    from engine.persistence.schema import live_accounts
    from engine.runtime.live.clientids import client_order_id
    from engine.runtime.live.ledger import NONCE_KEY

    db = tmp_path / "old.db"
    node = start(local, db)
    store = node.ledger.store
    wallet = node.ledger.baseline().wallet  # the baseline as an older release wrote it
    store.transact("an older account", lambda c: c.execute(
        update(live_accounts).values(baseline_json=json.dumps(wallet))))  # fmt: skip
    old = LiveLedger(store, "acct")
    assert old.client_nonce() is None
    assert old.baseline().wallet == wallet
    session = old.begin_session()
    nonce = old.client_nonce()
    assert nonce is not None
    assert nonce == LiveLedger(store, "acct").client_nonce()
    assert old.baseline().wallet == wallet  # the wallet kept beside it
    assert NONCE_KEY not in old.baseline().wallet
    legacy = client_order_id("acct", "s-000001", session)
    assert client_order_id("acct", "s-000001", session, nonce) != legacy
