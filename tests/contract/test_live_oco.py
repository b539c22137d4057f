"""Brackets live: the two exits of a bracket as one exchange OCO on the local exchange.

The node is started as ``kestrel live`` starts it (`tests.contract.test_live_restart.start`).
On row 99's close the strategy enters a bracket: a market buy of 0.01 BTC (filled at row
100's open, 18818.05) whose stop-loss and take-profit go out together, once it filled, as
one order list. Row 100: high 18932, low 18800.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.model import OrderStatus
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from engine.runtime.live.kill import flatten_and_halt
from engine.strategy import Context
from tests.contract.test_live_restart import INSTRUMENTS, bar, local, start, store, wallet

__all__ = ["local", "store"]  # the fixtures, shared with the restart tests

ENTRY, STOP, TARGET = "s-000001", "s-000002", "s-000003"


def bracket(stop: float, target: float) -> Callable[[Context], None]:
    def step(ctx: Context) -> None:
        ctx.bracket("BTC/USDT", "buy", 0.01, stop_loss=stop, take_profit=target)

    return step


def exits(local: Any) -> dict[str, tuple[str, str]]:
    """The exchange's exit legs: type -> (status, list id)."""
    return {o.type: (o.status, o.list_id) for o in local.venue.orders.values() if o.side == "SELL"}


def statuses(node: Any) -> dict[str, OrderStatus]:
    return {oid: o.status for oid, o in node.orders().items()}


def sold(local: Any) -> list[tuple[str, float, float]]:
    return [(o.type, o.filled, o.quote_filled / o.filled) for o in local.venue.orders.values()
            if o.side == "SELL" and o.filled]  # fmt: skip


@pytest.mark.parametrize(
    ("stop", "target", "filled", "price"),
    [
        (18700.0, 18900.0, "LIMIT_MAKER", 18900.0),  # the take-profit: the stop expires
        (18810.0, 19500.0, "STOP_LOSS", 18810.0),  # the stop: the take-profit expires
        (18810.0, 18900.0, "STOP_LOSS", 18810.0),  # row 100 reaches both: the stop only
    ],
)
def test_one_leg_fills_and_the_other_is_canceled(
    local: Any, store: RunStore, stop: float, target: float, filled: str, price: float
) -> None:
    node = start(local, store, [bracket(stop, target)])
    node.node.on_event(bar(99))
    assert exits(local) == {"STOP_LOSS": ("NEW", 0), "LIMIT_MAKER": ("NEW", 0)}  # one list
    assert local.venue.locked["BTC"] == pytest.approx(0.01)  # locked once for both
    rows = {r.order_id: r for r in node.manager.ledger.orders()}
    assert rows[STOP].list_id == rows[TARGET].list_id != None  # noqa: E711
    assert statuses(node) == {ENTRY: OrderStatus.FILLED, STOP: OrderStatus.ACCEPTED,
                              TARGET: OrderStatus.ACCEPTED}  # fmt: skip
    local.advance(1)
    node.node.on_event(bar(100))
    assert sold(local) == [(filled, 0.01, pytest.approx(price))]
    leg = STOP if filled == "STOP_LOSS" else TARGET
    other = TARGET if leg == STOP else STOP
    assert statuses(node) == {ENTRY: OrderStatus.FILLED, leg: OrderStatus.FILLED,
                              other: OrderStatus.CANCELED}  # fmt: skip
    assert node.orders()[other].reason == "oco: the other leg filled"
    assert [(f.order_id, f.price) for f in node.strategy.fills] == [
        (ENTRY, 18818.05), (leg, pytest.approx(price)),
    ]  # fmt: skip
    assert wallet(local, "BTC") == pytest.approx(0.0)  # never more sold than held
    assert node.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)
    assert not node.venue.working


def test_a_cancel_of_one_leg_from_the_strategy_cancels_both(local: Any, store: RunStore) -> None:
    node = start(local, store, [bracket(18700.0, 19500.0), lambda ctx: ctx.cancel(STOP)])
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))  # the strategy cancels the stop: the list goes
    assert exits(local) == {"STOP_LOSS": ("CANCELED", 0), "LIMIT_MAKER": ("CANCELED", 0)}
    assert statuses(node)[STOP] is OrderStatus.CANCELED
    assert statuses(node)[TARGET] is OrderStatus.CANCELED
    assert local.venue.free["BTC"] == pytest.approx(0.01)  # unlocked, still held
    assert not node.venue.working


