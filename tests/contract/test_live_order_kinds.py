"""The order kinds the live venue sends beyond plain ones: post-only, DAY/GTD, modifications.

The node is started as ``kestrel live`` starts it (`tests.contract.test_live_restart.start`)
on the paused local exchange: 100 closed hourly BTC/USDT bars, row 100 in progress (open
18818.05, high 18932, low 18800); the node has seen row 99 close at 18818.85. Row 101:
open 18863.90, low 18840.69; row 102: low 18906.16; row 103: low 18900.

* Post-only limits go as LIMIT_MAKER; one the last close is through is rejected by the node
  (the backtest's rule and reason), one only the exchange's price is through by the
  exchange (-2010), the strategy hears `OrderRejected` either way.
* DAY/GTD: sent as GTC; the node cancels at the first poll at or after the expiry (a bar's
  close = the next bar's open) and publishes `OrderExpired` with the next bar, where the
  backtest expires it; the expiry is read back from the store after a restart.
* Modify: a cancel-replace under a new client id written first; a crash before the request
  or after it leaves exactly one working order once restarted.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.adapters.ccxt.replace import ReplaceFailed
from engine.adapters.ccxt.venue import OrderSpec
from engine.model import (
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderStatus,
)
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from engine.strategy import Context
from tests.contract.test_live_orders import Rig
from tests.contract.test_live_restart import Node, bar, local, start, store, wallet

__all__ = ["local", "store"]  # the fixtures, shared with the restart tests

SYMBOL = "BTC/USDT"


def exchange_orders(local: Any) -> list[tuple[str, str, float, str]]:
    return [(o.type, o.side, o.price, o.status) for o in local.venue.orders.values()]


def working(local: Any) -> list[tuple[str, float, float]]:
    return [(o.type, o.price, o.quantity) for o in local.venue.orders.values() if o.open]


class Heard:
    """The strategy-side events of a node (rejections, expiries, modifications)."""

    def __init__(self, node: Node) -> None:
        self.events: list[Any] = []
        bus = node.node.kernel.bus
        for kind in (OrderRejected, OrderExpired, OrderModified, OrderModifyRejected):
            bus.subscribe(kind, self.events.append)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


# -- post-only -----------------------------------------------------------------------------


def post_only_buy(price: float) -> Any:
    def step(ctx: Context) -> None:
        ctx.buy(SYMBOL, 0.01, limit_price=price, post_only=True)

    return step


def test_a_post_only_limit_rests_as_limit_maker_and_fills_as_a_maker(
    local: Any, store: RunStore
) -> None:
    node = start(local, store, [post_only_buy(18810.0)])
    node.node.on_event(bar(99))
    assert exchange_orders(local) == [("LIMIT_MAKER", "BUY", 18810.0, "NEW")]
    local.advance(1)  # row 100's low 18800 trades through it
    node.node.on_event(bar(100))
    fills = node.strategy.fills
    assert [(f.order_id, f.quantity, f.price, f.liquidity) for f in fills] == [
        ("s-000001", 0.01, 18810.0, "maker")
    ]
    assert node.orders()["s-000001"].status is OrderStatus.FILLED
    rows = node.manager.ledger.orders()
    assert [(r.post_only, r.status) for r in rows] == [(True, LiveStatus.FILLED)]


def test_a_post_only_limit_the_last_close_is_through_is_rejected_by_the_node(
    local: Any, store: RunStore
) -> None:
    node = start(local, store, [post_only_buy(18820.0)])
    heard = Heard(node)
    node.node.on_event(bar(99))  # closed at 18818.85: a buy at 18820 would take
    assert heard.kinds() == ["OrderRejected"]
    # the backtest's words
    assert heard.events[0].reason == (
        "post-only limit 18820 would take liquidity at the last price 18818.8"
    )
    assert exchange_orders(local) == []  # nothing sent


def test_a_post_only_limit_the_exchange_price_is_through_is_refused_there(
    local: Any, store: RunStore
) -> None:
    # under the last close 18818.85, above the exchange's price (row 100 opened at 18818.05)
    node = start(local, store, [post_only_buy(18818.5)])
    heard = Heard(node)
    node.node.on_event(bar(99))
    assert heard.kinds() == ["OrderRejected"]
    assert "Order would immediately match and take." in heard.events[0].reason
    assert node.orders()["s-000001"].status is OrderStatus.REJECTED
    assert exchange_orders(local) == []


# -- DAY and GTD ---------------------------------------------------------------------------


def gtd(expire_ns: int) -> Any:
    def step(ctx: Context) -> None:
        ctx.buy(SYMBOL, 0.01, limit_price=18700.0, time_in_force="gtd", expire_time=expire_ns)

    return step


def test_a_gtd_order_is_canceled_when_its_last_bar_closed_and_heard_expired(
    local: Any, store: RunStore
) -> None:
    expire = bar(101).ts_event  # row 102 opens then: the backtest expires it before row 102
    node = start(local, store, [gtd(expire)])
    heard = Heard(node)
    node.node.on_event(bar(99))
    assert exchange_orders(local) == [("LIMIT", "BUY", 18700.0, "NEW")]  # sent as GTC
    assert local.venue.orders[1].time_in_force == "GTC"
    assert node.manager.ledger.orders()[0].expire_ns == expire
    local.advance(1)
    node.node.on_event(bar(100))  # row 100 was its bar too
    assert heard.kinds() == []
    assert working(local) == [("LIMIT", 18700.0, 0.01)]
    local.advance(1)
    node.node.on_event(bar(101))  # row 101 was its last bar: canceled at the exchange now
    assert exchange_orders(local) == [("LIMIT", "BUY", 18700.0, "CANCELED")]
    assert heard.kinds() == []  # heard with row 102, where the backtest expires it
    assert node.orders()["s-000001"].status is OrderStatus.ACCEPTED
    local.advance(1)
    node.node.on_event(bar(102))
    assert heard.kinds() == ["OrderExpired"]
    assert node.orders()["s-000001"].status is OrderStatus.EXPIRED
    assert wallet(local, "USDT") == pytest.approx(10_000.0)


def test_a_day_order_expires_at_the_end_of_the_utc_day_it_was_accepted_in(
    local: Any, store: RunStore
) -> None:
    def day(ctx: Context) -> None:
        ctx.buy(SYMBOL, 0.01, limit_price=18700.0, time_in_force="day")

    node = start(local, store, [day])
    heard = Heard(node)
    node.node.on_event(bar(99))  # accepted at 04:00 on 5 Dec 2020: expires at midnight
    midnight = node.manager.ledger.orders()[0].expire_ns
    assert midnight == bar(119).ts_event  # row 119 (23:00) closes at 00:00 on 6 Dec
    for row in range(100, 119):
        local.advance(1)
        node.node.on_event(bar(row))
    assert heard.kinds() == []
    assert working(local) == [("LIMIT", 18700.0, 0.01)]
    local.advance(1)
    node.node.on_event(bar(119))  # canceled at the exchange at midnight
    assert working(local) == []
    local.advance(1)
    node.node.on_event(bar(120))  # the first bar of 6 Dec: heard expired
    assert heard.kinds() == ["OrderExpired"]


def test_a_gtd_order_adopted_after_a_restart_still_expires(local: Any, store: RunStore) -> None:
    expire = bar(101).ts_event
    first = start(local, store, [gtd(expire)])
    first.node.on_event(bar(99))
    second = start(local, store, [])  # the node died; the order rests at the exchange
    order = second.orders()["s-000001"]
    assert (order.status, str(order.time_in_force)) == (OrderStatus.ACCEPTED, "gtd")
    heard = Heard(second)
    for row in (100, 101, 102):
        local.advance(1)
        second.node.on_event(bar(row))
    assert heard.kinds() == ["OrderExpired"]
    assert working(local) == []
    assert order.status is OrderStatus.EXPIRED


def test_an_order_that_fills_before_its_expiry_is_filled_not_expired(
    local: Any, store: RunStore
) -> None:
    def step(ctx: Context) -> None:
        ctx.buy(SYMBOL, 0.01, limit_price=18810.0, time_in_force="gtd",
                expire_time=bar(100).ts_event)  # fmt: skip

    node = start(local, store, [step])
    heard = Heard(node)
    node.node.on_event(bar(99))
    local.advance(1)  # row 100 (its only bar) fills it at 18810
    node.node.on_event(bar(100))
    assert heard.kinds() == []
    assert node.orders()["s-000001"].status is OrderStatus.FILLED


# -- modify --------------------------------------------------------------------------------


def rest(ctx: Context) -> None:
    ctx.buy(SYMBOL, 0.01, limit_price=18700.0)


def amend(ctx: Context) -> None:
    ctx.modify("s-000001", limit_price=18850.0)


def test_a_modified_limit_is_replaced_at_the_exchange_and_fills_at_its_new_price(
    local: Any, store: RunStore
) -> None:
    node = start(local, store, [rest, amend])
    heard = Heard(node)
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))  # the limit moves up to 18850
    assert heard.kinds() == ["OrderModified"]
    assert exchange_orders(local) == [
        ("LIMIT", "BUY", 18700.0, "CANCELED"),
        ("LIMIT", "BUY", 18850.0, "NEW"),
    ]
    rows = node.manager.ledger.orders()
    assert [(r.order_id, r.status, r.replaces) for r in rows] == [
        ("s-000001", LiveStatus.CANCELED, None),
        ("s-000001", LiveStatus.OPEN, rows[0].client_id),
    ]
    order = node.orders()["s-000001"]
    assert (order.status, order.limit_price, order.quantity) == (
        OrderStatus.ACCEPTED,
        18850.0,
        0.01,
    )
    local.advance(1)  # row 101's low 18840.69 trades through 18850
    node.node.on_event(bar(101))
    assert [(f.order_id, f.price) for f in node.strategy.fills] == [("s-000001", 18850.0)]
    assert order.status is OrderStatus.FILLED
    assert wallet(local, "BTC") == pytest.approx(0.01)


def test_a_cancel_after_a_modification_reaches_the_new_exchange_order(
    local: Any, store: RunStore
) -> None:
    node = start(local, store, [rest, lambda ctx: ctx.modify("s-000001", limit_price=18750.0),
                                lambda ctx: ctx.cancel("s-000001")])  # fmt: skip
    for row in (99, 100, 101):
        node.node.on_event(bar(row))
        local.advance(1)
    assert working(local) == []
    assert node.orders()["s-000001"].status is OrderStatus.CANCELED


def test_a_modification_the_backtest_refuses_is_refused_without_a_request(
    local: Any, store: RunStore
) -> None:
    node = start(local, store, [rest, lambda ctx: ctx.modify("s-000001", stop_price=18000.0)])
    heard = Heard(node)
    node.node.on_event(bar(99))
    node.node.on_event(bar(100))
    assert heard.kinds() == ["OrderModifyRejected"]
    assert heard.events[0].reason == "a limit order has no stop price to modify"
    assert working(local) == [("LIMIT", 18700.0, 0.01)]


def test_a_post_only_limit_moved_through_the_market_is_refused_and_keeps_resting(
    local: Any, store: RunStore
) -> None:
    def post(ctx: Context) -> None:
        ctx.buy(SYMBOL, 0.01, limit_price=18700.0, post_only=True)

    node = start(local, store, [post, lambda ctx: ctx.modify("s-000001", limit_price=19000.0)])
    heard = Heard(node)
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))
    assert heard.kinds() == ["OrderModifyRejected"]
    assert working(local) == [("LIMIT_MAKER", 18700.0, 0.01)]


def test_the_exchange_answers_a_cancel_replace_as_binance_does(local: Any, store: RunStore) -> None:
    node = start(local, store, [rest])
    node.node.on_event(bar(99))
    exchange = node.manager.exchange
    old = node.manager.ledger.orders()[0].client_id
    maker = OrderSpec("kst-new-1", SYMBOL, "buy", "limit", 0.01, 18900.0, post_only=True)
    with pytest.raises(ReplaceFailed) as partial:  # -2021: canceled, the new one refused
        exchange.cancel_replace(old, maker)
    assert partial.value.canceled
    assert partial.value.reason == "Order would immediately match and take."
    assert exchange_orders(local) == [("LIMIT", "BUY", 18700.0, "CANCELED")]
    again = OrderSpec("kst-new-2", SYMBOL, "buy", "limit", 0.01, 18600.0)
    with pytest.raises(ReplaceFailed) as failed:  # -2022: the cancel failed, nothing tried
        exchange.cancel_replace(old, again)
    assert not failed.value.canceled
    assert failed.value.reason == "Unknown order sent."
    assert len(local.venue.orders) == 1


class Crash(BaseException):
    """The node dies here (SIGKILL: nothing after this line runs)."""


def die(*_: Any, **__: Any) -> Any:
    raise Crash


@pytest.mark.parametrize("moment", ["before_request", "after_request"])
def test_a_crash_in_the_middle_of_a_modification_leaves_exactly_one_working_order(
    local: Any, store: RunStore, moment: str
) -> None:
    first = start(local, store, [rest, amend])
    first.node.on_event(bar(99))
    exchange = first.manager.exchange
    if moment == "before_request":  # the new row is committed, the request never left
        exchange.cancel_replace = die  # type: ignore[method-assign]
    else:  # the exchange replaced it, the answer was never written back
        send = exchange.cancel_replace
        exchange.cancel_replace = lambda old, spec: (send(old, spec), die())  # type: ignore[method-assign]
    local.advance(1)
    with pytest.raises(Crash):
        first.node.on_event(bar(100))
    rows = first.manager.ledger.orders()
    assert [(r.status, bool(r.replaces)) for r in rows] == [
        (LiveStatus.OPEN, False),
        (LiveStatus.SENDING, True),
    ]
    second = start(local, store, [])
    price = 18700.0 if moment == "before_request" else 18850.0
    assert working(local) == [("LIMIT", price, 0.01)]  # exactly one, at the exchange
    assert second.restored.adopted == ["s-000001"]
    order = second.orders()["s-000001"]
    assert (order.status, order.limit_price) == (OrderStatus.ACCEPTED, price)
    if moment == "before_request":  # not found: UNKNOWN until it can no longer arrive
        heard = Heard(second)
        second.manager.settle_ms = 0
        local.advance(1)
        second.node.on_event(bar(101))
        assert heard.kinds() == ["OrderModifyRejected"]
        assert heard.events[0].reason.startswith("never placed")
        statuses = [r.status for r in second.manager.ledger.orders()]
        assert statuses == [LiveStatus.OPEN, LiveStatus.REJECTED]
        assert working(local) == [("LIMIT", 18700.0, 0.01)]
    else:
        statuses = [r.status for r in second.manager.ledger.orders()]
        assert statuses == [LiveStatus.CANCELED, LiveStatus.OPEN]
        local.advance(1)  # row 101 fills the moved limit at 18850
        second.node.on_event(bar(101))
        assert [(f.order_id, f.price) for f in second.strategy.fills] == [("s-000001", 18850.0)]
        assert order.status is OrderStatus.FILLED
    assert sum(o.status == "FILLED" for o in local.venue.orders.values()) == (
        0 if moment == "before_request" else 1
    )


def long_with_a_stop() -> list[Any]:
    """Buy 0.01 at market on row 99 (filled at row 100's open, 18818.05); a sell stop at
    18700 on row 100."""
    return [lambda ctx: ctx.buy(SYMBOL, 0.01),
            lambda ctx: ctx.sell(SYMBOL, 0.01, stop_price=18700.0)]  # fmt: skip


def test_a_stop_moved_up_is_replaced_as_a_stop_loss_and_triggers_at_its_new_level(
    local: Any, store: RunStore
) -> None:
    plan = [*long_with_a_stop(), lambda ctx: ctx.modify("s-000002", stop_price=18910.0)]
    node = start(local, store, plan)
    for row in (99, 100):
        node.node.on_event(bar(row))
        local.advance(1)
    node.node.on_event(bar(101))  # the stop moves up to 18910
    stops = [(o.type, o.stop_price, o.status) for o in local.venue.orders.values()
             if o.side == "SELL"]  # fmt: skip
    assert stops == [("STOP_LOSS", 18700.0, "CANCELED"), ("STOP_LOSS", 18910.0, "NEW")]
    assert node.orders()["s-000002"].stop_price == 18910.0
    local.advance(1)
    node.node.on_event(bar(102))  # row 102's low 18906.16 triggers it at 18910
    assert [(f.order_id, f.price) for f in node.strategy.fills] == [
        ("s-000001", 18818.05),
        ("s-000002", 18910.0),
    ]
    assert wallet(local, "BTC") == pytest.approx(0.0)


def test_a_stop_moved_through_the_last_price_is_replaced_by_a_market_order(
    local: Any, store: RunStore
) -> None:
    # row 101 closed at 18954.42: a sell stop at 19000 is already through; the backtest
    # triggers it at row 102's open, 18955.83 — live it is sent as the market order
    plan = [*long_with_a_stop(), lambda ctx: ctx.modify("s-000002", stop_price=19000.0)]
    node = start(local, store, plan)
    for row in (99, 100, 101):
        node.node.on_event(bar(row))
        local.advance(1)
    node.node.on_event(bar(102))
    assert [(f.order_id, f.price) for f in node.strategy.fills][-1] == ("s-000002", 18955.83)
    assert [o.type for o in local.venue.orders.values()] == ["MARKET", "STOP_LOSS", "MARKET"]
    order = node.orders()["s-000002"]
    assert (order.status, order.stop_price) == (OrderStatus.FILLED, 19000.0)


# -- the manager's cancel-replace, answer by answer ----------------------------------------

RESTING = OrderSpec("", SYMBOL, "buy", "limit", 0.01, 18700.0)
MOVED = OrderSpec("", SYMBOL, "buy", "limit", 0.01, 18750.0)


def rested(local: Any, store: RunStore, **kw: Any) -> tuple[Rig, Any]:
    rig = Rig(local, store, **kw)
    rig.manager.submit("s-000001", "s", RESTING)
    old = rig.manager.current("s-000001")
    assert old is not None
    return rig, old


def test_a_replace_that_times_out_after_the_exchange_did_it_is_found_by_both_ids(
    local: Any, store: RunStore
) -> None:
    rig, old = rested(local, store)
    local.inject("timeout", count=1, path="/api/v3/order/cancelReplace", delay_s=1.5)
    updates = rig.manager.replace(old, MOVED, "kst-moved-1")
    assert [(u.kind, u.order.client_id) for u in updates] == [
        ("canceled", old.client_id),
        ("accepted", "kst-moved-1"),
    ]
    current = rig.manager.current("s-000001")
    assert current is not None
    assert (current.client_id, current.limit_price) == ("kst-moved-1", 18750.0)
    assert working(local) == [("LIMIT", 18750.0, 0.01)]  # exactly one, never sent twice
    assert len(local.venue.orders) == 2
    assert rig.manager.replace(old, MOVED, "kst-moved-1") == []  # asked again: read back
    assert len(local.venue.orders) == 2


def test_a_replace_that_never_reached_the_exchange_is_never_placed_and_the_old_one_works(
    local: Any, store: RunStore
) -> None:
    rig, old = rested(local, store, settle_ms=0)  # not found: never placed (default 60 s)
    local.inject("server_error", count=1, path="/api/v3/order/cancelReplace")
    updates = rig.manager.replace(old, MOVED, "kst-moved-1")
    assert [(u.kind, u.order.client_id) for u in updates] == [("rejected", "kst-moved-1")]
    assert updates[0].order.reason.startswith("never placed")
    current = rig.manager.current("s-000001")
    assert current is not None
    assert (current.client_id, current.status) == (old.client_id, LiveStatus.OPEN)
    assert working(local) == [("LIMIT", 18700.0, 0.01)]


def test_a_replace_whose_cancel_fails_reports_how_the_old_one_ended_and_places_nothing(
    local: Any, store: RunStore
) -> None:
    rig, old = rested(local, store)
    local.venue.cancel("BTCUSDT", None, old.client_id)  # ended at the exchange meanwhile
    updates = rig.manager.replace(old, MOVED, "kst-moved-1")
    assert [(u.kind, u.order.client_id) for u in updates] == [
        ("canceled", old.client_id),  # the exchange's truth about the old one
        ("rejected", "kst-moved-1"),
    ]
    assert updates[1].order.reason == (
        "modification refused (the cancel of the old one): Unknown order sent."
    )
    assert len(local.venue.orders) == 1  # -2022: the new order was not attempted


def test_a_replace_whose_new_order_is_refused_leaves_the_old_one_canceled(
    local: Any, store: RunStore
) -> None:
    rig, old = rested(local, store)
    maker = OrderSpec("", SYMBOL, "buy", "limit", 0.01, 18900.0, post_only=True)
    updates = rig.manager.replace(old, maker, "kst-moved-1")
    assert [(u.kind, u.order.client_id) for u in updates] == [
        ("canceled", old.client_id),
        ("rejected", "kst-moved-1"),
    ]
    assert updates[1].order.reason == (
        "modification refused (the new order): Order would immediately match and take."
    )
    assert working(local) == []


def test_a_replacement_the_exchange_refuses_after_canceling_is_heard_as_a_cancel(
    local: Any, store: RunStore
) -> None:
    # the local exchange checks the new order before the cancel and places it after: an
    # injected refusal for both looks refuses it once the old order is canceled (-2021)
    plan = [lambda ctx: ctx.buy(SYMBOL, 0.01, stop_price=19500.0), lambda ctx: None,
            lambda ctx: ctx.modify("s-000001", stop_price=19400.0)]  # fmt: skip
    node = start(local, store, plan)
    canceled: list[Any] = []
    node.node.kernel.bus.subscribe(OrderCanceled, canceled.append)
    for row in (99, 100):
        node.node.on_event(bar(row))
        local.advance(1)
    local.inject("reject", count=2)
    node.node.on_event(bar(101))
    assert [c.reason for c in canceled] == [
        "canceled: modification refused (the new order): Order was rejected (injected fault)."
    ]
    assert node.orders()["s-000001"].status is OrderStatus.CANCELED
    assert working(local) == []


def test_a_stop_moved_through_the_exchanges_price_fills_at_the_open_as_in_the_backtest(
    local: Any, store: RunStore
) -> None:
    # row 101 closed at 18954.42 and row 102 opened at 18955.83: a buy stop moved to 18955
    # is not through the node's last price but is through the exchange's (-2010 in the
    # cancel-replace's new order): the old stop is canceled and a market order sent in its
    # place, which fills at row 102's open, where the backtest triggers the moved stop
    plan = [lambda ctx: ctx.buy(SYMBOL, 0.01, stop_price=19500.0), lambda ctx: None,
            lambda ctx: ctx.modify("s-000001", stop_price=18955.0)]  # fmt: skip
    node = start(local, store, plan)
    heard: list[Any] = []
    for kind in (OrderCanceled, OrderModified, OrderFilled):
        node.node.kernel.bus.subscribe(kind, heard.append)
    for row in (99, 100):
        node.node.on_event(bar(row))
        local.advance(1)
    node.node.on_event(bar(101))
    assert [type(e).__name__ for e in heard] == ["OrderModified", "OrderFilled"]
    assert (heard[1].quantity, heard[1].price) == (0.01, 18955.83)
    order = node.orders()["s-000001"]
    assert (order.status, order.stop_price) == (OrderStatus.FILLED, 18955.0)
    assert working(local) == []
    assert node.node.kernel.portfolio.position_quantity(SYMBOL) == pytest.approx(0.01)


def test_a_partly_filled_order_is_replaced_for_what_is_left_and_restored_whole(
    local: Any, store: RunStore
) -> None:
    local.inject("partial", count=1, fraction=0.5)  # row 100 fills 0.01 of the 0.02
    plan = [lambda ctx: ctx.buy(SYMBOL, 0.02, limit_price=18810.0),
            lambda ctx: ctx.modify("s-000001", limit_price=18700.0)]  # fmt: skip
    first = start(local, store, plan)
    first.node.on_event(bar(99))
    local.advance(1)
    first.node.on_event(bar(100))  # the partial fill is read, then the limit moves down
    assert working(local) == [("LIMIT", 18700.0, 0.01)]  # the new order: what is left
    order = first.orders()["s-000001"]
    assert (order.quantity, order.filled_quantity, order.limit_price) == (0.02, 0.01, 18700.0)
    second = start(local, store, [])  # restored from the new order and both orders' fills
    order = second.orders()["s-000001"]
    assert (order.status, order.quantity, order.filled_quantity, order.limit_price) == (
        OrderStatus.PARTIALLY_FILLED,
        0.02,
        0.01,
        18700.0,
    )
    assert second.node.kernel.portfolio.position_quantity(SYMBOL) == pytest.approx(0.01)


def test_a_replacement_not_found_at_restart_whose_old_order_ended_stands_for_the_order(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest, amend])
    first.node.on_event(bar(99))
    exchange = first.manager.exchange
    send = exchange.cancel_replace
    exchange.cancel_replace = lambda old, spec: (send(old, spec), die())  # type: ignore[method-assign]
    local.inject("not_found", queries=10)  # the new order hides from its first look-ups
    local.advance(1)
    with pytest.raises(Crash):
        first.node.on_event(bar(100))
    second = start(local, store, [])
    rows = second.manager.ledger.orders()
    assert [r.status for r in rows] == [LiveStatus.CANCELED, LiveStatus.UNKNOWN]
    assert second.restored.adopted == ["s-000001"]  # the new order, not yet found
    order = second.orders()["s-000001"]
    assert (order.status, order.limit_price) == (OrderStatus.ACCEPTED, 18850.0)
    for row in (101, 102, 103, 104, 105):  # row 101 fills it at 18850; a poll finds it
        local.advance(1)
        second.node.on_event(bar(row))
    assert [(f.order_id, f.price) for f in second.strategy.fills] == [("s-000001", 18850.0)]
    assert order.status is OrderStatus.FILLED
    assert working(local) == []


def test_a_gtd_order_already_past_its_expiry_is_not_sent(local: Any, store: RunStore) -> None:
    node = start(local, store, [gtd(bar(98).ts_event)])  # the backtest never fills it
    heard = Heard(node)
    node.node.on_event(bar(99))
    assert heard.kinds() == ["OrderRejected"]
    assert "is not after now" in heard.events[0].reason
    assert exchange_orders(local) == []
