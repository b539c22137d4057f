"""Stops only the exchange's newer price is through: refused there, sent as the backtest fills them.

The exchange's price moves past the stop between the node's last bar close and the send,
for real: row 99 closed at 18818.85 and row 100 opens at 18818.05 (a sell stop at 18818.50
is not through at the node's close, and is at the exchange's price: Binance -2010 "Stop
price would trigger immediately."); row 101 closed at 18954.42 and row 102 opens at
18955.83 (a buy stop at 18955.00 likewise). The backtest triggers such a stop at the next
bar's open and fills it there: 18818.05 and 18955.83. Fee 0.1% in USDT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.model import OrderSide, OrderStatus, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from engine.strategy import Context
from tests.contract.conftest import btc_rows
from tests.contract.test_live_restart import Node, bar, start, wallet
from tests.contract.test_live_venue import Rig, request

SELL_CLOSE, SELL_OPEN, SELL_STOP = 18818.85, 18818.05, 18818.50  # row 99 close, row 100 open
BUY_CLOSE, BUY_OPEN, BUY_STOP = 18954.42, 18955.83, 18955.00  # row 101 close, row 102 open


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 10000.0})


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
def test_a_stop_only_the_exchange_is_through_fills_at_the_open_as_in_the_backtest(
    local: Any, tmp_path: Path, side: OrderSide, kind: OrderType, limit: float | None,
    events: list[str],
) -> None:  # fmt: skip
    rig = Rig(local, tmp_path)
    sell = side is OrderSide.SELL
    if sell:
        rig.venue.submit(request(1, OrderSide.BUY, 0.02))  # 0.02 BTC at 18818.05
    else:
        local.advance(2)  # row 102 in progress
    rig.events.clear()
    rig.venue.prices = {"BTC/USDT": SELL_CLOSE if sell else BUY_CLOSE}  # the node's last close
    stop = SELL_STOP if sell else BUY_STOP
    rig.venue.submit(request(2, side, 0.01, order_type=kind, stop_price=stop, limit_price=limit))
    assert rig.kinds() == events
    fill = rig.events[-1]
    price = SELL_OPEN if sell else BUY_OPEN
    assert (fill.order_id, fill.side, fill.quantity, fill.price, fill.leaves_quantity) == (
        "s-000002", side, 0.01, price, 0.0,
    )  # fmt: skip
    assert fill.fee == pytest.approx(0.01 * price * 0.001)
    assert not rig.venue.working
    placed = [o for o in local.venue.orders.values() if o.side == side.name]
    assert len(placed) == 1  # the refused stop never existed at the exchange
    assert (placed[0].type, placed[0].status) == (
        "MARKET" if kind is OrderType.STOP else "LIMIT", "FILLED",
    )  # fmt: skip
    rows = [r for r in rig.manager.ledger.orders() if r.order_id == "s-000002"]
    assert [(r.status, r.stop_price, r.triggered_from) for r in rows] == [
        (LiveStatus.REJECTED, stop, None),
        (LiveStatus.FILLED, None, rows[0].client_id),
    ]
    assert "Stop price would trigger immediately." in rows[0].reason
    assert rig.manager.current("s-000002") == rows[1]
    assert wallet(local, "BTC") == pytest.approx(0.01)  # bought 0.02, sold 0.01 / bought 0.01


def test_a_post_only_limit_the_exchange_would_take_is_still_rejected(
    local: Any, tmp_path: Path
) -> None:
    # ccxt raises the same OrderImmediatelyFillable for -2010 "Order would immediately
    # match and take.": that one is no stop, it stays a rejection
    rig = Rig(local, tmp_path)
    rig.venue.prices = {"BTC/USDT": SELL_CLOSE}  # 18818.50 rests there, takes at 18818.05
    rig.venue.submit(request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT,
                             limit_price=SELL_STOP, post_only=True))  # fmt: skip
    assert rig.kinds() == ["OrderRejected"]
    assert "Order would immediately match and take." in rig.events[0].reason
    assert local.venue.orders == {}


def test_an_oco_whose_stop_only_the_exchange_is_through_sends_the_stop_alone(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    rig.events.clear()
    rig.venue.prices = {"BTC/USDT": SELL_CLOSE}
    target = request(2, OrderSide.SELL, 0.01, order_type=OrderType.LIMIT, limit_price=19000.0,
                     oco_group="g")  # fmt: skip
    stop = request(3, OrderSide.SELL, 0.01, order_type=OrderType.STOP, stop_price=SELL_STOP,
                   oco_group="g")  # fmt: skip
    for kind, handler in rig.venue.own_events():
        rig.bus.subscribe(kind, handler)

    class Together(list[Any]):
        pass

    rig.bus.subscribe(Together, lambda batch: [rig.venue.submit(o) for o in batch])
    rig.bus.publish(Together([target, stop]))
    seen = [(type(e).__name__, getattr(e, "order_id", "")) for e in rig.events
            if type(e).__name__ in ("OrderAccepted", "OrderFilled", "OrderCanceled",
                                    "OrderRejected")]  # fmt: skip
    assert seen == [
        ("OrderAccepted", "s-000003"),
        ("OrderFilled", "s-000003"),
        ("OrderCanceled", "s-000002"),
    ]
    assert rig.events[-1].reason == "oco: the other leg filled"
    fill = next(e for e in rig.events if type(e).__name__ == "OrderFilled")
    assert (fill.quantity, fill.price) == (0.01, SELL_OPEN)
    assert [(o.type, o.status) for o in local.venue.orders.values() if o.side == "SELL"] == [
        ("MARKET", "FILLED")
    ]
    assert local.venue.lists == {}  # the list was refused as a whole
    assert wallet(local, "BTC") == pytest.approx(0.0)


def test_a_stop_modified_through_the_exchanges_price_fills_at_the_open(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    rig.venue.submit(request(2, OrderSide.SELL, 0.01, order_type=OrderType.STOP,
                             stop_price=18700.0))  # fmt: skip
    rig.events.clear()
    rig.venue.prices = {"BTC/USDT": SELL_CLOSE}
    rig.venue.modify("s-000002", None, None, SELL_STOP)  # cancel-replace: the new stop refused
    assert rig.kinds() == ["OrderModified", "OrderFilled"]
    assert rig.events[0].stop_price == SELL_STOP
    assert (rig.events[1].quantity, rig.events[1].price) == (0.01, SELL_OPEN)
    sells = [(o.type, o.status) for o in local.venue.orders.values() if o.side == "SELL"]
    assert sells == [("STOP_LOSS", "CANCELED"), ("MARKET", "FILLED")]
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert not rig.venue.working


# -- crashes: the node as `kestrel live` starts it ----------------------------------------


def buy_stop(ctx: Context) -> None:
    ctx.buy("BTC/USDT", 0.01, stop_price=BUY_STOP)


class Crash(BaseException):
    """The node dies here (SIGKILL: nothing after this line runs)."""


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


@pytest.mark.parametrize("moment", ["before_the_new_request", "before_its_answer"])
def test_a_crash_after_the_refusal_ends_with_one_order_triggered_and_filled(
    local: Any, store: RunStore, moment: str
) -> None:
    first = start(local, store, [buy_stop])
    create = first.manager.exchange.create
    calls: list[OrderSpec] = []

    def dying(spec: OrderSpec) -> Any:
        calls.append(spec)
        if len(calls) == 1:
            return create(spec)  # the stop: refused by the exchange
        if moment == "before_its_answer":
            create(spec)  # the market order reached the exchange; its answer is lost
        raise Crash

    first.manager.exchange.create = dying  # type: ignore[method-assign]
    local.advance(2)
    with pytest.raises(Crash):
        first.node.on_event(bar(101))  # places the buy stop at 18955.00; row 102 is at 18955.83
    assert [c.stop_price for c in calls] == [BUY_STOP, None]
    second = start(local, store, [])
    assert second.restored.adopted == ["s-000001"]
    second.manager.settle_ms = 0  # never placed is known at once (default: 60 s later)
    order = second.orders()["s-000001"]
    assert (order.order_type, order.stop_price) == (OrderType.STOP, BUY_STOP)
    second.node.on_event(bar(102))
    bought = [o for o in local.venue.orders.values() if o.side == "BUY"]
    assert [(o.type, o.status, o.quantity) for o in bought] == [("MARKET", "FILLED", 0.01)]
    fills = [(f.order_id, f.quantity, f.price) for f in _heard(second)]
    assert fills == [("s-000001", 0.01, BUY_OPEN)]
    assert order.status is OrderStatus.FILLED
    assert wallet(local, "BTC") == pytest.approx(0.01)
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01)
    rows = [r for r in second.manager.ledger.orders() if r.order_id == "s-000001"]
    live = [r for r in rows if r.status is not LiveStatus.REJECTED]
    assert [(r.status, r.triggered_from) for r in live] == [(LiveStatus.FILLED, rows[0].client_id)]


def _heard(node: Node) -> list[Any]:
    return node.strategy.fills