def test_a_crash_after_one_leg_filled_restarts_with_no_leg_working(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [bracket(18700.0, 18900.0)])
    first.node.on_event(bar(99))
    local.advance(1)  # the take-profit fills while the node is down; the exchange expires the stop
    second = start(local, store, [])
    assert sorted(second.restored.adopted) == [STOP, TARGET]
    assert statuses(second) == {STOP: OrderStatus.CANCELED, TARGET: OrderStatus.FILLED}
    assert [(f.order_id, f.price) for f in second.strategy.fills] == [(TARGET, 18900.0)]
    rows = {r.order_id: r.status for r in second.manager.ledger.orders()}
    assert rows == {ENTRY: LiveStatus.FILLED, STOP: LiveStatus.EXPIRED, TARGET: LiveStatus.FILLED}
    assert not [o for o in local.venue.orders.values() if o.open]
    assert not second.venue.working
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)


def test_a_crash_with_both_legs_working_adopts_the_pair(local: Any, store: RunStore) -> None:
    first = start(local, store, [bracket(18700.0, 19500.0)])
    first.node.on_event(bar(99))
    second = start(local, store, [lambda ctx: ctx.cancel(TARGET)])
    assert sorted(second.restored.adopted) == [STOP, TARGET]
    assert second.venue.working == {STOP, TARGET}
    local.advance(1)
    second.node.on_event(bar(100))  # a cancel of an adopted leg still cancels the list
    assert exits(local) == {"STOP_LOSS": ("CANCELED", 0), "LIMIT_MAKER": ("CANCELED", 0)}
    assert statuses(second) == {STOP: OrderStatus.CANCELED, TARGET: OrderStatus.CANCELED}


def test_the_kill_switch_cancels_the_list_then_sells(local: Any, store: RunStore) -> None:
    node = start(local, store, [bracket(18700.0, 19500.0)])
    node.node.on_event(bar(99))
    updates = flatten_and_halt(node.manager, INSTRUMENTS)
    assert [u.kind for u in updates] == ["canceled", "canceled", "accepted", "filled"]
    assert exits(local) == {"STOP_LOSS": ("CANCELED", 0), "LIMIT_MAKER": ("CANCELED", 0),
                            "MARKET": ("FILLED", -1)}  # fmt: skip
    assert wallet(local, "BTC") == pytest.approx(0.0)


def test_a_group_live_cannot_send_is_rejected_with_a_reason(local: Any, store: RunStore) -> None:
    def three(ctx: Context) -> None:
        ctx.buy("BTC/USDT", 0.01)

    def exits_of_three(ctx: Context) -> None:
        for kw in ({"stop_price": 18700.0}, {"limit_price": 19500.0}, {"stop_price": 18600.0}):
            ctx.submit_order("BTC/USDT", "sell", 0.01, reduce_only=True, oco_group="g", **kw)

    node = start(local, store, [three, exits_of_three])
    node.node.on_event(bar(99))
    local.advance(1)
    node.node.on_event(bar(100))
    rejected = {oid: o.reason for oid, o in node.orders().items() if o.status.name == "REJECTED"}
    assert sorted(rejected) == ["s-000002", "s-000003", "s-000004"]
    assert set(rejected.values()) == {
        "live trading sends a one-cancels-other group of one stop (or stop-limit) and one "
        "limit as an exchange OCO, not limit, stop, stop"
    }
    assert exits(local) == {}  # no exit was sent


def test_a_market_sell_cancels_the_engines_exits_that_lock_its_coins_first(
    local: Any, store: RunStore
) -> None:
    # [risk.exits] attach a stop and a take-profit to the fill: on spot one order list that
    # locks the 0.01 BTC. The strategy's own market sell must still sell them (the backtest
    # sells, then cancels the exits of the closed position): the node cancels the exits
    # first. Before, the sell was refused "the wallet holds no BTC to sell" and the position
    # stayed open until a stop filled much later (found by a lockstep run of live_btc).
    def buy(ctx: Context) -> None:
        ctx.buy("BTC/USDT", 0.01)

    def close(ctx: Context) -> None:
        ctx.close_position("BTC/USDT")

    risk = {"exits": {"stop_loss_pct": 2.0, "take_profit_pct": 5.0}}
    node = start(local, store, [buy, close], risk=risk)
    node.node.on_event(bar(99))
    assert local.venue.locked["BTC"] == pytest.approx(0.01)  # the exits' list
    local.advance(1)
    node.node.on_event(bar(100))  # the strategy closes its position at market
    assert [f.price for f in node.strategy.fills] == [18818.05, pytest.approx(18863.90)]
    assert wallet(local, "BTC") == pytest.approx(0.0)
    assert node.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)
    exits_now = {oid: o.status for oid, o in node.orders().items() if ".exits" in o.strategy_id}
    assert set(exits_now.values()) == {OrderStatus.CANCELED}
    assert not node.venue.working
