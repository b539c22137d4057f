"""Positions, cash, PnL and equity, by hand."""

from __future__ import annotations

import math

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import EquitySnapshot, OrderFilled, OrderSide, PositionChanged
from engine.portfolio import Portfolio, Position

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_position_average_partial_close_flip_and_cover() -> None:
    p = Position("A")
    steps = [
        # (signed quantity, price) -> (quantity, average, realized by this fill)
        ((10.0, 100.0), (10.0, 100.0, 0.0)),
        ((10.0, 110.0), (20.0, 105.0, 0.0)),  # (10 x 100 + 10 x 110) / 20
        ((-5.0, 120.0), (15.0, 105.0, 75.0)),  # 5 x (120 - 105); average unchanged
        ((-25.0, 100.0), (-10.0, 100.0, -75.0)),  # closes 15 x (100 - 105), opens short @100
        ((-10.0, 94.0), (-20.0, 97.0, 0.0)),  # (10 x 100 + 10 x 94) / 20
        ((4.0, 90.0), (-16.0, 97.0, 28.0)),  # short covers 4 x (97 - 90)
        ((16.0, 99.0), (0.0, 0.0, -32.0)),  # 16 x (97 - 99); flat resets the average
        ((3.0, 50.0), (3.0, 50.0, 0.0)),
    ]
    total = 0.0
    for (signed, price), (quantity, average, realized) in steps:
        got = p.apply(signed, price)
        total += realized
        assert got == pytest.approx(realized, abs=1e-9)
        assert p.quantity == pytest.approx(quantity, abs=1e-12)
        assert p.average_price == pytest.approx(average, abs=1e-12)
        assert p.realized_pnl == pytest.approx(total, abs=1e-9)


def test_position_float_dust_closes_to_exact_zero() -> None:
    p = Position("A")
    p.apply(0.3, 10.0)
    for _ in range(3):
        p.apply(-0.1, 12.0)  # 0.3 - 0.1 - 0.1 - 0.1 = 5.6e-17 in floats
    assert p.quantity == 0.0
    assert p.average_price == 0.0
    assert p.realized_pnl == pytest.approx(0.6, abs=1e-12)  # 0.3 x (12 - 10)


def test_unrealized_pnl() -> None:
    p = Position("A")
    assert p.unrealized_pnl(123.0) == 0.0
    p.apply(-4.0, 50.0)
    assert p.unrealized_pnl(45.0) == pytest.approx(20.0)  # -4 x (45 - 50)
    p.apply(10.0, 40.0)  # flip to 6 long @40
    assert p.unrealized_pnl(45.0) == pytest.approx(30.0)


def fill(
    symbol: str, side: OrderSide, quantity: float, price: float, fee: float, ts: int
) -> OrderFilled:
    return OrderFilled(
        "S1-1", "S1", f"F-{ts}", symbol, side, quantity, price, fee, "taker", 0.0, ts, ts
    )


@pytest.fixture
def setup() -> tuple[EventBus, SimClock, dict[str, float], Portfolio, list[object]]:
    bus = EventBus()
    clock = SimClock(0)
    prices = {"A": math.nan, "B": math.nan}
    portfolio = Portfolio(bus, clock, 10_000.0, prices)
    events: list[object] = []
    bus.subscribe(PositionChanged, events.append)
    bus.subscribe(EquitySnapshot, events.append)
    bus.subscribe(OrderFilled, portfolio.on_order_filled)
    return bus, clock, prices, portfolio, events


def test_cash_positions_and_equity_with_fees(
    setup: tuple[EventBus, SimClock, dict[str, float], Portfolio, list[object]],
) -> None:
    bus, clock, prices, portfolio, events = setup
    assert (portfolio.cash, portfolio.equity(), portfolio.gross_exposure()) == (10_000.0,) * 2 + (
        0.0,
    )
    clock.set_time(100)
    prices["A"] = 100.0
    bus.publish(fill("A", BUY, 10.0, 100.0, 1.0, 90))
    assert portfolio.cash == pytest.approx(8_999.0)  # 10000 - 1000 - 1
    assert portfolio.equity() == pytest.approx(9_999.0)
    assert events[-1] == PositionChanged("A", 10.0, 100.0, 0.0, 90, 100)

    clock.set_time(200)
    prices["A"] = 120.0
    bus.publish(fill("A", SELL, 4.0, 110.0, 0.44, 200))
    assert portfolio.cash == pytest.approx(9_438.56)  # + 440 - 0.44
    assert portfolio.positions["A"].realized_pnl == pytest.approx(40.0)  # fees not in PnL
    assert portfolio.equity() == pytest.approx(10_158.56)  # + 6 x 120
    assert portfolio.gross_exposure() == pytest.approx(720.0)

    prices["B"] = 22.0
    bus.publish(fill("B", SELL, 5.0, 20.0, 0.1, 200))  # a short: proceeds go to cash
    assert portfolio.cash == pytest.approx(9_538.46)
    assert portfolio.position_quantity("B") == -5.0
    assert portfolio.equity() == pytest.approx(10_148.46)  # 9538.46 + 720 - 110
    assert portfolio.gross_exposure() == pytest.approx(830.0)
    assert portfolio.fees_paid == pytest.approx(1.54)
    assert portfolio.positions["A"].fees == pytest.approx(1.44)
    assert portfolio.positions["B"].fees == pytest.approx(0.1)

    bus.publish(fill("A", SELL, 6.0, 120.0, 0.72, 300))  # flat A
    assert portfolio.position_quantity("A") == 0.0
    assert events[-1] == PositionChanged("A", 0.0, 0.0, 160.0, 300, 200)  # 40 + 6 x 20
    assert portfolio.gross_exposure() == pytest.approx(110.0)
    # every amount the account saw: cash - initial = realized - fees + short proceeds
    assert portfolio.cash == pytest.approx(10_000.0 + 160.0 - 2.26 + 100.0)


def test_snapshot_records_and_publishes_only_when_asked(
    setup: tuple[EventBus, SimClock, dict[str, float], Portfolio, list[object]],
) -> None:
    bus, _, prices, portfolio, events = setup
    prices["A"] = 100.0
    portfolio.snapshot(50)
    bus.publish(fill("A", BUY, 10.0, 100.0, 1.0, 60))
    prices["A"] = 103.0
    portfolio.snapshot(100)
    assert portfolio.equity_curve == [
        EquitySnapshot(50, 50, 10_000.0, 10_000.0, 0.0),
        EquitySnapshot(100, 100, 8_999.0, 10_029.0, 1_030.0),
    ]
    assert not any(isinstance(e, EquitySnapshot) for e in events)

    publishing = Portfolio(bus, SimClock(0), 500.0, {"A": 1.0}, publish_snapshots=True)
    publishing.snapshot(7)
    assert events[-1] == EquitySnapshot(7, 7, 500.0, 500.0, 0.0)
    assert type(events[-1]) is EquitySnapshot
