"""Node-managed trailing stops on the local exchange: the moves, the fill, crashes mid-move.

The node is started as ``kestrel live`` starts it (`tests.contract.test_live_restart.start`).
It buys 0.01 BTC on row 99's close (filled at row 100's open, 18818.05) and, on row 100's
close (18863.90), places a trailing sell stop 100.00 under the best price: a STOP_LOSS at
18763.90. Row 101's high 18970 moves it to 18870.00, row 102's 18990.08 to 18890.08, row
103 (high 18986.61) leaves it, row 104's 19177 moves it to 19077.00, and row 105's low
19053.05 triggers it: sold at 19077.00 — where the backtest's broker sells it on these bars.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.model import OrderStatus, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from engine.runtime.live.checkpoint import Checkpoint
from engine.strategy import Context
from tests.contract.conftest import btc_rows
from tests.contract.test_live_restart import Node, bar, local, start, store, wallet

__all__ = ["local", "store"]  # the fixtures, shared with the restart tests

MOVES = [18763.90, 18870.00, 18890.08, 18890.08, 19077.00]  # after rows 100 to 104


def buy(ctx: Context) -> None:
    ctx.buy("BTC/USDT", 0.01)


def trail(ctx: Context) -> None:
    ctx.trailing_stop("BTC/USDT", "sell", 0.01, offset=100.0)


def open_stops(local: Any) -> list[tuple[str, float, float]]:
    return [(o.side, o.quantity, o.stop_price) for o in local.venue.orders.values()
            if o.open and o.type == "STOP_LOSS"]  # fmt: skip


def placed(local: Any, store: RunStore) -> Node:
    node = start(local, store, [buy, trail])
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))
    return node


def test_the_stop_is_moved_after_each_bar_and_fills_at_its_last_level(
    local: Any, store: RunStore
) -> None:
    node = placed(local, store)
    assert open_stops(local) == [("SELL", 0.01, MOVES[0])]
    for row in (101, 102, 103, 104):
        local.advance(1)
        node.node.on_event(bar(row))
        assert open_stops(local) == [("SELL", 0.01, MOVES[row - 100])]
    order = node.orders()["s-000002"]
    assert (order.order_type, order.status) == (OrderType.TRAILING_STOP, OrderStatus.ACCEPTED)
    canceled = [o for o in local.venue.orders.values() if o.status == "CANCELED"]
    assert len(canceled) == 3  # three moves, each a cancel and a new link
    trails = node.manager.ledger.trails()
    assert [(t.link, t.stop, t.best, t.state) for t in trails] == [(3, 19077.0, 19177.0, "working")]
    local.advance(1)
    node.node.on_event(bar(105))  # row 105's low 19053.05 triggers it
    assert [(f.order_id, f.quantity, f.price) for f in node.strategy.fills] == [
        ("s-000001", 0.01, 18818.05),
        ("s-000002", 0.01, 19077.0),
    ]
    assert order.status is OrderStatus.FILLED
    assert node.manager.ledger.trails()[0].state == "done"
    assert not [o for o in local.venue.orders.values() if o.open]
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert node.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)


class Crash(BaseException):
    """The node dies here (SIGKILL: nothing after this line runs)."""


def die(*_: Any, **__: Any) -> Any:
    raise Crash


@pytest.mark.parametrize("moment", ["before_cancel", "after_cancel", "after_send"])
def test_a_crash_in_the_middle_of_a_move_leaves_exactly_one_stop(
    local: Any, store: RunStore, moment: str
) -> None:
    first = placed(local, store)
    manager = first.manager
    if moment == "before_cancel":  # the move is recorded, the old link still works
        manager.cancel_record = die  # type: ignore[method-assign]
    elif moment == "after_cancel":  # the old link is canceled, the new one never sent
        manager.submit = die  # type: ignore[method-assign]
    else:  # the new link reached the exchange, its answer never written back
        create = manager.exchange.create
        manager.exchange.create = lambda spec: (create(spec), die())  # type: ignore[method-assign]
    local.advance(1)
    with pytest.raises(Crash):
        first.node.on_event(bar(101))  # the move to 18870.00 starts
    expected_before = {"before_cancel": 1, "after_cancel": 0, "after_send": 1}[moment]
    assert len(open_stops(local)) == expected_before
    second = start(local, store, [])  # restore, reconcile, the move finished
    assert second.restored.adopted == ["s-000002"]
    assert open_stops(local) == [("SELL", 0.01, 18870.0)]  # exactly one, at the moved stop
    order = second.orders()["s-000002"]
    assert (order.order_type, order.status) == (OrderType.TRAILING_STOP, OrderStatus.ACCEPTED)
    rows = [o for o in second.manager.ledger.orders() if o.order_id == "s-000002"]
    assert [r.status for r in rows] == [LiveStatus.CANCELED, LiveStatus.OPEN]
    for row in (102, 103, 104, 105):  # it trails on and fills where it would have
        local.advance(1)
        second.node.on_event(bar(row))
    assert [(f.order_id, f.price) for f in second.strategy.fills] == [("s-000002", 19077.0)]
    assert not [o for o in local.venue.orders.values() if o.open]
    assert sum(o.status == "FILLED" and o.side == "SELL" for o in local.venue.orders.values()) == 1
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)


def test_a_moved_stop_lost_in_flight_is_sent_anew(local: Any, store: RunStore) -> None:
    node = placed(local, store)
    node.manager.settle_ms = 0  # not found at once: never placed (default: 60 s later)
    local.advance(1)
    # the poll's look-up and the cancel pass; the new link's POST meets a 503, not placed
    local.inject("server_error", count=1, path="/api/v3/order", after=2)
    node.node.on_event(bar(101))
    assert open_stops(local) == [("SELL", 0.01, 18870.0)]
    rows = [o for o in node.manager.ledger.orders() if o.order_id == "s-000002"]
    assert [r.status for r in rows] == [LiveStatus.CANCELED, LiveStatus.REJECTED, LiveStatus.OPEN]
    assert rows[1].reason.startswith("never placed")
    assert node.orders()["s-000002"].status is OrderStatus.ACCEPTED
    assert [(t.link, t.state) for t in node.manager.ledger.trails()] == [(2, "working")]


def trail_60(ctx: Context) -> None:
    ctx.trailing_stop("BTC/USDT", "sell", 0.01, offset=60.0)


def test_an_earlier_links_partial_fill_is_credited_to_the_order_after_a_restart(
    exchange_factory: Any, store: RunStore
) -> None:
    # Row 103 is missing (a gap): the exchange closes row 102 and opens nothing, so the half
    # of link 1 left after a partial fill waits for row 104's open. 60.00 under the best:
    # 18803.90 on row 100's close, 18910.00 after row 101 (link 1, which the exchange
    # fills half at first); row 102's low 18906.16 triggers it (0.005 sold at 18910.00) and
    # its high 18990.08 moves the rest to 18930.08 (link 2); row 104 opens through it.
    local = exchange_factory(btc_rows(300, drop=(103,)), paused=True, history=100)
    node = start(local, store, [buy, trail_60])
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))
    local.advance(1)
    local.inject("partial", count=1, fraction=0.5)
    node.node.on_event(bar(101))
    assert open_stops(local) == [("SELL", 0.01, 18910.0)]
    local.advance(1)
    node.node.on_event(bar(102))
    assert open_stops(local) == [("SELL", 0.005, 18930.08)]
    second = start(local, store, [])  # a restart: link 2 stands for the chain
    assert second.restored.adopted == ["s-000002"]
    order = second.orders()["s-000002"]
    assert (order.quantity, order.filled_quantity) == (0.01, 0.005)
    assert (order.status, order.average_fill_price) == (OrderStatus.PARTIALLY_FILLED, 18910.0)
    local.advance(2)  # row 104 opens at 18911.30, through link 2's stop, and closes
    second.node.on_event(bar(104))
    assert [(f.order_id, f.quantity, f.price) for f in second.strategy.fills] == [
        ("s-000002", 0.005, 18911.3)
    ]
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, 0.01)
    assert order.average_fill_price == pytest.approx((18910.0 + 18911.3) / 2, abs=1e-9)
    assert not [o for o in local.venue.orders.values() if o.open]
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)


def trail_64(ctx: Context) -> None:
    ctx.trailing_stop("BTC/USDT", "sell", 0.01, offset=64.0)


def test_a_trailing_fill_held_for_the_next_bar_is_published_when_the_run_ends_on_it(
    local: Any, store: RunStore
) -> None:
    # bought at row 102's open (18955.83); 64.00 under the best: 18899.03 on row 102's close;
    # row 103 (low 18900.00) leaves it, and its high 18986.61 moves it to 18922.61, which
    # row 103's close 18911.31 is already through: sent as a market order, sold at row
    # 104's open, 18911.30 — a fill the kernel hears with the next bar, as in a backtest.
    # The run ends before that bar: its clean stop publishes the fill.
    local.advance(2)
    node = start(local, store, [buy, trail_64])
    checkpoint = Checkpoint(node.node, node.manager.ledger, node.manager.session)
    checkpoint.start()
    node.node.on_event(bar(101))
    for row in (102, 103):
        local.advance(1)
        node.node.on_event(bar(row))
    assert [(f.order_id, f.price) for f in node.strategy.fills] == [("s-000001", 18955.83)]
    checkpoint.stop()  # the run ends (end of the data, --max-bars, a signal)
    assert [(f.order_id, f.quantity, f.price) for f in node.strategy.fills] == [
        ("s-000001", 0.01, 18955.83),
        ("s-000002", 0.01, 18911.3),
    ]
    order = node.orders()["s-000002"]
    assert (order.order_type, order.status) == (OrderType.TRAILING_STOP, OrderStatus.FILLED)
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert node.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)
