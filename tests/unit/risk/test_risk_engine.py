"""RiskEngine and the built-in checks, with hand-computed numbers.

Every outcome is an event: `OrderApproved` carrying the order rounded to tick and lot, or
`OrderDenied` naming the check and the numbers that failed it. Nothing raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import (
    Instrument,
    Order,
    OrderAccepted,
    OrderApproved,
    OrderDenied,
    OrderRequested,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from engine.risk import RiskEngine, RiskState, default_checks

NOW = 5_000


@dataclass
class FakePortfolio:
    """The account as risk sees it, set by hand."""

    cash: float = 1_000.0
    equity_value: float = 1_000.0
    gross: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=lambda: {"A": 100.0, "B": 50.0})

    def equity(self) -> float:
        return self.equity_value

    def gross_exposure(self) -> float:
        return self.gross

    def margin_state(self) -> tuple[float, float]:
        return self.equity(), self.gross_exposure()

    def position_quantity(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def last_price(self, symbol: str) -> float:
        return self.prices.get(symbol, math.nan)


@dataclass
class FakeOrders:
    orders: list[Order] = field(default_factory=list)

    def all_open_orders(self) -> list[Order]:
        return self.orders


def working(
    symbol: str,
    side: OrderSide,
    quantity: float,
    *,
    limit: float | None = None,
    filled: float = 0.0,
) -> Order:
    return Order(
        order_id=f"W-{symbol}-{side}-{quantity}",
        strategy_id="S1",
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=limit,
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        ts_created=0,
        status=OrderStatus.ACCEPTED,
        filled_quantity=filled,
    )


def request(
    side: OrderSide,
    quantity: float,
    *,
    symbol: str = "A",
    limit: float | None = None,
    stop: float | None = None,
    order_type: OrderType | None = None,
) -> OrderRequested:
    if order_type is None:
        order_type = (
            OrderType.STOP
            if stop is not None
            else OrderType.LIMIT
            if limit is not None
            else OrderType.MARKET
        )
    return OrderRequested(
        "S1-000001", "S1", symbol, side, quantity, order_type, limit, stop, TimeInForce.GTC, 1, 1
    )


class Harness:
    def __init__(
        self,
        *,
        portfolio: FakePortfolio | None = None,
        orders: FakeOrders | None = None,
        fee_rate: float = 0.001,
        leverage: float = 1.0,
        allow_short: bool = True,
        instruments: dict[str, Instrument] | None = None,
    ) -> None:
        self.bus = EventBus()
        self.portfolio = portfolio or FakePortfolio()
        self.orders = orders or FakeOrders()
        self.events: list[object] = []
        self.bus.subscribe(OrderApproved, self.events.append)
        self.bus.subscribe(OrderDenied, self.events.append)
        self.risk = RiskEngine(
            self.bus,
            SimClock(NOW),
            instruments
            or {
                "A": Instrument("A", tick_size=0.01, lot_size=1.0, min_quantity=2, min_notional=50),
                "B": Instrument("B", tick_size=0.5, lot_size=0.1),
            },
            self.portfolio,
            self.orders,
            fee_rate=fee_rate,
            leverage=leverage,
            allow_short=allow_short,
        )

    def send(self, order: OrderRequested) -> OrderApproved | OrderDenied:
        self.events.clear()
        self.risk.on_order_requested(order)
        assert len(self.events) == 1
        event = self.events[0]
        assert isinstance(event, OrderApproved | OrderDenied)
        # Each order here is checked alone against the book the test gives (`orders`):
        # answer the approval so that it is no longer counted in flight by the next one.
        self.risk.on_order_answered(OrderAccepted(order.order_id, "S1", order.symbol, NOW, NOW))
        return event

    def denied(self, order: OrderRequested, check: str) -> str:
        event = self.send(order)
        assert isinstance(event, OrderDenied), event
        assert event.check == check
        assert (event.order_id, event.symbol) == (order.order_id, order.symbol)
        assert (event.ts_event, event.ts_init) == (NOW, NOW)
        return event.reason

    def approved(self, order: OrderRequested) -> OrderRequested:
        event = self.send(order)
        assert isinstance(event, OrderApproved), event
        assert (event.ts_event, event.ts_init) == (NOW, NOW)
        return event.order


BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_default_checks_order() -> None:
    assert [c.name for c in default_checks()] == [
        "instrument_rules",
        "short_selling",
        "cash",
        "leverage",
    ]


def test_unknown_symbol_is_denied() -> None:
    reason = Harness().denied(request(BUY, 1, symbol="ZZZ"), "unknown_symbol")
    assert reason == "no instrument 'ZZZ' in this run"


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (request(BUY, math.nan), "quantity must be a positive number, got nan"),
        (request(BUY, -5.0), "quantity must be a positive number, got -5.0"),
        (request(SELL, 0.0), "quantity must be a positive number, got 0.0"),
        (request(BUY, math.inf), "quantity must be a positive number, got inf"),
        (request(BUY, 3, limit=math.nan), "limit_price must be a positive number, got nan"),
        (request(BUY, 3, limit=-1.0), "limit_price must be a positive number, got -1.0"),
        (request(SELL, 3, stop=0.0), "stop_price must be a positive number, got 0.0"),
        (request(BUY, 3, order_type=OrderType.LIMIT), "a limit order needs a limit_price"),
        (request(BUY, 3, order_type=OrderType.STOP), "a stop order needs a stop_price"),
        (
            request(BUY, 3, limit=101.0, stop=100.0),
            "a stop order with a limit price is a stop_limit order; set order_type",
        ),
    ],
)
def test_malformed_orders_are_denied_not_raised(order: OrderRequested, reason: str) -> None:
    assert Harness().denied(order, "order_validity") == reason


@pytest.mark.parametrize("quantity", [math.nan, -1.0, 0.0, math.inf, -math.inf, 1e-300, 0.4])
@pytest.mark.parametrize("symbol", ["A", "B", "nope"])
@pytest.mark.parametrize("price", [None, math.nan, -3.0, 0.0, 100.0])
def test_no_input_makes_risk_raise(quantity: float, symbol: str, price: float | None) -> None:
    harness = Harness(portfolio=FakePortfolio(prices={"A": math.nan}))
    harness.send(request(BUY, quantity, symbol=symbol, limit=price))
    harness.send(request(SELL, quantity, symbol=symbol, stop=price))


def test_quantity_rounding_to_zero_is_denied() -> None:
    reason = Harness().denied(request(BUY, 0.9), "instrument_rules")
    assert reason == "quantity 0.9 rounds to 0 at lot size 1"


def test_approved_order_is_rounded_to_lot_and_tick() -> None:
    harness = Harness()
    # prices round passively: a buy limit down, a sell stop down (never more aggressive)
    approved = harness.approved(request(BUY, 5.7, limit=99.996))
    assert (approved.quantity, approved.limit_price) == (5.0, 99.99)
    approved = harness.approved(request(SELL, 3.33, symbol="B", stop=50.3))
    assert (approved.quantity, approved.stop_price) == (3.3, 50.0)
    assert approved.order_id == "S1-000001"


def test_min_quantity() -> None:
    reason = Harness().denied(request(BUY, 1), "instrument_rules")
    assert reason == "quantity 1 is below the minimum 2 for A"


def test_min_notional_at_last_close_and_at_limit() -> None:
    harness = Harness(portfolio=FakePortfolio(prices={"A": 20.0}))
    # 2 x 20 = 40 < 50
    assert harness.denied(request(BUY, 2), "instrument_rules") == (
        "notional 40.00 is below the minimum 50 for A"
    )
    # valued at its limit: 2 x 30 = 60 >= 50
    assert harness.approved(request(BUY, 2, limit=30.0)).quantity == 2.0
    # exactly the minimum passes: 2 x 25 = 50
    assert harness.approved(request(SELL, 2, stop=25.0)).quantity == 2.0


def test_min_notional_uses_the_rounded_quantity() -> None:
    harness = Harness(portfolio=FakePortfolio(prices={"A": 20.0}))
    # 2.9 lots round down to 2: 2 x 20 = 40 < 50 although 2.9 x 20 = 58
    assert "notional 40.00" in harness.denied(request(BUY, 2.9), "instrument_rules")


def test_cash_check_hand_numbers() -> None:
    harness = Harness(portfolio=FakePortfolio(cash=1_000.0))
    # 10 x 100 x 1.001 = 1001.00 > 1000
    assert harness.denied(request(BUY, 10), "cash") == (
        "insufficient cash: buying 10 A at ~100 costs 1001.00 with fees, free cash is 1000.00"
    )
    # 9 x 100 x 1.001 = 900.90 <= 1000
    assert harness.approved(request(BUY, 9)).quantity == 9.0
    # a limit order is valued at its limit: 10 x 99 x 1.001 = 990.99
    assert harness.approved(request(BUY, 10, limit=99.0)).quantity == 10.0


def test_cash_check_reserves_working_buys_of_every_symbol() -> None:
    orders = FakeOrders(
        [
            working("B", BUY, 3, limit=50.0),  # 150
            working("A", BUY, 4, filled=3),  # 1 left, valued at A's last 100
            working("A", SELL, 50),  # sells reserve nothing
        ]
    )
    harness = Harness(portfolio=FakePortfolio(cash=1_000.0), orders=orders)
    # reserved = (150 + 100) x 1.001 = 250.25 -> free 749.75
    # 7 x 100 x 1.001 = 700.70 passes; 8 x 100 x 1.001 = 800.80 does not
    assert harness.approved(request(BUY, 7)).quantity == 7.0
    assert harness.denied(request(BUY, 8), "cash") == (
        "insufficient cash: buying 8 A at ~100 costs 800.80 with fees, free cash is 749.75"
    )


def test_cash_check_lets_a_buy_cover_a_short_for_free() -> None:
    portfolio = FakePortfolio(cash=700.0, positions={"A": -5.0})
    harness = Harness(portfolio=portfolio)
    assert harness.approved(request(BUY, 5)).quantity == 5.0  # pure cover
    # 12 = 5 cover + 7 new: 7 x 100 x 1.001 = 700.70 > 700
    assert harness.denied(request(BUY, 12), "cash") == (
        "insufficient cash: buying 7 A at ~100 costs 700.70 with fees, free cash is 700.00"
    )
    # 11 = 5 cover + 6 new: 600.60
    assert harness.approved(request(BUY, 11)).quantity == 11.0
    portfolio.cash = 0.0
    assert harness.approved(request(BUY, 5)).quantity == 5.0


def test_cash_check_counts_cover_already_pending() -> None:
    # short 5, a working buy of 3 already covers part: only 2 are left to cover for free
    orders = FakeOrders([working("A", BUY, 3, limit=90.0)])
    harness = Harness(portfolio=FakePortfolio(cash=500.0, positions={"A": -5.0}), orders=orders)
    # reserved 3 x 90 x 1.001 = 270.27 -> free 229.73; buy 4 = 2 cover + 2 new = 200.20
    assert harness.approved(request(BUY, 4)).quantity == 4.0
    # buy 5 = 2 cover + 3 new = 300.30 > 229.73
    assert harness.denied(request(BUY, 5), "cash") == (
        "insufficient cash: buying 3 A at ~100 costs 300.30 with fees, free cash is 229.73"
    )


def test_cash_check_without_a_price() -> None:
    harness = Harness(portfolio=FakePortfolio(prices={"A": math.nan}))
    assert harness.denied(request(BUY, 3), "cash") == (
        "no price known yet for A to value the order"
    )


def test_cash_check_off_with_leverage() -> None:
    harness = Harness(portfolio=FakePortfolio(cash=0.0, equity_value=10_000.0), leverage=2.0)
    assert harness.approved(request(BUY, 10)).quantity == 10.0


def test_short_selling_disabled() -> None:
    orders = FakeOrders([working("A", SELL, 4)])
    portfolio = FakePortfolio(positions={"A": 10.0})
    harness = Harness(portfolio=portfolio, orders=orders, allow_short=False)
    assert harness.approved(request(SELL, 6)).quantity == 6.0
    assert harness.denied(request(SELL, 7), "short_selling") == (
        "short selling is disabled (account.allow_short = false): selling 7 with 4 pending "
        "exceeds the 10 held"
    )
    orders.orders.clear()
    assert harness.approved(request(SELL, 10)).quantity == 10.0
    portfolio.positions["A"] = 0.0
    assert "selling 2 with 0 pending exceeds the 0 held" in harness.denied(
        request(SELL, 2), "short_selling"
    )


def test_short_selling_allowed_is_checked_by_leverage() -> None:
    harness = Harness(portfolio=FakePortfolio(equity_value=1_000.0))
    # short 10 x 100 = 1000 = equity x 1: allowed; 11 -> 1100
    assert harness.approved(request(SELL, 10)).quantity == 10.0
    assert harness.denied(request(SELL, 11), "leverage") == (
        "gross exposure would be 1100.00, above equity x leverage = 1000.00"
    )


def test_leverage_with_existing_positions() -> None:
    portfolio = FakePortfolio(
        cash=0.0, equity_value=1_000.0, gross=800.0, positions={"A": 5.0, "B": -6.0}
    )
    harness = Harness(portfolio=portfolio, leverage=2.0)
    # A: 5 at last 100 = 500 of the 800 gross. Buy 10 more at limit 110:
    # 800 - 500 + 15 x 110 = 1950 <= 2000
    assert harness.approved(request(BUY, 10, limit=110.0)).quantity == 10.0
    # Buy 11: 800 - 500 + 16 x 110 = 2060 > 2000
    assert harness.denied(request(BUY, 11, limit=110.0), "leverage") == (
        "gross exposure would be 2060.00, above equity x leverage = 2000.00"
    )
    # a flip long 5 -> short 16 at 100: 800 - 500 + 16 x 100 = 1900
    assert harness.approved(request(SELL, 21)).quantity == 21.0
    # 800 - 500 + 18 x 100 = 2100
    assert "2100.00" in harness.denied(request(SELL, 23), "leverage")


def test_reducing_orders_always_pass_leverage() -> None:
    # far over the limit already (equity fell): selling part of the long still passes
    portfolio = FakePortfolio(cash=-5_000.0, equity_value=100.0, gross=5_100.0)
    portfolio.positions["B"] = 102.0
    harness = Harness(portfolio=portfolio, leverage=2.0)
    assert harness.approved(request(SELL, 50, symbol="B")).quantity == 50.0
    assert harness.approved(request(SELL, 204, symbol="B")).quantity == 204.0  # flat to -102
    assert harness.denied(request(SELL, 205, symbol="B"), "leverage")


def test_leverage_without_a_price() -> None:
    harness = Harness(portfolio=FakePortfolio(prices={}))
    assert harness.denied(request(SELL, 3), "leverage") == (
        "no price known yet for A to value the order"
    )


def test_custom_checks_replace_the_defaults() -> None:
    class NoFridays:
        name = "no_fridays"

        def check(self, order: OrderRequested, state: RiskState) -> str | None:
            assert state.instrument.symbol == order.symbol
            assert state.fee_rate == 0.001
            return "closed today" if order.quantity > 3 else None

    harness = Harness(portfolio=FakePortfolio(cash=0.0))
    harness.risk.checks = [NoFridays()]
    assert harness.approved(request(BUY, 3)).quantity == 3.0  # cash check is gone
    assert harness.denied(request(BUY, 4), "no_fridays") == "closed today"


def test_reference_price() -> None:
    state = RiskState(FakePortfolio(), FakeOrders(), Instrument("A"), 0.0, 1.0, True)
    assert state.reference_price(request(BUY, 1)) == 100.0
    assert state.reference_price(request(BUY, 1, limit=90.0)) == 90.0
    assert state.reference_price(request(SELL, 1, stop=95.0)) == 95.0


def test_leverage_counts_working_orders() -> None:
    orders = FakeOrders([working("A", SELL, 10)])
    harness = Harness(portfolio=FakePortfolio(equity_value=1_000.0), orders=orders)
    # 10 working + 10 new = 20 short x 100 = 2000 > 1000 x 1
    assert "2000.00" in harness.denied(request(SELL, 10), "leverage")
