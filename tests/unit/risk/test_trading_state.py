"""Trading state (ACTIVE / REDUCING / HALTED) in the risk engine and the portfolio guards."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import (
    Bar,
    Instrument,
    Order,
    OrderAccepted,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.risk import RiskEngine, TradingState, TradingStateChanged
from engine.risk.guards import PortfolioGuard, RoundTrips

BUY, SELL = OrderSide.BUY, OrderSide.SELL
HOUR = 3600 * 10**9
DAY = 24 * HOUR
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


@dataclass
class Account:
    cash: float = 10_000.0
    equity_value: float = 10_000.0
    positions: dict[str, float] = field(default_factory=dict)

    def equity(self) -> float:
        return self.equity_value

    def gross_exposure(self) -> float:
        return sum(abs(q) * 100.0 for q in self.positions.values())

    def margin_state(self) -> tuple[float, float]:
        return self.equity(), self.gross_exposure()

    def position_quantity(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def last_price(self, symbol: str) -> float:
        return 100.0 if symbol == "A" else math.nan


class NoOrders:
    def all_open_orders(self) -> list[Order]:
        return []


class Harness:
    def __init__(self) -> None:
        self.bus = EventBus()
        self.clock = SimClock(0)
        self.account = Account()
        self.events: list[object] = []
        for kind in (OrderApproved, OrderDenied, TradingStateChanged):
            self.bus.subscribe(kind, self.events.append)
        self.risk = RiskEngine(
            self.bus,
            self.clock,
            {"A": Instrument("A", lot_size=1.0)},
            self.account,
            NoOrders(),
            fee_rate=0.0,
        )

    def send(self, side: OrderSide, quantity: float, reduce_only: bool = False) -> object:
        self.events.clear()
        request = OrderRequested(
            "S1-1",
            "S1",
            "A",
            side,
            quantity,
            OrderType.MARKET,
            None,
            None,
            TimeInForce.GTC,
            0,
            0,
            reduce_only=reduce_only,
        )
        self.risk.on_order_requested(request)
        self.bus.flush()
        # each order is checked alone against the account: answer the approval so that it
        # is no longer counted in flight by the next one
        self.risk.on_order_answered(OrderAccepted("S1-1", "S1", "A", 0, 0))
        event = self.events[-1]
        self.events.clear()
        return event

    def drain(self) -> list[object]:
        self.bus.flush()
        events, self.events[:] = list(self.events), []
        return events


def test_user_sets_states_and_denials_name_them() -> None:
    h = Harness()
    h.account.positions["A"] = 5.0
    assert isinstance(h.send(BUY, 1), OrderApproved)
    h.risk.set_trading_state("reducing", "manual", 7)
    assert h.drain() == [TradingStateChanged(ACTIVE, REDUCING, "manual", 7, 0)]
    denied = h.send(BUY, 1)
    assert isinstance(denied, OrderDenied)
    assert denied.check == "trading_state"
    assert denied.reason == (
        "trading is REDUCING (manual): only orders that reduce exposure pass, and this one "
        "takes the expected A position from 5 to 6"
    )
    assert isinstance(h.send(SELL, 5), OrderApproved)  # closes the long
    h.risk.set_trading_state(HALTED)
    denied = h.send(SELL, 1, reduce_only=True)
    assert isinstance(denied, OrderDenied)
    assert denied.reason == "trading is HALTED (set by the user): only cancels pass"
    h.risk.set_trading_state(HALTED)  # unchanged: no event
    assert h.drain() == []
    h.risk.set_trading_state(ACTIVE, "resumed")
    assert isinstance(h.send(BUY, 1), OrderApproved)


def bar(ts: int) -> Bar:
    return Bar("A", ts, ts, 100.0, 100.0, 100.0, 100.0, 1.0, HOUR)


def test_drawdown_guard_trips_at_the_limit_and_cooldown_resumes() -> None:
    h = Harness()
    guard = PortfolioGuard(
        h.risk, h.account, h.clock, max_drawdown_pct=10.0, action=REDUCING, cooldown_ns=DAY
    )
    assert guard.watches_bars
    for ts, equity in ((HOUR, 11_000.0), (2 * HOUR, 12_000.0), (3 * HOUR, 10_900.0)):
        h.account.equity_value = equity
        guard.on_bar(bar(ts))
    assert h.drain() == []  # 10,900 is 9.17% below 12,000
    h.account.equity_value = 10_800.0  # exactly 10% below the peak
    guard.on_bar(bar(4 * HOUR))
    reason = "max_drawdown: equity 10800.00 is 10.00% below its peak 12000.00 (limit 10%)"
    assert h.drain() == [TradingStateChanged(ACTIVE, REDUCING, reason, 4 * HOUR, 0)]
    h.account.equity_value = 9_000.0
    guard.on_bar(bar(5 * HOUR))  # already REDUCING: no second event
    assert h.drain() == []
    guard.on_bar(bar(4 * HOUR + DAY))  # the cooldown ends; the peak restarts at 9,000
    assert h.drain() == [
        TradingStateChanged(REDUCING, ACTIVE, "cooldown of 86400 s ended", 4 * HOUR + DAY, 0)
    ]
    assert guard.peak == 9_000.0


def test_cooldown_never_lifts_a_state_the_user_set_since() -> None:
    h = Harness()
    guard = PortfolioGuard(
        h.risk, h.account, h.clock, max_drawdown_pct=5.0, action=HALTED, cooldown_ns=HOUR
    )
    h.account.equity_value = 9_000.0
    guard.on_bar(bar(HOUR))
    assert h.risk.trading_state is HALTED
    h.risk.set_trading_state(ACTIVE, "user")
    h.risk.set_trading_state(HALTED, "user")
    h.account.equity_value = 10_000.0
    guard.on_bar(bar(3 * HOUR))
    assert h.risk.trading_state is HALTED
    assert h.risk.trading_state_reason == "user"


def test_daily_loss_is_measured_from_the_equity_at_the_start_of_the_utc_day() -> None:
    h = Harness()
    guard = PortfolioGuard(h.risk, h.account, h.clock, daily_loss_pct=5.0, action=HALTED)
    h.account.equity_value = 8_000.0  # day 0: 20% down from 10,000 at the start
    guard.on_bar(bar(HOUR))
    assert h.risk.trading_state is HALTED
    h.risk.set_trading_state(ACTIVE)
    h.drain()
    h.account.equity_value = 7_700.0  # day 1 starts at 8,000 (the last equity of day 0)
    guard.on_bar(bar(DAY + HOUR))
    assert h.risk.trading_state is ACTIVE  # 3.75%
    h.account.equity_value = 7_600.0
    guard.on_bar(bar(DAY + 2 * HOUR))
    reason = "daily_loss: equity 7600.00 is 5.00% below the day's start 8000.00 (limit 5%)"
    assert h.drain()[-1] == TradingStateChanged(ACTIVE, HALTED, reason, DAY + 2 * HOUR, 0)


def fill(
    side: OrderSide, quantity: float, price: float, fee: float = 0.0, ts: int = 0
) -> OrderFilled:
    return OrderFilled("o", "S1", "f", "A", side, quantity, price, fee, "taker", 0.0, ts, ts)


def test_round_trips_net_of_fees_and_split_when_crossing_zero() -> None:
    trips = RoundTrips()
    assert trips.on_order_filled(fill(BUY, 2, 100.0, fee=1.0)) is None
    assert trips.on_order_filled(fill(SELL, 1, 110.0, fee=0.5)) is None
    # closes the long (1 of 3 units) and opens a 2-unit short: cash 3 x 120 = 360, fee 3
    closed = trips.on_order_filled(fill(SELL, 3, 120.0, fee=3.0))
    assert closed == -200.0 - 1.0 + 110.0 - 0.5 + 120.0 - 1.0  # = 27.5
    assert trips.on_order_filled(fill(BUY, 2, 130.0)) == pytest.approx(240.0 - 2.0 - 260.0)
    assert trips.closed == pytest.approx([27.5, -22.0])


def test_consecutive_losses_guard() -> None:
    h = Harness()
    guard = PortfolioGuard(h.risk, h.account, h.clock, max_consecutive_losses=2, action=HALTED)
    assert not guard.watches_bars  # needs fills only
    for price in (90.0, 120.0, 95.0):  # loss, win, loss
        guard.on_order_filled(fill(BUY, 1, 100.0))
        guard.on_order_filled(fill(SELL, 1, price))
    assert h.risk.trading_state is ACTIVE
    guard.on_order_filled(fill(BUY, 1, 100.0))
    guard.on_order_filled(fill(SELL, 1, 99.0, ts=42))
    reason = "consecutive_losses: 2 losing round trips in a row, the last -1.00 (limit 2)"
    assert h.drain()[-1] == TradingStateChanged(ACTIVE, HALTED, reason, 42, 0)


@dataclass
class Held:
    quantity: float


def test_guard_sums_equity_from_live_position_and_price_views() -> None:
    h = Harness()
    positions = {"A": Held(20.0)}
    prices = {"A": 100.0}
    h.account.cash = 8_000.0  # equity 8,000 + 20 x 100 = 10,000
    guard = PortfolioGuard(
        h.risk,
        h.account,
        h.clock,
        max_drawdown_pct=10.0,
        action=HALTED,
        positions=positions,
        prices=prices,
    )
    prices["A"] = 150.0  # 11,000: the peak
    guard.on_bar(bar(HOUR))
    assert guard.peak == 11_000.0
    prices["A"] = 101.0  # 10,020 is 8.9% below
    guard.on_bar(bar(2 * HOUR))
    assert h.risk.trading_state is ACTIVE
    positions["A"] = Held(10.0)  # a sale at 101 would add cash; here only the view changes
    h.account.cash = 8_900.0  # 8,900 + 10 x 101 = 9,910 is 9.91% below
    guard.on_bar(bar(3 * HOUR))
    assert h.risk.trading_state is ACTIVE
    prices["A"] = 100.0  # 9,900 is exactly 10% below 11,000
    guard.on_bar(bar(4 * HOUR))
    assert h.risk.trading_state is HALTED


def test_a_guard_action_given_as_a_string_in_any_case_is_the_state() -> None:
    h = Harness()
    guard = PortfolioGuard(h.risk, h.account, h.clock, max_drawdown_pct=5.0, action="Halted")
    assert guard.action is HALTED
    h.account.equity_value = 9_000.0
    guard.on_bar(bar(HOUR))
    assert h.risk.trading_state is HALTED
    with pytest.raises(ValueError, match="guard action 'stop' is not one of active, reducing"):
        PortfolioGuard(h.risk, h.account, h.clock, max_drawdown_pct=5.0, action="stop")
