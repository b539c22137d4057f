"""The order state machine: every legal move allowed, every other move refused; fills."""

from __future__ import annotations

import itertools

import pytest

from engine.model import (
    ORDER_TRANSITIONS,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    next_status,
)
from engine.model.orders import IllegalTransition

S = OrderStatus
# Written from the diagram in DESIGN.md / the orders module docstring, not from the table.
LEGAL = {
    (S.REQUESTED, S.DENIED),
    (S.REQUESTED, S.SUBMITTED),
    (S.SUBMITTED, S.ACCEPTED),
    (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.CANCELED),
    (S.ACCEPTED, S.PARTIALLY_FILLED),
    (S.ACCEPTED, S.FILLED),
    (S.ACCEPTED, S.CANCELED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELED),
}
# The statuses of issue 2, sorted: the same test ids in every process (pytest-xdist needs it).
BASE = sorted({s for pair in LEGAL for s in pair})
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))
ILLEGAL = [pair for pair in itertools.product(BASE, BASE) if pair not in LEGAL]


def make_order(quantity: float = 10.0, status: OrderStatus = S.REQUESTED) -> Order:
    order = Order(
        order_id="S1-000001",
        strategy_id="S1",
        symbol="X",
        side=OrderSide.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        limit_price=None,
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        ts_created=1,
    )
    order.status = status
    return order


def test_table_covers_every_status() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)
    # later statuses may add moves, but never change those between the base statuses
    table = {(a, b) for a, targets in ORDER_TRANSITIONS.items() for b in targets}
    assert {(a, b) for a, b in table if a in BASE and b in BASE} == LEGAL


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_next_status_follows_the_table_for_every_pair(
    current: OrderStatus, target: OrderStatus
) -> None:
    if target in ORDER_TRANSITIONS[current]:
        assert next_status(current, target) is target
    else:
        with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
            next_status(current, target)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions(current: OrderStatus, target: OrderStatus) -> None:
    assert next_status(current, target) is target
    order = make_order(status=current)
    order.transition(target, 42, "why")
    assert (order.status, order.ts_last, order.reason) == (target, 42, "why")


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_transition_raises(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        next_status(current, target)
    order = make_order(status=current)
    with pytest.raises(IllegalTransition):
        order.transition(target, 42)
    assert order.status is current
    assert order.ts_last == 0


@pytest.mark.parametrize("status", list(OrderStatus))
def test_closed_means_no_way_out(status: OrderStatus) -> None:
    assert status.is_closed is (not ORDER_TRANSITIONS[status])


@pytest.mark.parametrize(
    ("status", "closed"),
    [
        (S.DENIED, True),
        (S.REJECTED, True),
        (S.FILLED, True),
        (S.CANCELED, True),
        (S.REQUESTED, False),
        (S.SUBMITTED, False),
        (S.ACCEPTED, False),
        (S.PARTIALLY_FILLED, False),
    ],
)
def test_closed_statuses(status: OrderStatus, closed: bool) -> None:
    assert status.is_closed is closed


@pytest.mark.parametrize(
    ("status", "is_open"),
    [
        (S.REQUESTED, False),
        (S.SUBMITTED, False),
        (S.ACCEPTED, True),
        (S.PARTIALLY_FILLED, True),
        (S.FILLED, False),
        (S.CANCELED, False),
        (S.DENIED, False),
        (S.REJECTED, False),
    ],
)
def test_is_open(status: OrderStatus, is_open: bool) -> None:
    assert make_order(status=status).is_open is is_open


def test_side_sign() -> None:
    assert (OrderSide.BUY.sign, OrderSide.SELL.sign) == (1, -1)


def test_transition_keeps_earlier_reason_when_none_given() -> None:
    order = make_order(status=S.SUBMITTED)
    order.transition(S.ACCEPTED, 5, "first")
    order.transition(S.CANCELED, 6)
    assert order.reason == "first"


def test_apply_fill_partial_then_full() -> None:
    order = make_order(quantity=10.0, status=S.ACCEPTED)
    order.apply_fill(4.0, 100.0, 0.4, ts=7)
    assert order.status is S.PARTIALLY_FILLED
    assert (order.filled_quantity, order.leaves_quantity) == (4.0, 6.0)
    assert order.average_fill_price == 100.0
    assert order.ts_last == 7
    assert order.is_open
    order.apply_fill(6.0, 101.0, 0.606, ts=8)
    assert order.status is S.FILLED
    # (4 * 100 + 6 * 101) / 10 = 1006 / 10
    assert order.average_fill_price == pytest.approx(100.6, abs=1e-12)
    assert order.fees == pytest.approx(1.006, abs=1e-12)
    assert order.leaves_quantity == 0.0
    assert not order.is_open


def test_apply_fill_three_partials_average() -> None:
    order = make_order(quantity=0.3, status=S.ACCEPTED)
    for quantity, price in [(0.1, 10.0), (0.1, 20.0), (0.1, 33.0)]:
        order.apply_fill(quantity, price, 0.0, ts=1)
    # float sum 0.1 + 0.1 + 0.1 != 0.3 exactly: the relative tolerance still closes it
    assert order.status is S.FILLED
    assert order.average_fill_price == pytest.approx(21.0, abs=1e-12)


def test_apply_fill_in_one_go() -> None:
    order = make_order(quantity=5.0, status=S.ACCEPTED)
    order.apply_fill(5.0, 20.0, 0.1, ts=3)
    assert (order.status, order.average_fill_price, order.fees) == (S.FILLED, 20.0, 0.1)


@pytest.mark.parametrize("status", [S.REQUESTED, S.SUBMITTED, S.FILLED, S.CANCELED, S.DENIED])
def test_fill_of_an_order_that_cannot_fill_raises_and_changes_nothing(
    status: OrderStatus,
) -> None:
    order = make_order(quantity=10.0, status=status)
    with pytest.raises(IllegalTransition):
        order.apply_fill(4.0, 100.0, 0.4, ts=9)
    assert order.status is status
    assert (order.filled_quantity, order.average_fill_price, order.fees) == (0.0, 0.0, 0.0)
