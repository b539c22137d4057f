"""A live account on USDⓈ-M perpetuals against the local exchange: reconciliation of the
position, restarts, the live venue's reduce-only rule and the kill switch (issue 15).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05, low
18800); a 10,000 USDT futures wallet. Each "restart" is a new manager on the same store.
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
from engine.bus import EventBus
from engine.clock import SimClock
from engine.errors import ExchangeFatalError
from engine.feeds import load_bars
from engine.model import OrderRequested, OrderSide, OrderType, TimeInForce
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveOrder, LiveStatus, OrderManager
from engine.runtime.live.kill import flatten_and_halt
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.venue import LiveVenue
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
OPEN = 18818.05


@pytest.fixture
def local() -> Any:
    from engine.adapters.local import LocalExchange

    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange([frame], INSTRUMENTS, secret=SECRET, paused=True, history=100,
                             fee_rate=0.0004, perpetual=True)  # fmt: skip
    exchange.start()
    yield exchange
    exchange.stop()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def start(local: Any, store: RunStore) -> OrderManager:
    """A node (re)starting: a new client and manager over the same store."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
        perpetual=True,
    )  # fmt: skip
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms,
                            perpetuals=["BTC/USDT"])  # fmt: skip
    exchange.load()
    lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
    return OrderManager(exchange, LiveLedger(store, "acct"), lookup)


def position(local: Any) -> float:
    return float(local.venue.positions["BTC/USDT"].amount)


def test_a_position_opened_before_the_node_is_its_baseline(local: Any, store: RunStore) -> None:
    hand = start(local, store).exchange
    hand.create(OrderSpec("by-hand", "BTC/USDT", "sell", "market", 0.03))
    result = reconcile(start(local, store), INSTRUMENTS)
    assert result.actual["position BTC/USDT"] == result.expected["position BTC/USDT"] == -0.03
    assert "BTC" not in result.actual  # no base asset in a futures wallet is compared
    assert LiveLedger(store, "acct").baseline().wallet["BTC/USDT:USDT"] == -0.03
    node = start(local, store)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.05))
    assert reconcile(start(local, store), INSTRUMENTS).actual["position BTC/USDT"] == (
        pytest.approx(0.02)
    )


def test_a_position_the_trades_do_not_explain_refuses_to_trade(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.05))
    local.venue.positions["BTC/USDT"].amount = -0.02  # an ADL: no trade of the account's
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, store), INSTRUMENTS)
    message = str(refused.value)
    assert (
        "BTC/USDT (perpetual): the exchange holds a position of -0.02000000, the store "
        "expects -0.05000000 (difference +0.03000000)" in message
    )
    assert "Refusing to trade" in message
    assert "\n" not in message


def test_restart_adopts_an_order_accepted_and_a_fill_while_down(
    local: Any, store: RunStore
) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    resting = node.submit(
        "s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "limit", 0.02, 18900.0)
    )
    assert [u.kind for u in resting] == ["accepted"]
    # crash after the exchange accepted a short and before the row was written back
    client_id = node.client_id("s-000002")
    node.ledger.insert(
        LiveOrder(client_id, "s-000002", "s", "BTC/USDT", "sell", "market", 0.01, None, "GTC",
                  LiveStatus.SENDING, ts_created=wall_clock_ms(), ts_last=0)
    )  # fmt: skip
    node.exchange.exchange.create_order(
        "BTC/USDT:USDT", "market", "sell", 0.01, None, {"clientOrderId": client_id}
    )
    local.advance(1)  # row 100 closes through 18900: the resting short fills while down
    assert position(local) == pytest.approx(-0.03)
    result = reconcile(start(local, store), INSTRUMENTS)
    assert sorted(result.adopted) == sorted([client_id, node.client_id("s-000001")])
    assert result.actual["position BTC/USDT"] == pytest.approx(-0.03)
    ledger = LiveLedger(store, "acct")
    assert {o.status for o in ledger.orders()} == {LiveStatus.FILLED}
    assert len(local.venue.orders) == 2  # nothing sent twice
    assert reconcile(start(local, store), INSTRUMENTS).adopted == []  # idempotent


def request(number: int, side: OrderSide, quantity: float, reduce_only: bool) -> OrderRequested:
    return OrderRequested(
        f"s-{number:06d}", "s", "BTC/USDT", side, quantity, OrderType.MARKET, None, None,
        TimeInForce.GTC, 1, 1, reduce_only=reduce_only,
    )  # fmt: skip


def test_the_venue_never_closes_more_than_the_position(local: Any, store: RunStore) -> None:
    manager = start(local, store)
    reconcile(manager, INSTRUMENTS)
    events: list[Any] = []
    bus = EventBus()
    bus.subscribe_all(events.append)
    venue = LiveVenue(bus, SimClock(5), manager, INSTRUMENTS)
    venue.submit(request(1, OrderSide.BUY, 0.04, reduce_only=True))  # flat: nothing to reduce
    assert [type(e).__name__ for e in events] == ["OrderRejected"]
    assert "nothing to reduce: the BTC/USDT position at the exchange is 0" in events[0].reason
    venue.submit(request(2, OrderSide.SELL, 0.04, reduce_only=False))  # opens a short
    assert position(local) == pytest.approx(-0.04)
    events.clear()
    venue.submit(request(3, OrderSide.BUY, 0.1, reduce_only=True))  # cut to the position
    assert [type(e).__name__ for e in events] == ["OrderModified", "OrderAccepted", "OrderFilled"]
    assert events[0].quantity == pytest.approx(0.04)
    assert position(local) == 0.0
    venue.submit(request(4, OrderSide.BUY, 0.05, reduce_only=False))  # long 0.05
    venue.submit(request(5, OrderSide.SELL, 0.02, reduce_only=False))  # a close: reduce-only
    venue.submit(request(6, OrderSide.SELL, 0.05, reduce_only=False))  # reverses: not
    flags = [o.reduce_only for o in local.venue.orders.values()]
    assert flags == [False, True, False, True, False]
    assert position(local) == pytest.approx(-0.02)


def test_the_kill_switch_closes_a_short_reduce_only(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.05))
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18000.0))
    updates = flatten_and_halt(node, INSTRUMENTS)
    assert [u.kind for u in updates] == ["canceled", "accepted", "filled"]
    closing = list(local.venue.orders.values())[-1]
    assert (closing.side, closing.quantity, closing.reduce_only) == ("BUY", 0.05, True)
    assert position(local) == 0.0
