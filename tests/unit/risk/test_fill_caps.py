"""`fill_cap`: a quantity sized at the fill, capped at the [risk] limits (hand numbers).

The account of ``test_limits``: cash 10,000, A at 100. The fill is at 50.
"""

from __future__ import annotations

from dataclasses import replace

from engine.model import Instrument, OrderSide
from engine.risk.fill_caps import fill_cap
from engine.risk.limits import (
    OrderNotionalCheck,
    OrderQuantityCheck,
    PositionNotionalCheck,
    PositionPercentCheck,
    PositionQuantityCheck,
)
from tests.unit.risk.test_limits import Account, order, state, working

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_notional_limits_are_valued_at_the_fill_price() -> None:
    # 7,000 / 50 = 140; a position of 20 leaves 7,500 / 50 - 20 = 130
    assert fill_cap(order(BUY, 100), 50.0, 200.0, 0.0, state(), [OrderNotionalCheck(7_000)]) == (
        140.0,
        "target_sizing fill: the target 200 at 50 is capped at 140 by max_order_notional 7000.00",
    )
    held = state(Account(positions={"A": 20.0}))
    assert fill_cap(order(BUY, 100), 50.0, 200.0, 20.0, held, [PositionNotionalCheck(7_500)])[
        0
    ] == (130.0)


def test_position_percent_of_equity_and_working_orders() -> None:
    # equity 10,000: 40% = 4,000 = 80 at 50; a working buy of 30 leaves 50
    busy = state(orders=[working("A", BUY, 30)])
    assert fill_cap(order(BUY, 10), 50.0, 200.0, 0.0, busy, [PositionPercentCheck(40.0)]) == (
        50.0,
        "target_sizing fill: the target 200 at 50 is capped at 50 by max_position_pct 40% of "
        "10000.00",
    )


def test_the_tightest_limit_wins_and_reducing_is_not_capped_below_the_position() -> None:
    checks = [OrderQuantityCheck(150), PositionQuantityCheck(120)]
    assert fill_cap(order(BUY, 10), 50.0, 200.0, 0.0, state(), checks)[0] == 120.0
    assert fill_cap(order(BUY, 10), 50.0, 100.0, 0.0, state(), checks) == (100.0, "")
    # short 90: a buy may cover it and go long up to 120 (210), and never less than 180
    short = state(Account(positions={"A": -90.0}))
    assert (
        fill_cap(order(BUY, 10), 50.0, 300.0, -90.0, short, [PositionQuantityCheck(120)])[0]
        == 210.0
    )
    assert (
        fill_cap(order(BUY, 10), 50.0, 300.0, -90.0, short, [PositionQuantityCheck(10)])[0] == 180.0
    )
    assert fill_cap(order(SELL, 10), 50.0, 5.0, 0.0, state(), []) == (5.0, "")


def test_a_cap_below_the_instruments_minimum_sends_nothing() -> None:
    # room for 2 at 50 = 100 under a minimum notional of 150: nothing is filled
    held = state(Account(positions={"A": 8.0}))
    minimum = replace(held, instrument=Instrument("A", min_notional=150.0))
    assert fill_cap(order(BUY, 1), 50.0, 5.0, 8.0, minimum, [PositionQuantityCheck(10)]) == (
        0.0,
        "target_sizing fill: the target 5 at 50 is capped at 2 by max_position_quantity 10, "
        "below the minimum order of A",
    )
