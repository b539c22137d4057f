"""A field an order type does not take is denied, in a backtest and in the node's kernel.

Found by an audit (run through the whole kernel, 10 bps slippage): a market buy of 10
with ``limit_price=50`` filled at 50.00 on a bar open 100 / high 103 / low 99 (cash 9,500;
the open slipped is 100.10, cash 8,999); a market sell with ``limit_price=1000`` filled at
1000 on a bar whose high was 105; market-on-open at 1.00, market-on-close at 50.00, a
trailing stop at 150.00. A limit order's ``stop_price`` (orders.csv showed a stop of 200),
a limit's ``trailing_offset`` and a GTC order's ``expire_time`` were silently ignored.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.bus import EventBus
from engine.model import OrderDenied, OrderRequested, OrderSide, OrderType, TimeInForce
from engine.runtime.modes import NODE
from tests.integration.scripted_run import FLAT, T0, bare_kernel, cash, denied, fills, run

SLIPPAGE = {"slippage_bps": 10.0}
BAR = (100.0, 103.0, 99.0, 101.0)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (
            {"order_type": "market", "limit_price": 50},
            "a market order takes no limit_price, got 50",
        ),
        (
            {"order_type": "market_on_open", "limit_price": 1},
            "a market_on_open order takes no limit_price, got 1",
        ),
        (
            {"order_type": "market_on_close", "limit_price": 50},
            "a market_on_close order takes no limit_price, got 50",
        ),
        (
            {"order_type": "market", "stop_price": 500},
            "a market order takes no stop_price, got 500",
        ),
        (
            {"order_type": "limit", "limit_price": 99, "stop_price": 200},
            "a limit order with a stop price is a stop_limit order; set order_type",
        ),
        (
            {"limit_price": 99, "trailing_offset": 2},
            "a limit order takes no trailing_offset, got 2",
        ),
        (
            {"limit_price": 99, "expire_time": T0 + 10**15},
            "expire_time applies to gtd orders only, not gtc: set time_in_force='gtd'",
        ),
    ],
)
def test_a_buy_with_a_field_its_type_does_not_take_is_denied(
    kwargs: dict[str, Any], reason: str
) -> None:
    result = run(
        [FLAT, BAR, BAR],
        {0: [lambda ctx: ctx.submit_order("X", "buy", 10, **kwargs)]},
        execution=SLIPPAGE,
    )
    # was: filled at the "limit" (50.00, 1.00, ...) or with the field ignored
    assert denied(result) == [("order_validity", reason)]
    assert fills(result) == []
    assert cash(result) == 10_000.0


def test_a_plain_market_buy_fills_at_the_slipped_open() -> None:
    result = run([FLAT, BAR], {0: [lambda ctx: ctx.buy("X", 10)]}, execution=SLIPPAGE)
    assert fills(result) == [("buy", 100.1, 10.0)]
    assert cash(result) == pytest.approx(8_999.0)


@pytest.mark.parametrize(
    ("kind", "kwargs", "reason"),
    [
        ("market", {"limit_price": 1000}, "a market order takes no limit_price, got 1000"),
        (
            "trailing_stop",
            {"trailing_offset": 3, "limit_price": 150, "reduce_only": True},
            "a trailing_stop order takes no limit_price, got 150",
        ),
    ],
)
def test_a_sell_with_a_limit_its_type_does_not_take_is_denied(
    kind: str, kwargs: dict[str, Any], reason: str
) -> None:
    result = run(
        [FLAT, FLAT, (104, 106, 96, 97), (90, 95, 88, 94)],
        {
            0: [lambda ctx: ctx.buy("X", 10)],
            1: [lambda ctx: ctx.submit_order("X", "sell", 10, order_type=kind, **kwargs)],
        },
        execution=SLIPPAGE,
    )
    # was: sold at 1000 on a bar whose high was 106, or the trailing stop at 150
    assert denied(result) == [("order_validity", reason)]
    assert fills(result) == [("buy", 100.1, 10.0)]


def test_the_node_kernel_denies_it_too() -> None:
    # paper and live wire the same RiskEngine (one kernel): the same words
    kernel = bare_kernel(NODE)
    bus: EventBus = kernel.bus
    seen: list[OrderDenied] = []
    bus.subscribe(OrderDenied, seen.append)
    bus.publish(
        OrderRequested(
            "S1-000009",
            "S1",
            "X",
            OrderSide.BUY,
            10.0,
            OrderType.MARKET,
            50.0,
            None,
            TimeInForce.GTC,
            T0,
            T0,
        )
    )
    assert [(e.check, e.reason) for e in seen] == [
        ("order_validity", "a market order takes no limit_price, got 50")
    ]
