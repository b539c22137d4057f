"""Market data and events: immutable values with int-ns timestamps."""

from __future__ import annotations

import pytest

from engine.model import (
    Bar,
    CancelRequested,
    EquitySnapshot,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    PositionChanged,
    QuoteTick,
    TimeInForce,
    TradeTick,
)

HOUR = 3_600 * 10**9


def test_bar_open_time_is_close_minus_timeframe() -> None:
    bar = Bar("X", 10 * HOUR, 10 * HOUR, 1.0, 2.0, 0.5, 1.5, 100.0, HOUR)
    assert bar.ts_open == 9 * HOUR


@pytest.mark.parametrize(
    "event",
    [
        Bar("X", 2, 2, 1.0, 2.0, 0.5, 1.5, 100.0, 1),
        TradeTick("X", 1, 1, 10.0, 2.0, "buy", "t1"),
        QuoteTick("X", 1, 1, 9.9, 10.1, 3.0, 4.0),
        OrderRequested(
            "S1-1",
            "S1",
            "X",
            OrderSide.BUY,
            1.0,
            OrderType.MARKET,
            None,
            None,
            TimeInForce.GTC,
            1,
            1,
        ),
        OrderDenied("S1-1", "S1", "X", "cash", "no", 1, 1),
        CancelRequested("S1-1", "S1", 1, 1),
        OrderAccepted("S1-1", "S1", "X", 1, 1),
        OrderRejected("S1-1", "S1", "X", "no", 1, 1),
        OrderFilled("S1-1", "S1", "F1", "X", OrderSide.BUY, 1.0, 10.0, 0.01, "taker", 0.0, 1, 1),
        OrderCanceled("S1-1", "S1", "X", "why", 1, 1),
        PositionChanged("X", 1.0, 10.0, 0.0, 1, 1),
        EquitySnapshot(1, 1, 100.0, 110.0, 10.0),
    ],
)
def test_events_are_immutable_and_carry_int_timestamps(event: object) -> None:
    with pytest.raises(AttributeError):
        event.ts_event = 5  # type: ignore[attr-defined]
    assert isinstance(event.ts_event, int)  # type: ignore[attr-defined]
    assert isinstance(event.ts_init, int)  # type: ignore[attr-defined]


def test_enum_values_are_the_artifact_strings() -> None:
    assert [str(s) for s in OrderSide] == ["buy", "sell"]
    assert {"market", "limit", "stop"} <= {str(t) for t in OrderType}
    assert str(TimeInForce.GTC) == "gtc"


def test_request_tag_defaults_to_empty() -> None:
    request = OrderRequested(
        "S1-1", "S1", "X", OrderSide.SELL, 2.0, OrderType.LIMIT, 10.0, None, TimeInForce.GTC, 3, 4
    )
    assert request.tag == ""
    assert request._replace(quantity=1.0).quantity == 1.0
    assert request.quantity == 2.0
