"""LiveVenue's stop and stop-limit orders on a USDⓈ-M perpetual: Binance algo orders
(`engine.adapters.ccxt.algo`) held by the local exchange's algo service until triggered.

Replay state: `tests.contract.test_live_perpetual`'s (row 100 in progress, open 18818.05,
low 18800; row 101: open 18863.90, high 18970, low 18840.69); a 10,000 USDT wallet.
"""

from __future__ import annotations

import asyncio
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
from tests.contract.test_live_perpetual import INSTRUMENTS, OPEN, local, position  # noqa: F401
from tests.contract.test_live_restart import bar
from tests.contract.test_live_venue import request


class Rig:
    """A node on the perpetual: a new client, manager and venue over ``store`` each time."""

    def __init__(self, local: Any, store: RunStore, prices: dict[str, float] | None = None) -> None:  # noqa: F811
        client = open_trading_exchange(
            "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
            perpetual=True,
        )  # fmt: skip
        client.enableRateLimit = False
        exchange = AlgoExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms,
                                perpetuals=["BTC/USDT"])  # fmt: skip
        exchange.load()
        quick = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
        self.manager = OrderManager(exchange, LiveLedger(store, "acct"), quick)
        reconcile(self.manager, INSTRUMENTS)
        self.events: list[Any] = []
        bus = EventBus()
        bus.subscribe_all(self.events.append)
        self.venue = LiveVenue(bus, SimClock(5), self.manager, INSTRUMENTS, prices=prices)
        for kind, handler in self.venue.own_events():
            bus.subscribe(kind, handler)
        self.bus = bus

    def submit_together(self, *orders: Any) -> None:
        """Submit ``orders`` in one delivery of the bus, as the kernel sends a group."""

        class Together(list[Any]):
            pass

        self.bus.subscribe(Together, lambda batch: [self.venue.submit(o) for o in batch])
        self.bus.publish(Together(orders))

    def kinds(self) -> list[str]:
        hidden = ("OcoReady", "Together")
        return [type(e).__name__ for e in self.events if type(e).__name__ not in hidden]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def stop(number: int, side: OrderSide, quantity: float, at: float, **kw: Any) -> Any:
    return request(number, side, quantity, order_type=OrderType.STOP, stop_price=at, **kw)


def test_a_sell_stop_closing_a_long_is_a_reduce_only_algo_order_filled_at_the_stop(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))  # long 0.02 at 18818.05
    rig.events.clear()
    rig.venue.submit(stop(2, OrderSide.SELL, 0.02, 18810.0))
    assert rig.kinds() == ["OrderAccepted"]
    algo = local.venue.algos.find(None, rig.manager.ledger.orders()[1].client_id)
    assert (algo.type, algo.trigger_price, algo.reduce_only, algo.status) == (
        "STOP_MARKET", 18810.0, True, "NEW")  # fmt: skip
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted"]  # untriggered: nothing happened
    local.advance(1)  # row 100's low 18800 goes through 18810
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted", "OrderFilled"]
    fill = rig.events[1]
    assert (fill.side, fill.quantity, fill.price, fill.leaves_quantity) == (
        OrderSide.SELL, 0.02, 18810.0, 0.0)  # fmt: skip
    assert not rig.venue.working
    assert position(local) == 0.0
    record = rig.manager.ledger.orders()[1]
    assert (record.status.value, record.stop_price, record.exchange_order_id) == (
        "filled", 18810.0, str(algo.actual.order_id))  # fmt: skip


