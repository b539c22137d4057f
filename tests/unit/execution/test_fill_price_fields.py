"""A fill's price reads only the fields its order type takes (defence behind risk).

Risk denies a ``limit_price`` on an order type that takes none (`order_validity`); were
one to reach the venue anyway (a bus publisher, an adapter), it must not cap the taker's
price: a market buy carrying ``limit_price=50`` filled at 50 on a bar trading 99..103.
Only a triggered stop-limit is capped by its limit.
"""

from __future__ import annotations

import pytest

from engine.model import OrderFilled, OrderRequested, OrderSide, OrderType, TimeInForce
from tests.unit.execution.test_execution_broker import T0, TF, Venue, bar

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def submit(venue: Venue, side: OrderSide, kind: OrderType, **fields: object) -> None:
    now = venue.clock.timestamp_ns()
    venue.broker.submit(
        OrderRequested(
            "S1-000001", "S1", "A", side, 10.0, kind, None, None, TimeInForce.GTC, now, now
        )._replace(**fields)
    )


def fill_on(venue: Venue, *bars: tuple[float, float, float, float]) -> OrderFilled:
    events = venue.run(*(bar(T0 + (i + 1) * TF, *ohlc) for i, ohlc in enumerate(bars)))
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) == 1, events
    return fills[0]


@pytest.mark.parametrize(
    ("side", "kind", "limit", "price"),
    [
        (BUY, OrderType.MARKET, 50.0, 100.1),  # open 100 + 10 bps, not the "limit" 50
        (SELL, OrderType.MARKET, 1000.0, 99.9),  # open 100 - 10 bps, not 1000 (high 103)
        (BUY, OrderType.MARKET_ON_OPEN, 1.0, 100.1),
        (BUY, OrderType.MARKET_ON_CLOSE, 50.0, 101.11),  # close 101 + 10 bps, tick up
    ],
)
def test_a_limit_price_on_a_market_type_order_does_not_move_its_fill(
    side: OrderSide, kind: OrderType, limit: float, price: float
) -> None:
    venue = Venue(fee_rate=0.0, slippage_bps=10.0, last=100.0)
    submit(venue, side, kind, limit_price=limit)
    fill = fill_on(venue, (100.0, 103.0, 99.0, 101.0))
    assert fill.price == pytest.approx(price, abs=1e-9)
    assert fill.liquidity == "taker"


def test_a_limit_price_on_a_trailing_stop_does_not_move_its_fill() -> None:
    venue = Venue(fee_rate=0.0, slippage_bps=10.0, last=100.0)
    submit(venue, SELL, OrderType.TRAILING_STOP, trailing_offset=3.0, limit_price=150.0)
    fill = fill_on(venue, (100.0, 101.0, 96.0, 97.0))  # stop at 97 reached inside the bar
    assert fill.price == pytest.approx(96.9, abs=1e-9)  # 97 - 10 bps (low 96)


def test_a_triggered_stop_limit_is_still_capped_by_its_limit() -> None:
    venue = Venue(fee_rate=0.0, slippage_bps=100.0, last=100.0)
    submit(venue, BUY, OrderType.STOP_LIMIT, stop_price=105.0, limit_price=105.5)
    fill = fill_on(venue, (100.0, 107.0, 99.0, 106.0))
    assert fill.price == 105.5  # 105 + 100 bps = 106.05, capped at the limit
