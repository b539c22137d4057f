"""Multi-currency pieces in isolation: FxPosition arithmetic, FxRates, the curve with rates,
and risk's valuation at the rate now (hand-computed; `engine.portfolio.fx`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import (
    Instrument,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.portfolio.curve import equity_curve
from engine.portfolio.fx import FxPortfolio, FxPosition, FxRates, RateSeries
from engine.risk import RiskEngine
from tests.unit.risk.test_risk_engine import FakeOrders, FakePortfolio

SERIES = RateSeries("EUR", np.array([10, 20, 30], dtype=np.int64), np.array([1.1, 1.2, 1.3]))


def fill(side: OrderSide, quantity: float, price: float, fee: float, ts: int) -> OrderFilled:
    return OrderFilled("O", "S1", f"F{ts}", "X", side, quantity, price, fee, "taker", 0.0, ts, ts)


def test_rates_are_as_of_and_one_for_account_currency_symbols() -> None:
    rates = FxRates({"X": SERIES})
    assert math.isnan(rates.rate("X", 9))
    assert rates.rate("X", 10) == 1.1
    assert rates.rate("X", 29) == 1.2
    assert rates.rate("X", 10**9) == 1.3
    assert rates.rate("Y", 15) == 1.0
    assert bool(rates)
    assert not FxRates({})


def test_position_cost_basis_and_realized_pnl_in_account_currency() -> None:
    position = FxPosition("X")
    position.apply_converted(10, 100.0, 1.2)  # cost 1,200
    position.apply_converted(10, 110.0, 1.1)  # cost 1,210 → average cost 120.5
    assert position.average_price == pytest.approx(105.0)
    assert position.average_cost == pytest.approx(120.5)
    realized = position.apply_converted(-5, 100.0, 1.3)  # 5 × (130 − 120.5)
    assert realized == pytest.approx(47.5)
    # crossing through zero: close 15 at 90 × 1.3 = 117, open 5 short at 117
    realized = position.apply_converted(-20, 90.0, 1.3)
    assert realized == pytest.approx(15 * (117 - 120.5))
    assert position.quantity == -5
    assert (position.average_price, position.average_cost) == (90.0, pytest.approx(117.0))
    assert position.unrealized_pnl(80.0, 1.25) == pytest.approx(-5 * (100 - 117))


def test_fx_portfolio_matches_the_rebuilt_curve() -> None:
    clock = SimClock(0)
    prices = {"X": 100.0}
    portfolio = FxPortfolio(EventBus(), clock, 1_000.0, prices, FxRates({"X": SERIES}))
    fills = [fill(OrderSide.BUY, 5, 100.0, 0.5, 10), fill(OrderSide.SELL, 2, 110.0, 0.2, 20)]
    marks = {15: 104.0, 25: 111.0, 35: 90.0}
    expected = []
    for ts, event in ((10, fills[0]), (15, None), (20, fills[1]), (25, None), (35, None)):
        clock.set_time(ts)
        if event is not None:
            portfolio.on_order_filled(event)
        prices["X"] = marks.get(ts, event.price if event else 0.0)
        expected.append((ts, portfolio.cash, portfolio.equity(), portfolio.gross_exposure()))
    ts = np.array([t for t, *_ in expected], dtype=np.int64)
    close = np.array([100.0, 104.0, 110.0, 111.0, 90.0])
    curve = equity_curve(portfolio.journal, [("X", ts, close)], rates={"X": SERIES})
    assert curve[1].tolist() == pytest.approx([e[1] for e in expected])
    assert curve[2].tolist() == pytest.approx([e[2] for e in expected])
    assert curve[3].tolist() == pytest.approx([e[3] for e in expected])
    # hand numbers: buy 5 at 100 × 1.1 + fee 0.55 → cash 449.45; at 35: 3 × 90 × 1.3
    assert expected[0][1] == pytest.approx(1_000 - 550.55)
    assert expected[-1][2] == pytest.approx(449.45 + (220 - 0.2) * 1.2 + 3 * 90 * 1.3)


def test_risk_values_orders_at_the_rate_now_and_denies_without_a_rate() -> None:
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(OrderApproved, events.append)
    bus.subscribe(OrderDenied, events.append)
    rate = {"A": 2.0}
    risk = RiskEngine(
        bus,
        SimClock(1),
        {"A": Instrument("A", quote_currency="EUR", lot_size=1.0)},
        FakePortfolio(cash=1_000.0, equity_value=1_000.0),
        FakeOrders(),
        fee_rate=0.0,
        fx_rate=lambda symbol: rate[symbol],
    )

    def buy(quantity: float) -> object:
        order = OrderRequested(
            "S1-1",
            "S1",
            "A",
            OrderSide.BUY,
            quantity,
            OrderType.MARKET,
            None,
            None,
            TimeInForce.GTC,
            1,
            1,
        )
        risk.on_order_requested(order)
        bus.flush()
        return events.pop()

    assert isinstance(buy(5), OrderApproved)  # 5 × 100 × 2 = 1,000
    denied = buy(6)  # 1,200 > 1,000 (600 in EUR would pass)
    assert isinstance(denied, OrderDenied)
    assert denied.check == "cash"
    rate["A"] = math.nan
    denied = buy(1)
    assert isinstance(denied, OrderDenied)
    assert denied.check == "fx_rate"
    assert "EUR" in denied.reason