def test_a_buy_stop_limit_opening_a_long_triggers_then_rests_as_a_limit(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    order = request(1, OrderSide.BUY, 0.01, order_type=OrderType.STOP_LIMIT,
                    stop_price=18900.0, limit_price=18850.0)  # fmt: skip
    rig.venue.submit(order)
    assert rig.kinds() == ["OrderAccepted"]
    algo = local.venue.algos.find(None, rig.manager.ledger.orders()[0].client_id)
    assert (algo.type, algo.price, algo.reduce_only) == ("STOP", 18850.0, False)
    local.advance(1)  # row 100 reaches 18932: triggered, 18900 above the limit: rests
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted"]
    assert algo.status == "TRIGGERED"
    assert algo.actual.type == "LIMIT"
    assert [o.exchange_id for o in rig.manager.exchange.open_orders("BTC/USDT")] == [
        str(algo.actual.order_id)
    ]
    rig.venue.cancel(order.order_id)  # the plain order the stop placed is cancelled
    assert rig.kinds() == ["OrderAccepted", "OrderCanceled"]
    assert algo.actual.status == "CANCELED"
    assert position(local) == 0.0


def test_an_untriggered_stop_is_cancelled_and_the_kill_switch_cancels_one(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(request(1, OrderSide.SELL, 0.03))  # short 0.03
    rig.venue.submit(stop(2, OrderSide.BUY, 0.03, 19500.0))
    rig.venue.submit(stop(3, OrderSide.BUY, 0.03, 19600.0))
    assert [o.exchange_id for o in rig.manager.exchange.open_orders("BTC/USDT")] == ["1", "2"]
    rig.venue.cancel("s-000002")
    assert rig.kinds()[-1] == "OrderCanceled"
    assert local.venue.algos.orders[1].status == "CANCELED"
    updates = flatten_and_halt(rig.manager, INSTRUMENTS)
    assert [u.kind for u in updates] == ["canceled", "accepted", "filled"]
    assert local.venue.algos.orders[2].status == "CANCELED"
    assert position(local) == 0.0


def test_a_stop_that_fills_while_the_node_is_down_is_adopted_on_restart(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))
    rig.venue.submit(stop(2, OrderSide.SELL, 0.02, 18810.0))
    local.advance(1)  # the node is down: the stop triggers and fills
    again = OrderManager(rig.manager.exchange, LiveLedger(store, "acct"))
    updates = again.refresh_open()
    assert [u.kind for u in updates] == ["filled"]
    (record,) = [r for r in again.ledger.orders() if r.stop_price]
    assert (record.status.value, record.filled_quantity, record.average_price) == (
        "filled", 0.02, 18810.0)  # fmt: skip
    assert position(local) == 0.0
    assert OPEN > 18810.0


def test_the_user_stream_reports_a_stops_fill_once_under_the_order_it_placed(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """ccxt.pro parses the TRIGGERED / FINISHED ``ALGO_UPDATE`` as "closed", filled (its
    amount) under the algo id: skipped, the placed order's own reports carry the fill."""
    from tests.contract.test_local_fapi_streams import user_stream

    rig = Rig(local, store)
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))

    async def main() -> list[Any]:
        stream = user_stream(local)
        try:
            await stream.subscribe()
            await asyncio.to_thread(rig.venue.submit, stop(2, OrderSide.SELL, 0.02, 18810.0))
            await asyncio.to_thread(local.advance, 1)
            events: list[Any] = []
            while not any(e.order.status == "closed" for e in events):
                events += await asyncio.wait_for(stream.next(), 10)
            return events
        finally:
            await stream.close()

    events = asyncio.run(main())
    client_id = rig.manager.ledger.orders()[1].client_id
    actual = local.venue.algos.find(None, client_id).actual
    # ccxt reads a TRIGGERED / FINISHED algo order as "closed" for its whole amount, under
    # the algo id: adopted, it would credit another order's trade (the entry's, order id 1)
    (closed,) = [e for e in events if e.order.status == "closed"]
    assert (closed.order.client_id, closed.order.exchange_id) == (client_id, str(actual.order_id))
    assert [(t.quantity, t.price) for t in closed.trades] == [(0.02, 18810.0)]
    updates = [u for e in events for u in rig.manager.apply(e.order, e.trades)]
    assert [u.kind for u in updates] == ["filled"]
    assert rig.manager.ledger.get(client_id).filled_quantity == 0.02  # type: ignore[union-attr]


