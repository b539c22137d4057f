"""Risk's ``order_validity``: an order carries the fields its type takes, and no other.

A field an order type does not take was silently ignored or, worse, misapplied: a market
order's ``limit_price`` capped its slipped fill price, so a market buy with
``limit_price=50`` filled at 50 on a bar that traded 99..103. Each such field is a mistake,
denied in one line naming it.
"""

from __future__ import annotations

import math

import pytest

from engine.model import OrderRequested, OrderSide, OrderType, TimeInForce, TrailingOffsetType
from tests.unit.risk.test_risk_engine import Harness

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MARKET, LIMIT, STOP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP
STOP_LIMIT, TRAILING = OrderType.STOP_LIMIT, OrderType.TRAILING_STOP
MOO, MOC = OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE
GTC, GTD, DAY = TimeInForce.GTC, TimeInForce.GTD, TimeInForce.DAY


def order(
    kind: OrderType,
    *,
    side: OrderSide = BUY,
    limit: float | None = None,
    stop: float | None = None,
    tif: TimeInForce = GTC,
    expire: int | None = None,
    offset: float | None = None,
    offset_type: TrailingOffsetType = TrailingOffsetType.PRICE,
) -> OrderRequested:
    return OrderRequested(
        "S1-000001",
        "S1",
        "A",
        side,
        3.0,
        kind,
        limit,
        stop,
        tif,
        1,
        1,
        expire_time_ns=expire,
        trailing_offset=offset,
        trailing_offset_type=offset_type,
    )


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (order(MARKET, limit=50.0), "a market order takes no limit_price, got 50"),
        (order(MARKET, side=SELL, limit=1000.0), "a market order takes no limit_price, got 1000"),
        (order(MOO, limit=1.0), "a market_on_open order takes no limit_price, got 1"),
        (order(MOC, limit=50.0), "a market_on_close order takes no limit_price, got 50"),
        (
            order(TRAILING, side=SELL, offset=3.0, limit=150.0),
            "a trailing_stop order takes no limit_price, got 150",
        ),
        (order(MARKET, stop=500.0), "a market order takes no stop_price, got 500"),
        (order(MOO, stop=90.0), "a market_on_open order takes no stop_price, got 90"),
        (order(MOC, stop=90.0), "a market_on_close order takes no stop_price, got 90"),
        (
            order(LIMIT, limit=99.0, stop=200.0),
            "a limit order with a stop price is a stop_limit order; set order_type",
        ),
        (order(LIMIT, limit=99.0, offset=2.0), "a limit order takes no trailing_offset, got 2"),
        (order(MARKET, offset=2.0), "a market order takes no trailing_offset, got 2"),
        (order(STOP, stop=90.0, offset=2.0), "a stop order takes no trailing_offset, got 2"),
        (
            order(STOP_LIMIT, stop=90.0, limit=89.0, offset=2.0),
            "a stop_limit order takes no trailing_offset, got 2",
        ),
        (
            order(LIMIT, limit=99.0, offset_type=TrailingOffsetType.PERCENT),
            "a limit order takes no trailing_offset_type, got percent",
        ),
        (
            order(LIMIT, limit=99.0, expire=10**18),
            "expire_time applies to gtd orders only, not gtc: set time_in_force='gtd'",
        ),
        (
            order(MARKET, tif=DAY, expire=10**18),
            "expire_time applies to gtd orders only, not day: set time_in_force='gtd'",
        ),
    ],
)
def test_a_field_the_order_type_does_not_take_is_denied(
    request_: OrderRequested, reason: str
) -> None:
    assert Harness().denied(request_, "order_validity") == reason


@pytest.mark.parametrize(
    "request_",
    [
        order(MARKET),
        order(MOO),
        order(MOC),
        order(LIMIT, limit=99.0),
        order(STOP, stop=101.0),
        order(STOP_LIMIT, stop=101.0, limit=102.0),
        order(TRAILING, side=SELL, offset=3.0),
        order(TRAILING, side=SELL, offset=3.0, stop=95.0),  # its initial stop
        order(TRAILING, side=SELL, offset=3.0, offset_type=TrailingOffsetType.PERCENT),
        order(LIMIT, limit=99.0, tif=GTD, expire=10**18),
    ],
)
def test_the_fields_each_order_type_takes_pass(request_: OrderRequested) -> None:
    approved = Harness().approved(request_)
    assert approved.order_type is request_.order_type
    assert approved.limit_price == request_.limit_price
    assert approved.stop_price == request_.stop_price


def test_a_nan_limit_on_a_market_order_is_named_as_such() -> None:
    reason = Harness().denied(order(MARKET, limit=math.nan), "order_validity")
    assert reason == "limit_price must be a positive number, got nan"
