"""Modifying a stop on a USDⓈ-M perpetual: cancel the algo order, then place a new one
(`engine.runtime.live.stopmove`), through ccxt against the local exchange (issue 15).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05, low
18800, high 18932); the node last saw row 99 close at 18818.85; a 10,000 USDT futures
wallet, fee 0.04 %. Row 101 opens at 18863.90 (low 18840.69, high 18970). Each test goes
long 0.02 at 18818.05 (a market buy) and protects it with a sell stop at 18700.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.algo import AlgoExchange
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import Credentials, open_trading_exchange, wall_clock_ms
from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import OrderSide, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.kill import flatten_and_halt
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.venue import LiveVenue
from tests.contract.conftest import SECRET
from tests.contract.test_live_perpetual import INSTRUMENTS, local, position  # noqa: F401
from tests.contract.test_live_venue import request

LAST_CLOSE = 18818.85


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def manager_of(local: Any, store: RunStore, settle_ms: int = 60_000) -> OrderManager:  # noqa: F811
    """A node (re)starting: a new client (1 s timeout) and manager over ``store``."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
        perpetual=True, timeout_ms=1000,
    )  # fmt: skip
    client.enableRateLimit = False
    exchange = AlgoExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms,
                            perpetuals=["BTC/USDT"])  # fmt: skip
    exchange.load()
    quick = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda _: None)
    return OrderManager(exchange, LiveLedger(store, "acct"), quick, settle_ms=settle_ms)


class Rig:
    """A live venue on the perpetual, long 0.02 with a sell stop at 18700 (``s-000002``)."""

    def __init__(self, local: Any, store: RunStore) -> None:  # noqa: F811
        self.local = local
        self.manager = manager_of(local, store)
        reconcile(self.manager, INSTRUMENTS)
        self.events: list[Any] = []
        bus = EventBus()
        bus.subscribe_all(self.events.append)
        self.venue = LiveVenue(bus, SimClock(5), self.manager, INSTRUMENTS,
                               {"BTC/USDT": LAST_CLOSE})  # fmt: skip
        self.venue.submit(request(1, OrderSide.BUY, 0.02))  # long 0.02 at 18818.05
        self.venue.submit(stop(2, 18700.0))
        self.events.clear()

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def rows(self) -> list[tuple[str, float, float | None, str | None]]:
        """The stop's exchange orders: (status, quantity, stop price, client id replaced)."""
        rows = [r for r in self.manager.ledger.orders() if r.order_id == "s-000002"]
        return [(r.status.value, r.quantity, r.stop_price, r.replaces) for r in rows]


def stop(number: int, at: float, quantity: float = 0.02) -> Any:
    return request(number, OrderSide.SELL, quantity, order_type=OrderType.STOP, stop_price=at)


def algos(local: Any) -> list[tuple[str, float, float, bool]]:  # noqa: F811
    """The exchange's algo orders: (status, trigger, quantity, reduce-only)."""
    return [(a.status, a.trigger_price, a.quantity, a.reduce_only)
            for a in local.venue.algos.orders.values()]  # fmt: skip


def live_stops(local: Any) -> list[float]:  # noqa: F811
    return [a.trigger_price for a in local.venue.algos.orders.values() if a.status == "NEW"]


class Crash(Exception):  # noqa: N818 - a simulated process death, not an error kind
    """The node dies here."""


