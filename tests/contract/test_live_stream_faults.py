"""The user-data stream's monitor against the local exchange's websocket faults: a fill during
a silent stall is caught by the REST cross-check, the stream resubscribed and the fill
counted once; a fill while the websocket is down is adopted by the reconciliation that
follows the reconnect, once.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05; it then
trades 18800..18932). A limit buy at 18810 rests, then fills at its limit when row 100
closes (one replay step).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.errors import ExchangeFatalError, ExchangeTransientError
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus, OrderManager, Update
from engine.runtime.live.kill import node_positions
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.stream import StreamOptions, UserDataMonitor
from tests.contract.conftest import BTC, btc_rows
from tests.contract.test_live_orders import Rig
from tests.contract.test_live_user_stream import user_stream

INSTRUMENTS = {"BTC/USDT": BTC}
LIMIT = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18810.0)
MARKET = OrderSpec("", "BTC/USDT", "buy", "market", 0.01)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


class Node:
    """What the live node gives the monitor: the updates it publishes, the records it logs."""

    def __init__(self) -> None:
        self.published: list[Update] = []
        self.notes: list[tuple[str, dict[str, Any]]] = []

    def note(self, kind: str, **data: Any) -> None:
        self.notes.append((kind, data))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.notes]


async def until(what: str, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def run_monitor(
    local: Any, rig: Any, node: Node, options: StreamOptions, scenario: Any, stream: Any = None
) -> UserDataMonitor:
    """Reconcile as the node does on start, run the monitor beside ``scenario(monitor)``.

    ``rig``: what has the ``manager``; ``stream``: the user stream (None: spot's).
    """
    reconcile(rig.manager, INSTRUMENTS)

    async def main() -> UserDataMonitor:
        monitor = UserDataMonitor(
            stream or user_stream(local), rig.manager, INSTRUMENTS, node.published.extend,
            node.note, options,
        )  # fmt: skip
        task = asyncio.ensure_future(monitor.run())
        try:
            await asyncio.wait_for(monitor.subscribed.wait(), 10)
            body: Awaitable[None] = scenario(monitor)
            await body
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await monitor.stream.close()
        return monitor

    return asyncio.run(main())


def stall_then_fill(
    local: Any, manager: OrderManager, resting: OrderSpec, market: OrderSpec
) -> Callable[[UserDataMonitor], Awaitable[None]]:
    """Return the stall scenario: ``resting`` fills while the stream is stalled (caught,
    resubscribed, reconciled); then ``market``'s reports come on the new subscription."""

    async def scenario(monitor: UserDataMonitor) -> None:
        assert [u.kind for u in manager.submit("s-000001", "s", resting)] == ["accepted"]
        await asyncio.to_thread(local.inject, "ws_stall")
        await asyncio.to_thread(local.advance, 1)  # the fill: its report is swallowed
        await until("the stall to be caught", lambda: monitor.stats.reconciles >= 1)
        await asyncio.to_thread(local.inject, "ws_resume")
        # The resubscribed stream carries the next fill itself (no reconcile needed).
        await until("the new subscription", lambda: monitor.subscribed.is_set())
        reports = monitor.stats.reports
        manager.submit("s-000002", "s", market)
        await until("the market order's reports", lambda: monitor.stats.reports >= reports + 1)

    return scenario


def exchange_position(local: Any) -> float:
    return float(local.venue.free.get("BTC", 0.0) + local.venue.locked.get("BTC", 0.0))


def test_a_fill_during_a_silent_stall_is_caught_resubscribed_and_counted_once(
    local: Any, store: RunStore
) -> None:
    rig, node = Rig(local, store), Node()
    options = StreamOptions(check_every_s=0.2, grace_s=0.2, backoff_s=0.05)

    scenario = stall_then_fill(local, rig.manager, LIMIT, MARKET)
    monitor = run_monitor(local, rig, node, options, scenario)
    assert monitor.stats.stale == 1
    assert monitor.stats.subscriptions == 2
    assert monitor.stats.reconciles == 1
    assert "user_stream_stale" in node.kinds()
    stale = dict(node.notes)["user_stream_stale"]["reason"]
    assert "did not deliver" in stale
    assert f"trade {local.venue.trades[0]['id']}" in stale
    # The fill reached the node once, through the reconciliation after resubscribing.
    limit_id = rig.manager.client_id("s-000001")
    filled = [u for u in node.published if u.kind == "filled" and u.order.client_id == limit_id]
    assert len(filled) == 1
    assert filled[0].fill is not None
    assert filled[0].fill.price == 18810.0
    record = rig.ledger.get(limit_id)
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    trades = sorted(str(t["id"]) for t in local.venue.trades)
    assert sorted(f.trade_id for f in rig.ledger.fills() if f.client_id != "baseline") == trades
    assert node_positions(rig.ledger, INSTRUMENTS)["BTC/USDT"] == pytest.approx(
        exchange_position(local)
    )
    assert exchange_position(local) == pytest.approx(0.02)


def test_a_healthy_quiet_stream_is_not_declared_stale(local: Any, store: RunStore) -> None:
    rig, node = Rig(local, store), Node()
    options = StreamOptions(check_every_s=0.1, grace_s=0.1)

    async def scenario(monitor: UserDataMonitor) -> None:
        rig.manager.submit("s-000001", "s", LIMIT)
        await asyncio.to_thread(local.advance, 1)  # fills; the report arrives
        await until("five cross-checks", lambda: monitor.stats.checks >= 5)

    monitor = run_monitor(local, rig, node, options, scenario)
    assert (monitor.stats.stale, monitor.stats.drops, monitor.stats.subscriptions) == (0, 0, 1)
    filled = [u for u in node.published if u.kind == "filled"]
    assert len(filled) == 1  # from the stream, between bars
    assert len([f for f in rig.ledger.fills() if f.client_id != "baseline"]) == 1


def test_a_fill_while_the_websocket_is_down_is_adopted_once_after_the_reconnect(
    local: Any, store: RunStore
) -> None:
    rig, node = Rig(local, store), Node()
    # The pause before resubscribing leaves time for the fill to happen while disconnected.
    options = StreamOptions(check_every_s=60.0, backoff_s=1.0)

    async def scenario(monitor: UserDataMonitor) -> None:
        assert [u.kind for u in rig.manager.submit("s-000001", "s", LIMIT)] == ["accepted"]
        await asyncio.to_thread(local.inject, "ws_drop")
        await asyncio.to_thread(local.advance, 1)  # the fill, with no websocket open
        await until("the reconnect's reconciliation", lambda: monitor.stats.reconciles >= 1)

    monitor = run_monitor(local, rig, node, options, scenario)
    assert (monitor.stats.drops, monitor.stats.subscriptions, monitor.stats.stale) == (1, 2, 0)
    assert node.kinds()[:2] == ["user_stream_dropped", "reconciled"]
    limit_id = rig.manager.client_id("s-000001")
    assert node.notes[1][1]["adopted"] == [limit_id]
    filled = [u for u in node.published if u.kind == "filled"]
    assert [u.order.client_id for u in filled] == [limit_id]
    assert [f.trade_id for f in rig.ledger.fills() if f.client_id != "baseline"] == [
        str(local.venue.trades[0]["id"])
    ]
    assert node_positions(rig.ledger, INSTRUMENTS)["BTC/USDT"] == pytest.approx(0.01)
    assert exchange_position(local) == pytest.approx(0.01)


def test_a_reconnect_that_finds_an_unexplained_wallet_halts_with_the_report(
    local: Any, store: RunStore
) -> None:
    rig, node = Rig(local, store), Node()
    reconcile(rig.manager, INSTRUMENTS)

    async def main() -> UserDataMonitor:
        monitor = UserDataMonitor(
            user_stream(local),
            rig.manager,
            INSTRUMENTS,
            node.published.extend,
            node.note,
            StreamOptions(check_every_s=60.0, backoff_s=0.05),
        )
        try:
            task = asyncio.ensure_future(monitor.run())
            await asyncio.wait_for(monitor.subscribed.wait(), 10)
            local.venue.free["USDT"] -= 500.0  # a withdrawal while the node runs
            await asyncio.to_thread(local.inject, "ws_drop")
            with pytest.raises(ExchangeFatalError) as halted:
                await asyncio.wait_for(task, 10)
        finally:
            await monitor.stream.close()
        assert "(difference -500.00000000)" in str(halted.value)
        return monitor

    monitor = asyncio.run(main())
    assert monitor.stats.drops == 1
    assert "does not match" in rig.manager.halted
    assert node.kinds() == ["user_stream_dropped", "halt"]
    with pytest.raises(ExchangeFatalError, match="live trading is halted"):
        rig.manager.submit("s-000001", "s", MARKET)
    assert local.venue.orders == {}


def test_a_stream_that_keeps_dropping_gives_up_after_max_failures(
    local: Any, store: RunStore
) -> None:
    rig, node = Rig(local, store), Node()
    reconcile(rig.manager, INSTRUMENTS)

    async def main() -> UserDataMonitor:
        options = StreamOptions(check_every_s=60.0, backoff_s=0.05, max_failures=2)
        monitor = UserDataMonitor(
            user_stream(local), rig.manager, INSTRUMENTS, node.published.extend, node.note, options
        )
        try:
            task = asyncio.ensure_future(monitor.run())
            await asyncio.wait_for(monitor.subscribed.wait(), 10)
            await asyncio.to_thread(local.inject, "ws_drop")
            await until("the second subscription", lambda: monitor.stats.subscriptions == 2)
            await asyncio.wait_for(monitor.subscribed.wait(), 10)
            await asyncio.to_thread(local.inject, "ws_drop")
            with pytest.raises(ExchangeTransientError, match="gave up after 2 drops in a row"):
                await asyncio.wait_for(task, 10)
        finally:
            await monitor.stream.close()
        return monitor

    monitor = asyncio.run(main())
    assert (monitor.stats.drops, monitor.stats.subscriptions) == (2, 2)
    assert node.kinds() == ["user_stream_dropped", "reconciled", "user_stream_dropped"]
