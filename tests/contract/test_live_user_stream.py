"""The user-data stream (ccxt.pro ``watch_orders``) against the local exchange, into the order
manager: fills arrive as they happen and count once, whichever of the stream and REST saw
them first.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05; it then
trades 18800..18932). A limit buy at 18810 rests, then fills at its limit (a maker) when row
100 closes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.user import OrderEvent, UserStream, open_user_exchange
from engine.adapters.ccxt.venue import Credentials, OrderSpec
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus, client_order_id
from tests.contract.conftest import SECRET, btc_rows
from tests.contract.test_live_orders import Rig

LIMIT = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18810.0)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def user_stream(local: Any) -> UserStream:
    client = open_user_exchange(
        "binance", Credentials("any-key", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    return UserStream(client)


def rest_reads(rig: Rig) -> list[str]:
    """Record the manager's REST trade reads (by order id) from now on."""
    calls: list[str] = []
    original = rig.exchange.my_trades

    def spy(symbol: str, since_ms: int | None = None, exchange_order_id: str | None = None) -> Any:
        calls.append(exchange_order_id or "")
        return original(symbol, since_ms, exchange_order_id)

    rig.exchange.my_trades = spy  # type: ignore[method-assign]
    return calls


def fill_on_the_stream(local: Any, rig: Rig, spec: OrderSpec = LIMIT) -> list[OrderEvent]:
    """Rest ``spec`` (the limit buy), let row 100's close fill it; return what the stream
    pushed."""

    async def scenario() -> list[OrderEvent]:
        stream = user_stream(local)
        try:
            await stream.subscribe()
            assert [u.kind for u in rig.manager.submit("s-000001", "s", spec)] == ["accepted"]
            await asyncio.to_thread(local.advance, 1)
            events: list[OrderEvent] = []
            while not any(e.order.status == "closed" for e in events):
                events += await asyncio.wait_for(stream.next(), 5)
            return events
        finally:
            await stream.close()

    return asyncio.run(scenario())


def test_a_fill_pushed_on_the_stream_is_recorded_from_it_and_counted_once(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    events = fill_on_the_stream(local, rig)
    reads = rest_reads(rig)
    updates = [u for e in events for u in rig.manager.apply(e.order, e.trades)]
    assert [u.kind for u in updates] == ["filled"]
    fill = updates[0].fill
    assert fill is not None
    trade = local.venue.trades[0]
    assert (fill.trade_id, fill.quantity, fill.price, fill.liquidity) == (
        str(trade["id"]), 0.01, 18810.0, "maker"
    )  # fmt: skip
    assert reads == []  # the stream carried the trade: no REST read was needed
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    # The REST poll of the next bar finds nothing new, and the same report again is a no-op.
    assert rig.manager.refresh_open() == []
    assert [u for e in events for u in rig.manager.apply(e.order, e.trades)] == []
    assert [f.trade_id for f in rig.ledger.fills()] == [str(trade["id"])]


def test_a_stop_waits_on_the_stream_then_its_fill_is_pushed(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    stop = OrderSpec("", "BTC/USDT", "buy", "market", 0.01, stop_price=18900.0)
    events = fill_on_the_stream(local, rig, stop)  # row 100's high 18932 triggers it
    assert {e.order.stop_price for e in events} == {18900.0}  # every report carries it
    assert (events[-1].order.status, events[-1].order.order_type) == ("closed", "market")
    updates = [u for e in events for u in rig.manager.apply(e.order, e.trades)]
    assert [u.kind for u in updates] == ["filled"]
    fill = updates[0].fill
    assert fill is not None
    assert (fill.quantity, fill.price, fill.liquidity) == (0.01, 18900.0, "taker")
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.stop_price) == (LiveStatus.FILLED, 18900.0)


def test_a_fill_read_over_rest_first_is_not_counted_again_from_the_stream(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    events = fill_on_the_stream(local, rig)
    assert [u.kind for u in rig.manager.refresh_open()] == ["filled"]  # the bar's poll won
    assert [u for e in events for u in rig.manager.apply(e.order, e.trades)] == []
    assert len(rig.ledger.fills()) == 1
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)


def test_an_older_report_changes_nothing(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    events = fill_on_the_stream(local, rig)
    final = [e for e in events if e.order.status == "closed"][-1]
    rig.manager.apply(final.order, final.trades)
    new = final.order.__class__(**{**final.order.__dict__, "status": "open", "filled": 0.0})
    assert rig.manager.apply(new, ()) == []  # the NEW report, arriving late
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)


def test_a_report_without_its_trades_reads_them_over_rest(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    events = fill_on_the_stream(local, rig)
    reads = rest_reads(rig)
    final = [e for e in events if e.order.status == "closed"][-1]
    updates = rig.manager.apply(final.order, ())  # the TRADE report was not seen
    assert [u.kind for u in updates] == ["filled"]
    assert reads == [final.order.exchange_id]
    assert [f.trade_id for f in rig.ledger.fills()] == [str(local.venue.trades[0]["id"])]


def test_an_order_the_node_did_not_place_is_left_to_reconciliation(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    events = fill_on_the_stream(local, rig)
    final = [e for e in events if e.order.status == "closed"][-1]
    stranger = final.order.__class__(**{**final.order.__dict__, "client_id": "by-hand-1"})
    assert rig.manager.apply(stranger, final.trades) == []
    assert rig.ledger.get("by-hand-1") is None