def test_a_trailing_stop_is_a_chain_of_reduce_only_algo_stops_moved_after_each_bar(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """`tests.contract.test_live_trailing`'s path on the perpetual: long 0.01 at 18818.05;
    on row 100's close (18863.90) a trailing sell stop 100.00 under the best price; moved
    by rows 101, 102 and 104; row 105's low triggers it: sold at 19077.00, the backtest's."""
    prices: dict[str, float] = {}
    rig = Rig(local, store, prices)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    local.advance(1)
    prices["BTC/USDT"] = bar(100).close
    rig.events.clear()
    rig.venue.submit(request(2, OrderSide.SELL, 0.01, order_type=OrderType.TRAILING_STOP,
                             trailing_offset=100.0))  # fmt: skip
    assert rig.kinds() == ["OrderAccepted"]
    working = []
    for row in range(101, 106):
        local.advance(1)
        prices["BTC/USDT"] = bar(row).close
        rig.venue.process_bar(bar(row))
        working.append([(a.trigger_price, a.reduce_only) for a in
                        local.venue.algos.orders.values() if a.status == "NEW"])  # fmt: skip
    assert working[:4] == [[(18870.0, True)], [(18890.08, True)], [(18890.08, True)],
                           [(19077.0, True)]]  # fmt: skip
    assert working[4] == []
    assert [a.status for a in local.venue.algos.orders.values()] == [
        "CANCELED", "CANCELED", "CANCELED", "FINISHED"]  # fmt: skip
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted", "OrderFilled"]  # one order, its link's fill
    assert (rig.events[1].quantity, rig.events[1].price) == (0.01, 19077.0)
    assert position(local) == 0.0


def exits(rig: Rig, stop_at: float, target: float) -> None:
    """Long 0.02 at 18818.05, then a stop-loss and a take-profit in one OCO group."""
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))
    rig.events.clear()
    rig.submit_together(
        stop(2, OrderSide.SELL, 0.02, stop_at, oco_group="g"),
        request(3, OrderSide.SELL, 0.02, order_type=OrderType.LIMIT, limit_price=target,
                oco_group="g"),
    )  # fmt: skip


def legs(local: Any) -> dict[str, tuple[str, bool]]:  # noqa: F811
    """The exchange's exits: the stop's algo order and the take-profit limit."""
    (algo,) = local.venue.algos.orders.values()
    (limit,) = [o for o in local.venue.orders.values() if o.type == "LIMIT"]
    return {"stop": (algo.status, algo.reduce_only), "target": (limit.status, limit.reduce_only)}


def sold(rig: Rig) -> list[tuple[str, float, float]]:
    return [(e.order_id, e.quantity, e.price) for e in rig.events
            if type(e).__name__ == "OrderFilled"]  # fmt: skip


def canceled(rig: Rig) -> list[tuple[str, str]]:
    return [(e.order_id, e.reason) for e in rig.events if type(e).__name__ == "OrderCanceled"]


@pytest.mark.parametrize(
    ("stop_at", "target", "leg", "price", "other_status"),
    [
        (18700.0, 18900.0, "s-000003", 18900.0, "CANCELED"),  # take-profit; the node cancels
        (18810.0, 19500.0, "s-000002", 18810.0, "CANCELED"),  # the stop; the node cancels
        (18810.0, 18900.0, "s-000002", 18810.0, "EXPIRED"),  # row 100 reaches both: stop
    ],
)
def test_an_oco_pair_is_two_reduce_only_orders_and_one_fill_cancels_the_other(
    local: Any,  # noqa: F811
    store: RunStore,
    stop_at: float,
    target: float,
    leg: str,
    price: float,
    other_status: str,
) -> None:
    rig = Rig(local, store)
    exits(rig, stop_at, target)
    assert rig.kinds() == ["OrderAccepted", "OrderAccepted"]
    assert legs(local) == {"stop": ("NEW", True), "target": ("NEW", True)}
    rows = {r.order_id: r for r in rig.manager.ledger.orders()}
    assert rows["s-000002"].list_id == rows["s-000003"].list_id != None  # noqa: E711
    local.advance(1)  # row 100: high 18932, low 18800
    rig.venue.poll()
    other = "s-000003" if leg == "s-000002" else "s-000002"
    assert sold(rig) == [(leg, 0.02, price)]
    assert canceled(rig) == [(other, "oco: the other leg filled")]
    statuses = legs(local)
    assert statuses["target" if leg == "s-000002" else "stop"][0] == other_status
    assert position(local) == 0.0  # never a reverse position
    assert not rig.venue.working


