"""Reconciliation against the local exchange: crashes, fills while down, external orders and
a wallet the store cannot explain (issue 15). Each "restart" is a new manager on the same store.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05, low
18800); 10,000 USDT.
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
from engine.runtime.live import LiveLedger, LiveOrder, LiveStatus, OrderManager
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
RESTING = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18810.0)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def start(local: Any, store: RunStore) -> OrderManager:
    """A node (re)starting: a new client and manager over the same store."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms)
    exchange.load()
    lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
    return OrderManager(exchange, LiveLedger(store, "acct"), lookup)


def test_a_new_account_records_its_baseline_and_matches(local: Any, store: RunStore) -> None:
    result = reconcile(start(local, store), INSTRUMENTS)
    assert (result.adopted, result.external, result.mismatches) == ([], [], [])
    assert result.actual == {"BTC": 0.0, "USDT": 10000.0}
    assert LiveLedger(store, "acct").baseline().wallet == {"USDT": 10000.0}


def test_crash_after_acceptance_before_the_local_write_is_adopted(
    local: Any, store: RunStore
) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    client_id = node.client_id("s-000001")
    # The row is written, the exchange accepts and fills, the node dies before the answer.
    node.ledger.insert(
        LiveOrder(client_id, "s-000001", "s", "BTC/USDT", "buy", "market", 0.01, None, "GTC",
                  LiveStatus.SENDING, ts_created=wall_clock_ms(), ts_last=0)
    )  # fmt: skip
    node.exchange.exchange.create_order(
        "BTC/USDT", "market", "buy", 0.01, None, {"clientOrderId": client_id}
    )
    result = reconcile(start(local, store), INSTRUMENTS)
    assert result.adopted == [client_id]
    assert [u.kind for u in result.updates] == ["accepted", "filled"]
    record = LiveLedger(store, "acct").get(client_id)
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    assert result.actual["BTC"] == pytest.approx(0.01)
    assert len(local.venue.orders) == 1


def test_a_fill_while_the_node_was_down_is_recorded(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", RESTING)
    local.advance(1)  # the limit fills at 18810 while nobody watches
    result = reconcile(start(local, store), INSTRUMENTS)
    assert [u.kind for u in result.updates] == ["filled"]
    assert (result.updates[0].fill.quantity, result.updates[0].fill.price) == (0.01, 18810.0)
    record = LiveLedger(store, "acct").get(node.client_id("s-000001"))
    assert record.status is LiveStatus.FILLED
    assert result.expected["USDT"] == pytest.approx(10000 - 188.1 - 0.1881)


def test_a_partial_fill_at_restart_is_seen_as_partial(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    local.inject("partial", count=1, fraction=0.25)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "limit", 0.02, 18810.0))
    local.advance(1)
    result = reconcile(start(local, store), INSTRUMENTS)
    record = LiveLedger(store, "acct").get(node.client_id("s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.PARTIALLY_FILLED, 0.005)
    assert [u.kind for u in result.updates] == ["filled"]
    assert result.actual["BTC"] == pytest.approx(0.005)


def test_an_order_placed_by_hand_is_external_and_left_alone(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    hand = node.exchange.exchange
    hand.create_order("BTC/USDT", "limit", "buy", 0.01, 18000.0, {"clientOrderId": "by-hand"})
    hand.create_order("BTC/USDT", "market", "buy", 0.001, None, {"clientOrderId": "by-hand-2"})
    result = reconcile(start(local, store), INSTRUMENTS)
    assert result.external == ["by-hand"]
    ledger = LiveLedger(store, "acct")
    assert ledger.get("by-hand").origin == "external"
    assert ledger.orders() == []  # not the node's: never refreshed, canceled or counted
    assert [o.client_id for o in node.exchange.open_orders("BTC/USDT")] == ["by-hand"]
    assert result.actual["BTC"] == pytest.approx(0.001)  # its fill is explained, not a mismatch
    assert [f.client_id for f in ledger.fills()] == ["external-2"]


def test_a_wallet_the_store_cannot_explain_refuses_to_trade(local: Any, store: RunStore) -> None:
    reconcile(start(local, store), INSTRUMENTS)
    local.venue.free["USDT"] -= 500.0  # a withdrawal the node knows nothing of
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, store), INSTRUMENTS)
    message = str(refused.value)
    assert "USDT: the exchange holds 9500.00000000, the store expects 10000.00000000" in message
    assert "(difference -500.00000000)" in message
    assert "Refusing to trade" in message
    assert "\n" not in message


def test_the_kill_switch_cancels_sells_what_the_node_bought_and_halts(
    local: Any, store: RunStore
) -> None:
    from engine.runtime.live.kill import flatten_and_halt, node_positions

    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.02))
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18000.0))
    hand = node.exchange.exchange  # someone else's BTC and order: not the node's to sell
    hand.create_order("BTC/USDT", "market", "buy", 0.005, None, {"clientOrderId": "by-hand"})
    assert node_positions(node.ledger, INSTRUMENTS) == {"BTC/USDT": 0.02}
    updates = flatten_and_halt(node, INSTRUMENTS)
    assert [(u.kind, u.order.order_id) for u in updates] == [
        ("canceled", "s-000002"),
        ("accepted", "kill-1"),
        ("filled", "kill-1"),
    ]
    assert updates[2].fill.quantity == 0.02
    assert node_positions(node.ledger, INSTRUMENTS) == {"BTC/USDT": 0.0}
    assert local.venue.free["BTC"] == pytest.approx(0.005)  # the hand-bought BTC stays
    with pytest.raises(ExchangeFatalError, match="halted: stopped by the kill switch"):
        node.submit("s-000003", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))


