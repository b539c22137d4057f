"""SimulatedBroker money-path rules of issue 10 on its own bus: ticks, quotes, fee models.

Complements `tests/integration/test_execution_money_path.py` (bars through the kernel)
with the tick/quote matching path and the broker-level guarantees (FOK against displayed
size, tiered volume inside one event, exact fee reservation, passive modify/trailing).
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.config import ExecutionConfig
from engine.execution import SimulatedBroker
from engine.execution.models import (
    FeeModel,
    FeeTierRates,
    FixedBpsSlippage,
    PercentFeeModel,
    PerUnitFeeModel,
    SlippageModel,
    TieredFeeModel,
    VolumeShareSlippage,
)
from engine.model import (
    Bar,
    Instrument,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    QuoteTick,
    TimeInForce,
    TradeTick,
    TrailingOffsetType,
)
from tests.unit.execution.test_execution_broker import Account

T0 = 1_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL


class Desk:
    """A broker with any fee/slippage model, recording fills and cancels."""

    def __init__(
        self,
        *,
        fees: FeeModel | None = None,
        slippage: SlippageModel | None = None,
        cash: float = 1_000_000.0,
        last: float = 100.0,
        **options: Any,
    ) -> None:
        self.bus = EventBus()
        self.clock = SimClock(T0)
        self.account = Account(cash=cash)
        self.prices = {"A": last}
        self.events: list[object] = []
        for kind in (OrderFilled, OrderCanceled, OrderModified):
            self.bus.subscribe(kind, self.events.append)
        self.broker = SimulatedBroker(
            self.bus,
            self.clock,
            {"A": Instrument("A", tick_size=0.01, lot_size=1.0)},
            self.prices,
            self.account,
            fees or PercentFeeModel(0.0),
            slippage or FixedBpsSlippage(0.0),
            ExecutionConfig(**options),
        )
        self._n = 0

    def submit(
        self,
        side: OrderSide,
        quantity: float,
        kind: OrderType = OrderType.MARKET,
        *,
        limit: float | None = None,
        stop: float | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        offset: float | None = None,
    ) -> str:
        self._n += 1
        order_id = f"S1-{self._n:06d}"
        now = self.clock.timestamp_ns()
        self.broker.submit(
            OrderRequested(
                order_id,
                "S1",
                "A",
                side,
                quantity,
                kind,
                limit,
                stop,
                tif,
                now,
                now,
                trailing_offset=offset,
                trailing_offset_type=TrailingOffsetType.PRICE,
            )
        )
        return order_id

    def trade(self, price: float, size: float = 1_000.0, dt: int = 10) -> None:
        ts = self.clock.timestamp_ns() + dt
        self.clock.set_time(ts)
        self.broker.process_trade(TradeTick("A", ts, ts, price, size, "", ""))

    def quote(self, bid: float, ask: float, size: float = 1_000.0, dt: int = 10) -> None:
        ts = self.clock.timestamp_ns() + dt
        self.clock.set_time(ts)
        self.broker.process_quote(QuoteTick("A", ts, ts, bid, ask, size, size))

    def bar(self, o: float, h: float, low: float, c: float, volume: float = 1_000.0) -> None:
        ts = self.clock.timestamp_ns() + 100
        self.clock.set_time(ts)
        self.broker.process_bar(Bar("A", ts, ts, o, h, low, c, volume, 100))
        self.prices["A"] = c

    def fills(self) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled)]

    def settle(self) -> None:
        """Apply fills to the account as the portfolio would (ending their reservations)."""
        for fill in self.fills()[self._settled :]:
            self.account.settle(fill)
        self._settled = len(self.fills())

    _settled = 0


# --- "through" on ticks ------------------------------------------------------------------


def test_through_trade_at_the_buy_limit_does_not_fill() -> None:
    desk = Desk()
    desk.submit(BUY, 10, OrderType.LIMIT, limit=100.0)
    desk.trade(100.0)
    assert desk.fills() == []
    desk.trade(99.99)  # trades beyond: the resting limit fills at its price, as maker
    (fill,) = desk.fills()
    assert (fill.price, fill.quantity, fill.liquidity) == (100.0, 10, "maker")


def test_through_trade_at_the_sell_limit_does_not_fill() -> None:
    desk = Desk()
    desk.submit(SELL, 10, OrderType.LIMIT, limit=100.0)
    desk.trade(100.0)
    assert desk.fills() == []
    desk.trade(100.01)
    assert [(f.price, f.liquidity) for f in desk.fills()] == [(100.0, "maker")]


def test_touch_trade_at_the_limit_fills() -> None:
    desk = Desk(limit_fill="touch")
    desk.submit(BUY, 10, OrderType.LIMIT, limit=100.0)
    desk.trade(100.0)
    assert [(f.price, f.quantity) for f in desk.fills()] == [(100.0, 10)]


def test_quote_ask_at_the_buy_limit_is_liquidity_and_fills() -> None:
    desk = Desk()
    desk.submit(BUY, 10, OrderType.LIMIT, limit=100.0)
    desk.quote(99.9, 100.0)
    assert [(f.price, f.liquidity) for f in desk.fills()] == [(100.0, "taker")]


def test_through_bar_opening_at_a_stop_limits_limit_after_trigger() -> None:
    desk = Desk()
    desk.submit(SELL, 10, OrderType.STOP_LIMIT, stop=95.0, limit=94.0)
    desk.bar(92, 93, 91, 92)  # triggers at the open (92), not marketable at 94: rests
    desk.bar(94, 94, 93, 93.5)  # opens at the limit, never above it
    assert desk.fills() == []
    desk.bar(93.5, 94.5, 93, 94)
    assert [(f.price, f.liquidity) for f in desk.fills()] == [(94.0, "maker")]


# --- FOK ----------------------------------------------------------------------------------


def test_fok_against_displayed_size_fills_nothing() -> None:
    desk = Desk()
    desk.submit(BUY, 10, tif=TimeInForce.FOK)
    desk.quote(99.9, 100.0, size=6)
    assert desk.fills() == []
    assert [e.reason[:4] for e in desk.events if isinstance(e, OrderCanceled)] == ["fok:"]


def test_fok_trimmed_by_cash_on_a_trade_fills_nothing_ioc_fills_part() -> None:
    desk = Desk(cash=1_000.0)
    desk.submit(BUY, 20, tif=TimeInForce.FOK)
    desk.submit(BUY, 20, tif=TimeInForce.IOC)
    desk.trade(100.0)
    assert [(f.order_id, f.quantity) for f in desk.fills()] == [("S1-000002", 10)]
    reasons = [e.reason for e in desk.events if isinstance(e, OrderCanceled)]
    assert reasons[0].startswith("fok: insufficient cash")


# --- the cash cap reserves the model's own fee --------------------------------------------


@pytest.mark.parametrize(
    ("fees", "expected_quantity", "expected_fee"),
    [
        (PercentFeeModel(0.01, sizing_rate=0.0), 99, 9.9),  # 99 x 10.1 = 999.9
        (PercentFeeModel(0.0, taker_rate=0.02, sizing_rate=0.0), 98, 19.6),  # 98 x 10.2
        (PerUnitFeeModel(0.5), 95, 47.5),  # 95 x 10.5 = 997.5
        (PerUnitFeeModel(0.001, minimum=12.0), 98, 12.0),  # 980 + 12 = 992
        (PerUnitFeeModel(0.5, maximum_rate=0.02), 98, 19.6),  # the maximum: 2% of 980
        (TieredFeeModel([FeeTierRates(None, 0.0, 0.01)], sizing_rate=0.0), 99, 9.9),
    ],
)
def test_cash_cap_reserves_the_configured_fee(
    fees: FeeModel, expected_quantity: float, expected_fee: float
) -> None:
    desk = Desk(fees=fees, cash=1_000.0, last=10.0)
    desk.submit(BUY, 100)
    desk.bar(10, 10.1, 9.9, 10)
    (fill,) = desk.fills()
    assert (fill.price, fill.quantity) == (10.0, expected_quantity)
    assert fill.fee == pytest.approx(expected_fee, abs=1e-12)
    desk.settle()
    assert desk.account.cash == pytest.approx(1_000.0 - expected_quantity * 10.0 - expected_fee)
    assert desk.account.cash >= 0.0


def test_cash_cap_two_buys_on_one_bar_share_the_cash() -> None:
    desk = Desk(fees=PerUnitFeeModel(0.5), cash=1_000.0, last=10.0)
    desk.submit(BUY, 60)
    desk.submit(BUY, 60)
    desk.bar(10, 10.1, 9.9, 10)
    # 60 x 10.5 = 630, then 370 / 10.5 = 35.2 -> 35 (367.5): 2.5 left
    assert [f.quantity for f in desk.fills()] == [60, 35]
    desk.settle()
    assert desk.account.cash == pytest.approx(2.5)


# --- tiered volume within one event -------------------------------------------------------


def test_tiered_volume_counts_an_earlier_fill_on_the_same_trade() -> None:
    tiers = [FeeTierRates(1_000.0, 0.01, 0.01), FeeTierRates(None, 0.001, 0.001)]
    fees = TieredFeeModel(tiers)
    desk = Desk(fees=fees)
    desk.submit(BUY, 10)
    desk.submit(BUY, 10)
    desk.trade(100.0)
    assert [f.fee for f in desk.fills()] == pytest.approx([10.0, 1.0])
    assert fees.volume == pytest.approx(2_000.0)


# --- passive rounding in the broker -------------------------------------------------------


def test_modify_rounds_each_price_passively() -> None:
    desk = Desk()
    limit_id = desk.submit(BUY, 10, OrderType.LIMIT, limit=90.0)
    stop_id = desk.submit(SELL, 10, OrderType.STOP, stop=90.0)
    sl_id = desk.submit(BUY, 10, OrderType.STOP_LIMIT, stop=110.0, limit=111.0)
    desk.broker.modify(limit_id, None, 97.007, None)
    desk.broker.modify(stop_id, None, None, 95.007)
    desk.broker.modify(sl_id, None, 105.007, 105.003)
    modified = [(e.limit_price, e.stop_price) for e in desk.events if isinstance(e, OrderModified)]
    assert modified == [(97.0, None), (None, 95.0), (105.0, 105.01)]


def test_trailing_stop_level_rounds_passively_as_it_moves() -> None:
    desk = Desk()
    desk.submit(SELL, 10, OrderType.TRAILING_STOP, offset=2.003)
    (working,) = desk.broker.working["A"]
    assert working.stop == 97.99  # 100 - 2.003 = 97.997, down to the tick
    desk.bar(100, 101.5, 99.5, 101)  # best high 101.5 -> 99.497 -> 99.49
    assert working.stop == 99.49


# --- slippage on ticks: never beyond the price printed, on the grid ------------------------


def test_trade_tick_slippage_capped_at_the_trade_price() -> None:
    desk = Desk(slippage=FixedBpsSlippage(10.0))
    desk.submit(BUY, 10)
    desk.submit(SELL, 10)
    desk.trade(100.03)
    assert [f.price for f in desk.fills()] == [100.03, 100.03]


def test_quote_slippage_capped_at_the_touch() -> None:
    desk = Desk(slippage=VolumeShareSlippage(0.1))
    desk.submit(BUY, 10)
    desk.submit(SELL, 10)
    desk.quote(99.97, 100.03)
    assert [f.price for f in desk.fills()] == [100.03, 99.97]


def test_tick_slippage_without_the_cap_rounds_against_the_taker() -> None:
    desk = Desk(slippage=FixedBpsSlippage(1.0), slippage_within_range=False)
    desk.submit(BUY, 10)
    desk.submit(SELL, 10)
    desk.trade(100.03)  # 100.040003 -> 100.05; 100.019997 -> 100.01
    assert [f.price for f in desk.fills()] == [100.05, 100.01]


# --- quotes: a resting limit needs the opposite touch through it, not the spread ----------


def test_quote_buy_limit_inside_the_spread_waits_for_the_ask() -> None:
    desk = Desk()
    desk.submit(BUY, 10, OrderType.LIMIT, limit=99.5)
    desk.quote(99.0, 101.0)  # the bid below the limit says nothing of sellers at 99.5
    desk.quote(99.0, 99.5)  # the ask at the limit: a touch, not through
    assert desk.fills() == []
    desk.quote(99.2, 99.4)  # sellers offer below it: it fills at its limit, as maker
    assert [(f.price, f.liquidity) for f in desk.fills()] == [(99.5, "maker")]


def test_quote_sell_limit_inside_the_spread_waits_for_the_bid() -> None:
    desk = Desk()
    desk.submit(SELL, 10, OrderType.LIMIT, limit=100.5)
    desk.quote(99.0, 101.0)
    assert desk.fills() == []
    desk.quote(100.6, 100.8)
    assert [(f.price, f.liquidity) for f in desk.fills()] == [(100.5, "maker")]


def test_a_post_only_limit_modified_through_the_last_price_is_refused_and_rests() -> None:
    """A post-only limit moved to where it would take is refused with the words of its
    submission (the exchange would cancel or refuse it; live the node refuses it too), and
    it keeps resting at its old price; a move that stays passive is taken."""
    desk = Desk(last=100.0)
    answers: list[object] = []
    desk.bus.subscribe(OrderModifyRejected, answers.append)
    desk.bus.subscribe(OrderModified, answers.append)
    order = OrderRequested("S1-000001", "S1", "A", BUY, 10, OrderType.LIMIT, 95.0, None,
                           TimeInForce.GTC, T0, T0, post_only=True)  # fmt: skip
    desk.broker.submit(order)
    desk.broker.modify("S1-000001", None, 100.0, None)  # at the last price: it would take
    desk.broker.modify("S1-000001", None, 99.5, None)
    assert [type(a).__name__ for a in answers] == ["OrderModifyRejected", "OrderModified"]
    assert answers[0].reason == "post-only limit 100 would take liquidity at the last price 100"  # type: ignore[attr-defined]
    desk.bar(99.8, 99.9, 99.0, 99.2)  # trades through 99.5, never through 100
    assert [(f.price, f.quantity) for f in desk.fills()] == [(99.5, 10)]