def test_a_stop_moved_to_break_even_is_replaced_and_fills_at_its_new_stop(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    rig.venue.modify("s-000002", None, None, 18810.0)
    assert rig.kinds() == ["OrderModified"]
    modified = rig.events[0]
    assert (modified.order_id, modified.quantity, modified.stop_price) == (
        "s-000002", 0.02, 18810.0)  # fmt: skip
    assert algos(local) == [("CANCELED", 18700.0, 0.02, True), ("NEW", 18810.0, 0.02, True)]
    old = rig.manager.ledger.orders()[1].client_id
    assert rig.rows() == [("canceled", 0.02, 18700.0, None), ("open", 0.02, 18810.0, old)]
    local.advance(1)  # row 100's low 18800 goes through 18810
    rig.venue.poll()
    assert rig.kinds() == ["OrderModified", "OrderFilled"]
    fill = rig.events[1]
    assert (fill.order_id, fill.quantity, fill.price, fill.leaves_quantity) == (
        "s-000002", 0.02, 18810.0, 0.0)  # fmt: skip
    assert position(local) == 0.0
    assert not rig.venue.working
    rig.venue.modify("s-000002", None, None, 18805.0)  # it no longer works
    assert rig.events[-1].reason == "order is not working"


def test_a_second_move_replaces_the_first_replacement(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    rig.venue.modify("s-000002", None, None, 18750.0)
    rig.venue.modify("s-000002", 0.01, None, 18790.0)  # and half the size
    assert rig.kinds() == ["OrderModified", "OrderModified"]
    assert (rig.events[1].quantity, rig.events[1].stop_price) == (0.01, 18790.0)
    assert live_stops(local) == [18790.0]
    assert [s for s, *_ in algos(local)] == ["CANCELED", "CANCELED", "NEW"]
    assert rig.rows()[-1][:3] == ("open", 0.01, 18790.0)


def test_a_cancel_that_meets_the_fill_reports_the_fill_then_refuses_the_move(
    local: Any,  # noqa: F811
    store: RunStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(local, store)
    rig.venue.modify("s-000002", None, None, 18810.0)
    local.advance(1)  # the stop at 18810 fills at the exchange; the node has not looked
    rig.events.clear()
    monkeypatch.setattr(rig.venue, "poll", lambda: None)  # the fill races the next move
    rig.venue.modify("s-000002", None, None, 18805.0)
    assert rig.kinds() == ["OrderFilled", "OrderModifyRejected"]
    assert (rig.events[0].quantity, rig.events[0].price) == (0.02, 18810.0)
    assert rig.events[1].reason == (
        "modification refused: the order filled before it could be moved"
    )
    assert live_stops(local) == []  # nothing placed after the fill
    assert len(local.venue.algos.orders) == 2
    assert rig.rows()[-1][0] == "rejected"
    assert position(local) == 0.0


def test_a_new_stop_the_exchange_refuses_leaves_the_order_canceled_saying_why(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    local.faults.reject(1)  # the new algo order is refused (-2010); the cancel went through
    rig.venue.modify("s-000002", None, None, 18750.0)
    assert rig.kinds() == ["OrderCanceled"]
    assert rig.events[0].reason.startswith("canceled: modification refused (the new order): ")
    assert "Order was rejected (injected fault)." in rig.events[0].reason
    assert live_stops(local) == []
    assert not rig.venue.working
    assert [r[0] for r in rig.rows()] == ["canceled", "rejected"]
    assert position(local) == pytest.approx(0.02)  # unprotected, and the strategy knows it


@pytest.mark.parametrize("fault", ["timeout", "server_error"])
def test_a_cancel_whose_answer_is_lost_is_looked_up_and_the_move_finished(
    local: Any,  # noqa: F811
    store: RunStore,
    fault: str,
) -> None:
    """A timeout: the exchange canceled (the look-up says so), the new stop is placed at
    once. A 5xx: not canceled; the move stays staged and the next poll finishes it."""
    rig = Rig(local, store)
    # DELETE /fapi/v1/order (not a plain order: -2011), then DELETE /fapi/v1/algoOrder
    local.inject(fault, count=1, path="/fapi/v1/algoOrder", after=1, delay_s=1.5)
    rig.venue.modify("s-000002", None, None, 18790.0)  # after the poll's GET of the algo
    if fault == "server_error":
        assert rig.kinds() == []
        assert live_stops(local) == [18700.0]  # the old one still works: one stop
        assert rig.rows()[-1][0] == "staged"
        rig.venue.poll()
    assert rig.kinds() == ["OrderModified"]
    assert live_stops(local) == [18790.0]
    assert [s for s, *_ in algos(local)] == ["CANCELED", "NEW"]


@pytest.mark.parametrize("fault", ["timeout", "server_error"])
def test_a_new_stop_whose_answer_is_lost_is_looked_up_never_sent_twice(
    local: Any,  # noqa: F811
    store: RunStore,
    fault: str,
) -> None:
    """A timeout: it was placed, the look-up finds it (`OrderModified`). A 5xx: it was not;
    UNKNOWN until it can no longer arrive, then sent again under a derived client id (the
    old stop is gone: the position must get its stop)."""
    rig = Rig(local, store)
    create = rig.manager.exchange.create

    def lost(spec: Any) -> Any:
        local.inject(fault, count=1, path="/fapi/v1/algoOrder", delay_s=1.5)
        return create(spec)

    rig.manager.exchange.create = lost  # type: ignore[method-assign]
    rig.venue.modify("s-000002", None, None, 18790.0)
    if fault == "server_error":
        assert rig.kinds() == []  # no answer yet: it may still arrive
        assert live_stops(local) == []
        assert rig.rows()[-1][0] == "unknown"
        rig.venue.poll()  # still within settle_ms: looked up, not sent again
        assert (rig.kinds(), live_stops(local)) == ([], [])
        rig.manager.exchange.create = create  # type: ignore[method-assign]
        rig.manager.settle_ms = 0  # past the request's recvWindow: it can no longer arrive
        rig.venue.poll()
    assert rig.kinds() == ["OrderModified"]
    assert (rig.events[0].quantity, rig.events[0].stop_price) == (0.02, 18790.0)
    assert live_stops(local) == [18790.0]
    assert len(local.venue.algos.orders) == 2  # the old one and the moved one: no twin
    rows = rig.rows()
    if fault == "server_error":
        assert [r[0] for r in rows] == ["canceled", "rejected", "open"]
        assert rows[2][3] == rows[1][3]  # the resent order replaces the same old one
    local.advance(2)
    rig.venue.poll()
    assert position(local) == pytest.approx(0.02)  # 18790 not reached by rows 100-101


@pytest.mark.parametrize("moment", ["after_cancel", "after_new_request"])
@pytest.mark.parametrize("how", ["fresh_manager", "restore"])
def test_a_restart_in_the_middle_of_a_move_leaves_exactly_one_stop(
    local: Any,  # noqa: F811
    store: RunStore,
    moment: str,
    how: str,
    tmp_path: Path,
) -> None:
    rig = Rig(local, store)
    exchange = rig.manager.exchange
    create = exchange.create

    def dying(spec: Any) -> Any:
        if moment == "after_new_request":
            create(spec)  # it reached the exchange; the answer is lost with the process
        raise Crash

    exchange.create = dying  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.venue.modify("s-000002", None, None, 18790.0)
    assert live_stops(local) == ([] if moment == "after_cancel" else [18790.0])
    if how == "fresh_manager":
        again = manager_of(local, store, settle_ms=0)
        again.refresh_open()
    else:
        restored = restore_node(local, store, tmp_path)
        assert restored.adopted == ["s-000002"]
    assert live_stops(local) == [18790.0]  # exactly one, the moved one
    algo = next(a for a in local.venue.algos.orders.values() if a.status == "NEW")
    assert (algo.quantity, algo.reduce_only) == (0.02, True)
    assert len(local.venue.algos.orders) == 2  # never sent twice
    assert position(local) == pytest.approx(0.02)
    local.advance(1)  # row 100's low 18800: not through 18790; row 101 neither
    local.advance(1)
    assert position(local) == pytest.approx(0.02)


def restore_node(local: Any, store: RunStore, tmp_path: Path) -> Any:  # noqa: F811
    """Restart as ``kestrel live`` does: `restore`, then the kernel's view of the stop."""
    from dataclasses import replace

    from engine.runtime.live.restore import restore
    from engine.runtime.live.venue import live_mode
    from engine.runtime.node import TradingNode
    from tests.integration.test_live_perpetual_parity import (
        funding_file,
        long_short,
        perpetual_config,
    )

    manager = manager_of(local, store, settle_ms=0)
    config = perpetual_config(funding_file(tmp_path))
    config = replace(config, strategy=replace(config.strategy, id="s"))
    clock = SimClock(local.replay.now_ms * 1_000_000)
    node = TradingNode(config, clock=clock, strategy=long_short(0), mode=live_mode(manager))
    restored = restore(node, manager, INSTRUMENTS)
    order = node.kernel.execution.orders["s-000002"]
    assert (order.quantity, order.stop_price, order.order_type) == (0.02, 18790.0,
                                                                   OrderType.STOP)  # fmt: skip
    assert restored.positions == {"BTC/USDT": pytest.approx(0.02)}
    return restored


def test_a_cancel_of_the_order_while_its_move_is_staged_abandons_the_move(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    local.inject("server_error", count=1, path="/fapi/v1/algoOrder", after=1)
    rig.venue.modify("s-000002", None, None, 18790.0)  # the cancel is lost: staged
    assert rig.rows()[-1][0] == "staged"
    rig.venue.cancel("s-000002")
    assert rig.kinds() == ["OrderCanceled"]
    assert live_stops(local) == []
    assert [r[0] for r in rig.rows()] == ["canceled", "rejected"]
    rig.venue.poll()
    assert live_stops(local) == []  # never sent afterwards


def test_the_kill_switch_never_lets_a_staged_move_place_a_stop(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    local.inject("server_error", count=1, path="/fapi/v1/algoOrder", after=1)
    rig.venue.modify("s-000002", None, None, 18790.0)
    flatten_and_halt(rig.manager, INSTRUMENTS)
    assert live_stops(local) == []
    assert position(local) == 0.0
    assert manager_of(local, store).refresh_open() == []
    assert live_stops(local) == []


def test_a_stop_that_went_out_reduce_only_stays_so_when_moved_after_its_position_closed(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    # the same rule as a restarted trailing stop's next link (live_orders.reduce_only): an
    # exit moved once another order closed its position must never open the other side
    rig = Rig(local, store)
    rig.venue.submit(request(3, OrderSide.SELL, 0.02))  # the position closed by hand
    assert position(local) == 0.0
    rig.venue.modify("s-000002", None, None, 18810.0)
    sent = [a for a in algos(local) if a[1] == 18810.0]
    assert all(reduce_only for *_, reduce_only in sent), algos(local)
    assert position(local) == 0.0
    local.advance(1)  # row 100's low 18800 goes through 18810
    rig.venue.poll()
    assert position(local) == 0.0  # never short