def test_a_restarted_node_numbering_its_orders_afresh_sends_new_orders(
    local: Any, store: RunStore
) -> None:
    first = start(local, store)
    reconcile(first, INSTRUMENTS)
    first.session = first.ledger.begin_session()
    first.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))
    second = start(local, store)
    reconcile(second, INSTRUMENTS)
    second.session = second.ledger.begin_session()
    assert (first.session, second.session) == (1, 2)
    updates = second.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.01))
    assert [u.kind for u in updates] == ["accepted", "filled"]  # a new order, not the old one
    assert [o.side for o in local.venue.orders.values()] == ["BUY", "SELL"]


# -- outside fills: recorded once by trade id, whatever their time (audit F3) ---------------
# The replay clock: row 100 opens at 1607140800000, row 101 at 1607144400000, row 102 at
# 1607148000000 (open 18955.83). The exchange's fee is 0.1 % in USDT.


def _reconciled(local: Any, store: RunStore) -> tuple[OrderManager, Any]:
    """Return a node reconciled once, and the hand placing orders on its account (ccxt)."""
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    return node, node.exchange.exchange


def test_an_external_orders_fill_older_than_the_nodes_last_is_recorded_once(
    local: Any, store: RunStore
) -> None:
    node, hand = _reconciled(local, store)
    hand.create_order("BTC/USDT", "limit", "buy", 0.01, 18805.0, {"clientOrderId": "by-hand"})
    assert reconcile(start(local, store), INSTRUMENTS).external == ["by-hand"]
    local.advance(1)  # row 100's low (18800) fills it at 18805, at 1607144400000
    local.advance(1)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))  # 18955.83
    ledger = LiveLedger(store, "acct")
    assert ledger.last_fill_ms() == 1607148000000  # the node's fill: newer than the outside one
    for _ in range(2):  # a restart, then another: recorded once
        result = reconcile(start(local, store), INSTRUMENTS)
        assert [(f.client_id, f.quantity, f.price, f.fee, f.ts_event) for f in ledger.fills()] == [
            ("by-hand", 0.01, 18805.0, pytest.approx(0.18805), 1607144400000),
            (node.client_id("s-000001"), 0.01, 18955.83, pytest.approx(0.1895583),
             1607148000000),
        ]  # fmt: skip
        # 10,000 - 0.01 x 18,805 x 1.001 - 0.01 x 18,955.83 x 1.001
        assert result.expected == pytest.approx({"BTC": 0.02, "USDT": 9622.0140917})
        assert result.actual == pytest.approx(result.expected)
    row = ledger.get("by-hand")
    assert (row.status, row.filled_quantity, row.average_price) == (
        LiveStatus.FILLED,
        0.01,
        18805.0,
    )