def test_a_cancel_of_one_leg_cancels_both(local: Any, store: RunStore) -> None:  # noqa: F811
    rig = Rig(local, store)
    exits(rig, 18700.0, 19500.0)
    rig.venue.cancel("s-000003")
    assert canceled(rig) == [("s-000003", "canceled"), ("s-000002", "canceled")]
    assert legs(local) == {"stop": ("CANCELED", True), "target": ("CANCELED", True)}
    assert position(local) == pytest.approx(0.02)


def test_a_restart_after_one_leg_filled_cancels_the_other(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    exits(rig, 18810.0, 19500.0)
    local.advance(1)  # the node is down: the stop fills; the take-profit is still live
    assert legs(local) == {"stop": ("FINISHED", True), "target": ("NEW", True)}
    again = OrderManager(rig.manager.exchange, LiveLedger(store, "acct"))
    updates = again.refresh_open()
    assert sorted(u.kind for u in updates) == ["expired", "filled"]
    assert legs(local)["target"] == ("CANCELED", True)
    assert position(local) == 0.0


def test_a_restart_after_the_fill_was_recorded_but_before_the_cancel_cancels_it(
    local: Any,  # noqa: F811
    store: RunStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The crash falls between the fill's record and the other leg's cancel."""
    from engine.runtime.live import orders

    rig = Rig(local, store)
    exits(rig, 18810.0, 19500.0)
    local.advance(1)
    monkeypatch.setattr(orders, "settle_pair", lambda *_: [])  # the crash: no cancel
    rig.manager.refresh_open()
    monkeypatch.undo()
    assert legs(local)["target"] == ("NEW", True)
    filled = {r.order_id: r.status.value for r in LiveLedger(store, "acct").orders()}
    assert (filled["s-000002"], filled["s-000003"]) == ("filled", "open")
    again = OrderManager(rig.manager.exchange, LiveLedger(store, "acct"))
    assert [u.kind for u in again.refresh_open()] == ["expired"]
    assert legs(local)["target"] == ("CANCELED", True)


def live_stops(local: Any) -> list[float]:  # noqa: F811
    return [a.trigger_price for a in local.venue.algos.orders.values() if a.status == "NEW"]


def test_a_trailing_move_cut_short_after_the_cancel_is_finished_by_the_next_settle(
    local: Any,  # noqa: F811
    store: RunStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The node dies between cancelling the old link and sending the new one: no stop for
    that moment, two never; the next settle (a poll, or a restart's first) sends it."""
    prices: dict[str, float] = {"BTC/USDT": bar(100).close}
    rig = Rig(local, store, prices)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    local.advance(1)
    rig.venue.submit(request(2, OrderSide.SELL, 0.01, order_type=OrderType.TRAILING_STOP,
                             trailing_offset=100.0))  # fmt: skip
    assert live_stops(local) == [18763.9]
    local.advance(1)
    send = rig.manager.submit

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the node died here")

    monkeypatch.setattr(rig.manager, "submit", crash)
    with pytest.raises(RuntimeError):
        rig.venue.process_bar(bar(101))  # row 101's high moves it to 18870.00
    assert live_stops(local) == []  # the old link cancelled, the new one not sent
    monkeypatch.setattr(rig.manager, "submit", send)
    rig.venue.poll()
    assert live_stops(local) == [18870.0]
    algo = next(a for a in local.venue.algos.orders.values() if a.status == "NEW")
    assert algo.reduce_only
    rig.venue.cancel("s-000002")  # the strategy cancels the trailing stop: its live link
    assert live_stops(local) == []
    assert rig.kinds()[-1] == "OrderCanceled"
    assert position(local) == pytest.approx(0.01)


# -- stops only the exchange's newer price is through (-2021) ------------------------------
# Row 99 closed at 18818.85, row 100 opens at 18818.05; row 101 closed at 18954.42, row 102
# opens at 18955.83 (`tests.contract.test_live_triggered_stops`): the backtest triggers
# such a stop at the next open and fills it there.


@pytest.mark.parametrize(
    ("side", "kind", "limit", "events"),
    [
        (OrderSide.SELL, OrderType.STOP, None, ["OrderAccepted", "OrderFilled"]),
        (OrderSide.SELL, OrderType.STOP_LIMIT, 18818.00,
         ["OrderAccepted", "OrderTriggered", "OrderFilled"]),
        (OrderSide.BUY, OrderType.STOP, None, ["OrderAccepted", "OrderFilled"]),
        (OrderSide.BUY, OrderType.STOP_LIMIT, 18956.00,
         ["OrderAccepted", "OrderTriggered", "OrderFilled"]),
    ],
)  # fmt: skip
def test_a_stop_only_the_exchange_is_through_is_sent_as_its_order_and_fills_at_the_open(
    local: Any, store: RunStore, side: OrderSide, kind: OrderType, limit: float | None,  # noqa: F811
    events: list[str],
) -> None:  # fmt: skip
    sell = side is OrderSide.SELL
    if not sell:
        local.advance(2)  # row 102 in progress
    rig = Rig(local, store, prices={"BTC/USDT": 18818.85 if sell else 18954.42})
    rig.venue.submit(request(1, OrderSide.BUY if sell else OrderSide.SELL, 0.02))  # a position
    rig.events.clear()
    stop_at = 18818.50 if sell else 18955.00
    rig.venue.submit(request(2, side, 0.02, order_type=kind, stop_price=stop_at,
                             limit_price=limit))  # fmt: skip
    assert rig.kinds() == events
    price = 18818.05 if sell else 18955.83
    fill = rig.events[-1]
    assert (fill.order_id, fill.side, fill.quantity, fill.price, fill.leaves_quantity) == (
        "s-000002", side, 0.02, price, 0.0)  # fmt: skip
    assert not rig.venue.working
    assert local.venue.algos.orders == {}  # the refused algo order never existed
    assert position(local) == 0.0  # closed: the stand-in went reduce-only, as the stop would
    rows = [r for r in rig.manager.ledger.orders() if r.order_id == "s-000002"]
    assert [(r.status.value, r.stop_price, r.triggered_from) for r in rows] == [
        ("rejected", stop_at, None), ("filled", None, rows[0].client_id)]  # fmt: skip
    assert "Order would immediately trigger." in rows[0].reason


def test_a_restart_after_the_stand_ins_request_reads_it_back_once(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    first = Rig(local, store, prices={"BTC/USDT": 18818.85})
    first.venue.submit(request(1, OrderSide.BUY, 0.02))
    create = first.manager.exchange.create
    sent: list[Any] = []

    def dying(spec: Any) -> Any:
        sent.append(spec)
        if len(sent) == 1:
            return create(spec)  # the stop: refused, -2021
        create(spec)  # the market order reached the exchange; the answer is lost
        raise KeyboardInterrupt  # the node dies

    first.manager.exchange.create = dying  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.venue.submit(stop(2, OrderSide.SELL, 0.02, 18818.50))
    second = Rig(local, store)  # a new process: reconciliation reads the stand-in back
    rows = [r for r in second.manager.ledger.orders() if r.order_id == "s-000002"]
    assert [(r.status.value, r.stop_price) for r in rows] == [("rejected", 18818.50),
                                                              ("filled", None)]  # fmt: skip
    sells = [o for o in local.venue.orders.values() if o.side == "SELL"]
    assert [(o.type, o.status, o.quantity) for o in sells] == [("MARKET", "FILLED", 0.02)]
    assert position(local) == 0.0


def test_a_restart_keeps_an_adopted_trailing_stop_reduce_only_once_its_position_closed(
    local: Any,  # noqa: F811
    store: RunStore,
    tmp_path: Path,
) -> None:
    """Found by `tests.integration.test_live_perpetual_exits_crash`: the store did not keep
    whether an order went out reduce-only, so a restarted node adopted its reduce-only
    trailing stop as a plain one; once another exit had closed the position, the next move
    sent a link that was not reduce-only — a late trigger would open the other side."""
    from engine.runtime.live.restore import restore
    from engine.runtime.live.venue import live_mode
    from engine.runtime.node import TradingNode
    from tests.integration.test_live_perpetual_parity import (
        funding_file,
        long_short,
        perpetual_config,
    )

    prices: dict[str, float] = {"BTC/USDT": bar(100).close}
    rig = Rig(local, store, prices)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01)._replace(strategy_id="ls"))
    local.advance(1)
    trailing = request(2, OrderSide.SELL, 0.01, order_type=OrderType.TRAILING_STOP,
                       trailing_offset=100.0, reduce_only=True)  # fmt: skip
    rig.venue.submit(trailing._replace(strategy_id="ls"))
    rig.venue.submit(request(3, OrderSide.SELL, 0.01)._replace(strategy_id="ls"))  # flat now
    assert position(local) == 0.0
    assert [a.reduce_only for a in local.venue.algos.orders.values()] == [True]
    again = Rig(local, store, prices)  # the restart: a new manager over the same store
    node = TradingNode(perpetual_config(funding_file(tmp_path)), clock=SimClock(5),
                       strategy=long_short(0), mode=live_mode(again.manager))  # fmt: skip
    restored = restore(node, again.manager, INSTRUMENTS)
    assert restored.adopted == ["s-000002"]
    venue = node.kernel.venue
    assert isinstance(venue, LiveVenue)
    assert venue.adopted_request("s-000002").reduce_only
    local.advance(1)
    venue.process_bar(bar(101))  # row 101's high moves the stop: a new link
    links = list(local.venue.algos.orders.values())
    assert [(a.status, a.reduce_only) for a in links] == [("CANCELED", True), ("NEW", True)]


def test_a_refused_stops_stand_in_resent_while_flat_keeps_the_stops_reduce_only(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """The same mistake in `engine.runtime.live.triggered.respec`: a stand-in rebuilt from
    its row (it was never placed) went reduce-only only if it closed the position at the
    exchange then; flat by then, it went plain and would open one. The row says how it
    went out."""
    from engine.runtime.live.ledger import LiveOrder, LiveStatus
    from engine.runtime.live.triggered import respec

    exchange = Rig(local, store).manager.exchange
    assert position(local) == 0.0
    row = LiveOrder("kst-stand-in", "s-000002", "s", "BTC/USDT", "sell", "market", 0.02, None,
                    "GTC", LiveStatus.UNKNOWN, reduce_only=True)  # fmt: skip
    assert respec(row, exchange).reduce_only
    assert not respec(row.but(reduce_only=False), exchange).reduce_only  # an entry stays one


def test_a_trailing_stops_next_link_stays_reduce_only_once_another_exit_closed_its_position(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    # the strategy did not flag it: its first link went out reduce-only by the venue's rule
    # (it closed the position); the next link, the position closed meanwhile, must too
    prices: dict[str, float] = {"BTC/USDT": bar(100).close}
    rig = Rig(local, store, prices)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    local.advance(1)
    trailing = request(2, OrderSide.SELL, 0.01, order_type=OrderType.TRAILING_STOP,
                       trailing_offset=100.0)  # fmt: skip
    rig.venue.submit(trailing)
    assert [a.reduce_only for a in local.venue.algos.orders.values()] == [True]
    rig.venue.submit(request(3, OrderSide.SELL, 0.01))  # flat now
    assert position(local) == 0.0
    local.advance(1)
    rig.venue.process_bar(bar(101))  # row 101's high moves the stop: a new link
    links = list(local.venue.algos.orders.values())
    assert [(a.status, a.reduce_only) for a in links] == [("CANCELED", True), ("NEW", True)]
