"""Configurable pre-trade limits, one check at a time, with hand-computed numbers.

The account: cash 10,000; A at 100, B at 50. Equity = cash + Σ quantity × price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from engine.model import (
    Instrument,
    Order,
    OrderRequested,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from engine.risk.checks import RiskCheck, RiskState
from engine.risk.limits import (
    AllowedSymbolsCheck,
    BlockedSymbolsCheck,
    DirectionCheck,
    GrossExposureCheck,
    LeverageLimitCheck,
    MaxOpenOrdersCheck,
    NetExposureCheck,
    OrderNotionalCheck,
    OrderQuantityCheck,
    OrderRateCheck,
    PositionNotionalCheck,
    PositionPercentCheck,
    PositionQuantityCheck,
    PriceBandCheck,
    Session,
    TradingHoursCheck,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY = 86_400 * 10**9
MONDAY = 4 * DAY  # 1970-01-05 was a Monday
HOUR = 3600 * 10**9


@dataclass
class Account:
    cash: float = 10_000.0
    positions: dict[str, float] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=lambda: {"A": 100.0, "B": 50.0})

    def equity(self) -> float:
        return self.cash + sum(q * self.prices[s] for s, q in self.positions.items())

    def gross_exposure(self) -> float:
        return sum(abs(q * self.prices[s]) for s, q in self.positions.items())

    def margin_state(self) -> tuple[float, float]:
        return self.equity(), self.gross_exposure()

    def position_quantity(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def last_price(self, symbol: str) -> float:
        return self.prices.get(symbol, math.nan)


@dataclass
class Working:
    orders: list[Order] = field(default_factory=list)

    def all_open_orders(self) -> list[Order]:
        return self.orders


def working(symbol: str, side: OrderSide, quantity: float, oco: str = "") -> Order:
    return Order(
        f"W{quantity}",
        "S1",
        symbol,
        side,
        quantity,
        OrderType.MARKET,
        None,
        None,
        TimeInForce.GTC,
        0,
        oco_group=oco,
        status=OrderStatus.ACCEPTED,
    )


def order(
    side: OrderSide,
    quantity: float,
    *,
    symbol: str = "A",
    limit: float | None = None,
    stop: float | None = None,
    ts: int = MONDAY + 10 * HOUR,
    reduce_only: bool = False,
) -> OrderRequested:
    kind = OrderType.LIMIT if limit is not None else OrderType.STOP if stop else OrderType.MARKET
    return OrderRequested(
        "S1-1",
        "S1",
        symbol,
        side,
        quantity,
        kind,
        limit,
        stop,
        TimeInForce.GTC,
        ts,
        ts,
        reduce_only=reduce_only,
    )


def state(account: Account | None = None, orders: list[Order] | None = None) -> RiskState:
    return RiskState(
        account or Account(), Working(orders or []), Instrument("A"), 0.0, 1.0, allow_short=True
    )


def run(check: RiskCheck, request: OrderRequested, risk_state: RiskState | None = None) -> str:
    return check.check(request, risk_state or state()) or ""


def test_order_quantity_and_notional() -> None:
    assert run(OrderQuantityCheck(10), order(BUY, 10)) == ""
    assert run(OrderQuantityCheck(10), order(BUY, 11)) == (
        "order quantity 11 exceeds the maximum 10"
    )
    assert run(OrderNotionalCheck(1_000), order(SELL, 10)) == ""
    # a limit order is valued at its limit: 9 x 120 = 1080
    assert run(OrderNotionalCheck(1_000), order(BUY, 9, limit=120.0)) == (
        "order notional 1080.00 (9 x 120) exceeds the maximum 1000.00"
    )
    no_price = state(Account(prices={}))
    assert run(OrderNotionalCheck(1_000), order(BUY, 1), no_price) == (
        "no price known yet for A to value the order"
    )


def test_position_quantity_counts_working_orders_and_never_blocks_reducing() -> None:
    check = PositionQuantityCheck(10)
    held = state(Account(positions={"A": 8.0}), [working("A", BUY, 1)])
    assert run(check, order(BUY, 1), held) == ""  # 8 + 1 + 1 = 10
    assert run(check, order(BUY, 2), held) == (
        "A position would be 11 (from 9), beyond the maximum 10"
    )
    over = state(Account(positions={"A": 15.0}))
    assert run(check, order(SELL, 3), over) == ""  # 15 -> 12: still over, but reducing
    assert run(check, order(BUY, 1, reduce_only=True), over) == ""
    # the strategy's own OCO exits (a stop and a take profit selling the 9 held) may never
    # fill: they do not lower the expected position
    exits = state(
        Account(positions={"A": 9.0}),
        [working("A", SELL, 9, oco="X"), working("A", SELL, 9.0, oco="X")],
    )
    assert run(check, order(BUY, 1), exits) == ""
    assert run(check, order(BUY, 2), exits) == (
        "A position would be 11 (from 9), beyond the maximum 10"
    )
    # an OCO entry adds like any order (was: every OCO member left out, entries included)
    entry = state(Account(positions={"A": 9.0}), [working("A", BUY, 5, oco="X")])
    assert run(check, order(BUY, 1), entry) == (
        "A position would be 15 (from 14), beyond the maximum 10"
    )


def test_position_notional_and_percent_of_equity() -> None:
    account = Account(cash=5_000.0, positions={"A": 30.0})  # equity 5,000 + 3,000 = 8,000
    assert run(PositionNotionalCheck(4_000), order(BUY, 10), state(account)) == ""
    assert run(PositionNotionalCheck(4_000), order(BUY, 11), state(account)) == (
        "A position value would be 4100.00 (41 x 100), beyond the maximum 4000.00"
    )
    # 50% of 8,000 = 4,000 -> 40 units at 100
    assert run(PositionPercentCheck(50.0), order(BUY, 10), state(account)) == ""
    assert run(PositionPercentCheck(50.0), order(BUY, 12), state(account)) == (
        "A position value would be 4200.00 = 52.50% of equity 8000.00, beyond the maximum 50%"
    )
    assert run(PositionPercentCheck(10.0), order(SELL, 5), state(account)) == ""  # reducing
    # a short counts by its absolute value: -50 x 100 = 5,000 = 62.5% of 8,000
    assert "62.50% of equity" in run(PositionPercentCheck(50.0), order(SELL, 80), state(account))


def test_gross_net_exposure_and_leverage() -> None:
    # long A 50 (5,000), short B 40 (-2,000); cash 7,000 -> equity 10,000
    account = Account(cash=7_000.0, positions={"A": 50.0, "B": -40.0})
    gross, net = GrossExposureCheck(8_000), NetExposureCheck(4_000)
    assert run(gross, order(BUY, 10), state(account)) == ""  # 7,000 + 1,000
    assert run(gross, order(BUY, 11), state(account)) == (
        "gross exposure would be 8100.00, above the maximum 8000.00"
    )
    assert run(gross, order(SELL, 20, symbol="B"), state(account)) == ""  # 5,000 + 3,000
    assert run(gross, order(SELL, 21, symbol="B"), state(account)) == (
        "gross exposure would be 8050.00, above the maximum 8000.00"
    )
    assert run(gross, order(BUY, 40, symbol="B"), state(account)) == ""  # covers the short
    # net now 3,000; +10 A -> 4,000 passes; +11 A -> 4,100 fails
    assert run(net, order(BUY, 10), state(account)) == ""
    assert run(net, order(BUY, 11), state(account)) == (
        "net exposure would be 4100.00, beyond the maximum +/-4000.00"
    )
    # selling B moves net from 3,000 toward zero: passes whatever the size
    assert run(net, order(SELL, 100, symbol="B"), state(account)) == ""
    lev = LeverageLimitCheck(0.8)  # gross 7,000 / 10,000 = 0.7 now
    assert run(lev, order(BUY, 10), state(account)) == ""
    assert run(lev, order(BUY, 20), state(account)) == (
        "leverage would be 0.900 (gross 9000.00 / equity 10000.00), above the maximum 0.8"
    )
    assert run(lev, order(SELL, 50), state(account)) == ""  # closing A


def test_max_open_orders() -> None:
    two = state(orders=[working("A", BUY, 1), working("B", SELL, 2)])
    assert run(MaxOpenOrdersCheck(3), order(BUY, 1), two) == ""
    assert run(MaxOpenOrdersCheck(2), order(BUY, 1), two) == (
        "2 orders are working, the maximum is 2"
    )


def test_order_rate_uses_simulated_time_and_a_sliding_window() -> None:
    check = OrderRateCheck(2, 60 * 10**9)
    second = 10**9
    assert run(check, order(BUY, 1, ts=0)) == ""
    assert run(check, order(BUY, 1, ts=30 * second)) == ""
    assert run(check, order(BUY, 1, ts=59 * second)) == (
        "2 orders in the last 60 s, the maximum is 2"
    )
    assert run(check, order(BUY, 1, ts=60 * second)) == ""  # the one at 0 left the window
    assert run(check, order(BUY, 1, ts=61 * second)) != ""  # 30 s and 60 s still inside


def test_price_band() -> None:
    check = PriceBandCheck(5.0)  # last price of A: 100
    assert run(check, order(BUY, 1)) == ""  # market orders have no price to check
    assert run(check, order(BUY, 1, limit=105.0)) == ""
    assert run(check, order(BUY, 1, limit=1000.0)) == (
        "limit price 1000 is 900.00% away from the last price 100, beyond the band of 5%"
    )
    assert run(check, order(SELL, 1, stop=94.0)) == (
        "stop price 94 is 6.00% away from the last price 100, beyond the band of 5%"
    )
    # a hair over a limit shows the hair (was "6000.00, above the maximum 6000.00")
    assert run(GrossExposureCheck(5_000.0), order(BUY, 50.0000001)) == (
        "gross exposure would be 5000.00001, above the maximum 5000.00000"
    )
    assert run(OrderQuantityCheck(10), order(BUY, 10.000001)) == (
        "order quantity 10.000001 exceeds the maximum 10"
    )
    # just beyond: enough digits to see why (was "17137.5 is 10.00% away ... band of 10%")
    near = state(Account(prices={"A": 15579.59}))
    assert run(PriceBandCheck(10.0), order(BUY, 1, limit=17137.55), near) == (
        "limit price 17137.55 is 10.00001% away from the last price 15579.59, beyond the "
        "band of 10%"
    )


def test_long_only_and_short_only() -> None:
    long_only, short_only = DirectionCheck("long_only"), DirectionCheck("short_only")
    held = state(Account(positions={"A": 5.0}))
    assert run(long_only, order(SELL, 5), held) == ""
    assert run(long_only, order(SELL, 6), held) == (
        "long_only: sell 6 A would leave a short position of -1"
    )
    assert run(short_only, order(BUY, 1)) == (
        "short_only: buy 1 A would leave a long position of 1"
    )
    assert run(short_only, order(SELL, 1), held) == ""  # reduces the (forbidden) long
    with pytest.raises(ValueError, match="long_only or short_only"):
        DirectionCheck("both")


def test_symbol_allow_and_block_lists() -> None:
    held_b = state(Account(positions={"B": 3.0}))
    assert run(AllowedSymbolsCheck(["A"]), order(BUY, 1)) == ""
    assert run(AllowedSymbolsCheck(["A"]), order(BUY, 1, symbol="B")) == (
        "B is not in the allowed symbols ['A']"
    )
    assert run(AllowedSymbolsCheck(["A"]), order(SELL, 3, symbol="B"), held_b) == ""
    assert run(BlockedSymbolsCheck(["B"]), order(BUY, 1, symbol="B")) == (
        "B is in the blocked symbols"
    )
    assert run(BlockedSymbolsCheck(["B"]), order(SELL, 2, symbol="B"), held_b) == ""


def test_trading_hours_sessions_and_weekdays() -> None:
    check = TradingHoursCheck([Session(9 * 3600 + 1800, 16 * 3600, [0, 1, 2, 3, 4])])
    assert run(check, order(BUY, 1, ts=MONDAY + 10 * HOUR)) == ""
    assert run(check, order(BUY, 1, ts=MONDAY + 16 * HOUR)) == (
        "Mon 16:00:00 UTC is outside the trading sessions"
    )
    assert run(check, order(BUY, 1, ts=MONDAY + 9 * HOUR)) != ""
    saturday = MONDAY + 5 * DAY + 10 * HOUR
    assert run(check, order(BUY, 1, ts=saturday)) == (
        "Sat 10:00:00 UTC is outside the trading sessions"
    )
    held = state(Account(positions={"A": 2.0}))
    assert run(check, order(SELL, 2, ts=saturday), held) == ""  # closing is always allowed
    night = Session(22 * 3600, 2 * 3600, [4])  # Friday 22:00 to Saturday 02:00
    friday = MONDAY + 4 * DAY
    assert night.contains(friday + 23 * HOUR)
    assert night.contains(friday + DAY + 1 * HOUR)
    assert not night.contains(friday + 1 * HOUR)  # Friday 01:00 belongs to Thursday's window
    assert not night.contains(friday + DAY + 3 * HOUR)