def test_an_outside_order_never_seen_open_between_the_nodes_fills_is_recorded_once(
    local: Any, store: RunStore
) -> None:
    node, hand = _reconciled(local, store)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))  # 18818.05
    local.advance(1)  # the hand's order is placed and filled while the node runs: 0.002 at 18863.90
    placed = hand.create_order("BTC/USDT", "market", "buy", 0.002, None, {"clientOrderId": "h"})
    local.advance(1)
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.01))  # 18955.83
    for _ in range(2):
        result = reconcile(start(local, store), INSTRUMENTS)
        outside = [f for f in LiveLedger(store, "acct").fills() if f.client_id.startswith("ext")]
        assert [(f.client_id, f.quantity, f.price) for f in outside] == [
            (f"external-{placed['id']}", 0.002, 18863.90)
        ]
        # 10,000 - 188.1805 x 1.001 - 37.7278 x 1.001 + 189.5583 x 0.999
        assert result.expected == pytest.approx({"BTC": 0.002, "USDT": 9963.2345334})
        assert result.actual == pytest.approx(result.expected)


def test_a_partly_filled_external_order_then_canceled_by_hand_is_followed(
    local: Any, store: RunStore
) -> None:
    _, hand = _reconciled(local, store)
    local.inject("partial", count=1, fraction=0.25)
    hand.create_order("BTC/USDT", "limit", "buy", 0.02, 18805.0, {"clientOrderId": "by-hand"})
    reconcile(start(local, store), INSTRUMENTS)
    local.advance(1)  # 0.005 of it fills at 18805
    ledger = LiveLedger(store, "acct")
    reconcile(start(local, store), INSTRUMENTS)
    row = ledger.get("by-hand")
    assert (row.status, row.filled_quantity) == (LiveStatus.PARTIALLY_FILLED, 0.005)
    hand.cancel_order(None, "BTC/USDT", {"origClientOrderId": "by-hand"})
    result = reconcile(start(local, store), INSTRUMENTS)
    row = ledger.get("by-hand")
    assert (row.status, row.filled_quantity, row.average_price) == (
        LiveStatus.CANCELED, 0.005, 18805.0,
    )  # fmt: skip
    assert [(f.client_id, f.quantity) for f in ledger.fills()] == [("by-hand", 0.005)]
    assert result.expected == pytest.approx({"BTC": 0.005, "USDT": 10000 - 94.025 * 1.001})


def test_the_window_of_trades_is_read_page_by_page(local: Any, store: RunStore) -> None:
    _, hand = _reconciled(local, store)
    for _ in range(5):  # five outside buys of 0.001, one per bar
        hand.create_order("BTC/USDT", "market", "buy", 0.001)
        local.advance(1)
    later = start(local, store)
    everything = later.exchange.my_trades

    def two_a_page(
        symbol: str, since_ms: int | None = None, order: str | None = None, from_id: Any = None
    ) -> Any:
        return everything(symbol, since_ms, order, from_id)[:2]  # the oldest two from there

    later.exchange.my_trades = two_a_page  # type: ignore[method-assign]
    result = reconcile(later, INSTRUMENTS)
    assert len(LiveLedger(store, "acct").fills()) == 5
    assert result.expected["BTC"] == pytest.approx(0.005) == result.actual["BTC"]


def test_the_window_starts_a_bar_before_the_latest_sessions_first_bar(
    local: Any, store: RunStore
) -> None:
    from engine.model import Bar
    from engine.runtime.live.reconcile import window_start

    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    ledger = node.ledger
    baseline = ledger.baseline()
    assert window_start(ledger, baseline) == baseline.at_ms  # no bars stored: the baseline
    hour = 3_600_000_000_000

    def bar(close_ms: int) -> Bar:
        ns = close_ms * 1_000_000
        return Bar("BTC/USDT", ns, ns, 1.0, 1.0, 1.0, 1.0, 1.0, hour)

    ledger.checkpoint("s", bars=[bar(1607148000000), bar(1607151600000)], session=1)
    assert window_start(ledger, baseline) == baseline.at_ms  # never before the baseline
    ledger.checkpoint("s", bars=[bar(1607166000000), bar(1607169600000)], session=2)
    assert window_start(ledger, baseline) == 1607166000000 - 2 * 3_600_000  # 1607158800000
