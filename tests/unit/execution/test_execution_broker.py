"""SimulatedBroker fill rules, each with hand-computed prices, quantities, fees and times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.config import ExecutionConfig
from engine.execution import FixedBpsSlippage, PercentFeeModel, SimulatedBroker
from engine.model import (
    Bar,
    Instrument,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)

TF = 100  # bar length in ns
T0 = 1_000  # close time of the bar during which orders are placed
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@dataclass
class Account:
    """An `AccountView` that never applies fills: each reserved fill stays pending."""

    cash: float = 1_000_000.0
    positions: dict[str, float] = field(default_factory=dict)
    pending_cash: float = 0.0
    pending: dict[str, float] = field(default_factory=dict)

    def position_quantity(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def reserve_fill(self, fill: OrderFilled) -> None:
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        self.pending_cash -= signed * fill.price + fill.fee
        self.pending[fill.symbol] = self.pending.get(fill.symbol, 0.0) + signed

    def settle(self, fill: OrderFilled) -> None:
        """Apply ``fill`` to cash and position and end its reservation."""
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        self.cash -= signed * fill.price + fill.fee
        self.positions[fill.symbol] = self.positions.get(fill.symbol, 0.0) + signed
        self.pending_cash += signed * fill.price + fill.fee
        self.pending[fill.symbol] -= signed

    def projected_cash(self) -> float:
        return self.cash + self.pending_cash

    def projected_position(self, symbol: str) -> float:
        return self.position_quantity(symbol) + self.pending.get(symbol, 0.0)


def bar(close_ts: int, o: float, h: float, low: float, c: float, symbol: str = "A") -> Bar:
    return Bar(symbol, close_ts, close_ts, o, h, low, c, 1_000.0, TF)


class Venue:
    """A broker on its own bus, recording what it publishes."""

    def __init__(
        self,
        *,
        fee_rate: float = 0.001,
        slippage_bps: float = 10.0,
        account: Account | None = None,
        min_quantity: float = 0.0,
        last: float = 50.0,
        **options: Any,
    ) -> None:
        self.bus = EventBus()
        self.clock = SimClock(T0)
        self.prices = {"A": last, "B": 20.0}
        self.account = account or Account()
        self.events: list[object] = []
        for kind in (OrderAccepted, OrderFilled, OrderCanceled):
            self.bus.subscribe(kind, self.events.append)
        self.broker = SimulatedBroker(
            self.bus,
            self.clock,
            {
                "A": Instrument("A", lot_size=1.0, min_quantity=min_quantity),
                "B": Instrument("B", lot_size=0.5),
            },
            self.prices,
            self.account,
            PercentFeeModel(fee_rate),
            FixedBpsSlippage(slippage_bps),
            ExecutionConfig(**{k: v for k, v in options.items() if k != "leverage"}),
            leverage=options.get("leverage", 1.0),
        )
        self._n = 0

    def submit(
        self,
        side: OrderSide,
        quantity: float,
        *,
        limit: float | None = None,
        stop: float | None = None,
        symbol: str = "A",
    ) -> str:
        self._n += 1
        order_type = (
            OrderType.STOP if stop is not None else OrderType.LIMIT if limit else OrderType.MARKET
        )
        order_id = f"S1-{self._n:06d}"
        now = self.clock.timestamp_ns()
        self.broker.submit(
            OrderRequested(
                order_id,
                "S1",
                symbol,
                side,
                quantity,
                order_type,
                limit,
                stop,
                TimeInForce.GTC,
                now,
                now,
            )
        )
        return order_id

    def run(self, *bars: Bar) -> list[object]:
        """Feed bars the way the backtest driver does; return the new events."""
        start = len(self.events)
        for b in bars:
            self.clock.set_time(b.ts_event)
            self.broker.process_bar(b)
            self.prices[b.symbol] = b.close
        return self.events[start:]

    def fills(self) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled)]


def only_fill(events: list[object]) -> OrderFilled:
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) == 1, events
    return fills[0]


def test_submit_accepts_at_once() -> None:
    venue = Venue()
    order_id = venue.submit(BUY, 10)
    assert venue.events == [OrderAccepted(order_id, "S1", "A", T0, T0)]
    assert list(venue.broker.working) == ["A"]


def test_market_buy_fills_at_next_open_with_slippage() -> None:
    venue = Venue()
    order_id = venue.submit(BUY, 10)
    # the bar during which the order was placed (same close time) never fills it
    assert venue.run(bar(T0, 40.0, 60.0, 30.0, 50.0)) == []
    fill = only_fill(venue.run(bar(T0 + TF, 50.0, 52.0, 49.0, 51.0)))
    assert fill.order_id == order_id
    assert fill.fill_id == "F-0000001"
    assert (fill.side, fill.quantity, fill.leaves_quantity) == (BUY, 10.0, 0.0)
    assert fill.price == pytest.approx(50.05, abs=1e-12)  # 50 x (1 + 10 bps)
    assert fill.fee == pytest.approx(0.5005, abs=1e-12)  # 0.1% of 10 x 50.05
    assert fill.liquidity == "taker"
    assert fill.ts_event == T0  # the next bar's open time
    assert fill.ts_init == T0 + TF  # when the engine learned of it
    assert not venue.broker.working  # nothing left working


def test_market_sell_gets_the_open_minus_slippage() -> None:
    venue = Venue()
    venue.submit(SELL, 4)
    fill = only_fill(venue.run(bar(T0 + TF, 80.0, 81.0, 70.0, 75.0)))
    assert fill.price == pytest.approx(79.92, abs=1e-12)  # 80 x (1 - 10 bps)
    assert fill.fee == pytest.approx(0.31968, abs=1e-12)


def test_orders_wait_for_their_own_symbol() -> None:
    venue = Venue()
    venue.submit(BUY, 1, symbol="B")
    assert venue.run(bar(T0 + TF, 50.0, 52.0, 49.0, 51.0, symbol="A")) == []
    fill = only_fill(venue.run(bar(T0 + 2 * TF, 21.0, 22.0, 20.0, 21.0, symbol="B")))
    assert fill.symbol == "B"
    assert fill.ts_event == T0 + TF  # that bar's open


@pytest.mark.parametrize(
    ("side", "limit", "ohlc", "touch", "expected"),
    [
        # buy limit 48: low must go below 48 ("through") or reach it ("touch")
        (BUY, 48.0, (50.0, 51.0, 48.0, 50.0), False, None),
        (BUY, 48.0, (50.0, 51.0, 48.0, 50.0), True, (48.0, "close")),
        (BUY, 48.0, (50.0, 51.0, 47.99, 50.0), False, (48.0, "close")),
        (BUY, 48.0, (50.0, 51.0, 48.5, 50.0), True, None),
        # opening through the limit fills at the open: the gap gives the better price; on
        # the order's first bar that is a taker's fill, slipped (47 + 10 bps, tick up)
        (BUY, 48.0, (47.0, 49.0, 46.0, 48.0), False, (47.05, "open")),
        # opening AT the limit is a touch: "through" fills when the bar then trades below
        (BUY, 48.0, (48.0, 49.0, 47.5, 48.0), False, (48.0, "close")),
        (BUY, 48.0, (48.0, 49.0, 47.5, 48.0), True, (48.0, "open")),  # slipped, capped
        (BUY, 48.0, (48.0, 49.0, 48.0, 48.5), False, None),
        (SELL, 52.0, (52.0, 52.0, 51.0, 51.5), False, None),
        (SELL, 52.0, (52.0, 52.0, 51.0, 51.5), True, (52.0, "open")),
        # sell limit 52: high must go above it (or reach it with touch)
        (SELL, 52.0, (50.0, 52.0, 49.0, 51.0), False, None),
        (SELL, 52.0, (50.0, 52.0, 49.0, 51.0), True, (52.0, "close")),
        (SELL, 52.0, (50.0, 52.01, 49.0, 51.0), False, (52.0, "close")),
        (SELL, 52.0, (53.0, 54.0, 52.5, 53.0), False, (52.94, "open")),  # 53 - 10 bps
    ],
)
def test_limit_rules(
    side: OrderSide,
    limit: float,
    ohlc: tuple[float, float, float, float],
    touch: bool,
    expected: tuple[float, str] | None,
) -> None:
    venue = Venue(limit_fill="touch" if touch else "through")
    venue.submit(side, 3, limit=limit)
    events = venue.run(bar(T0 + TF, *ohlc))
    if expected is None:
        assert events == []
        assert venue.broker.working
        return
    fill = only_fill(events)
    price, when = expected
    assert fill.price == price  # makers get no slippage; takers never beyond the limit
    # reached inside its first bar: it rested there, a maker; at the open of its first
    # bar: marketable on arrival, a taker (`test_limit_taker_on_arrival`)
    assert fill.liquidity == ("taker" if when == "open" else "maker")
    assert fill.fee == pytest.approx(0.001 * 3 * price, abs=1e-12)
    assert fill.ts_event == (T0 if when == "open" else T0 + TF)


@pytest.mark.parametrize(
    ("side", "stop", "ohlc", "expected"),
    [
        # buy stop 55: a gap above it fills at the open (gaps are not forgiven) + slippage,
        # rounded up to the 0.01 tick (56.056 -> 56.06)
        (BUY, 55.0, (56.0, 57.0, 55.5, 56.0), (56.06, "open")),
        (BUY, 55.0, (55.0, 57.0, 54.0, 56.0), (55.06, "open")),
        # reached inside the bar: fills at the stop + slippage, at the bar's close time
        (BUY, 55.0, (50.0, 55.5, 49.0, 55.0), (55.06, "close")),
        # ... but never above the bar's high (55.055 > 55.0)
        (BUY, 55.0, (50.0, 55.0, 49.0, 55.0), (55.0, "close")),
        (BUY, 55.0, (50.0, 54.99, 49.0, 54.0), None),
        # sell stop 45: 43.956 -> 43.95; 44.955 -> 44.95 is below the low 45.0
        (SELL, 45.0, (44.0, 46.0, 43.0, 44.0), (43.95, "open")),
        (SELL, 45.0, (50.0, 51.0, 45.0, 46.0), (45.0, "close")),
        (SELL, 45.0, (50.0, 51.0, 45.01, 46.0), None),
    ],
)
def test_stop_rules(
    side: OrderSide,
    stop: float,
    ohlc: tuple[float, float, float, float],
    expected: tuple[float, str] | None,
) -> None:
    venue = Venue()
    venue.submit(side, 2, stop=stop)
    events = venue.run(bar(T0 + TF, *ohlc))
    if expected is None:
        assert events == []
        return
    fill = only_fill(events)
    price, when = expected
    assert fill.price == pytest.approx(price, abs=1e-12)
    assert fill.liquidity == "taker"
    assert fill.ts_event == (T0 if when == "open" else T0 + TF)


@pytest.mark.parametrize(
    ("side", "kwargs"),
    [(BUY, {}), (BUY, {"limit": 60.0}), (SELL, {"limit": 40.0}), (BUY, {"stop": 45.0})],
)
def test_no_fill_on_the_bar_of_placement(side: OrderSide, kwargs: dict[str, float]) -> None:
    venue = Venue()
    venue.submit(side, 1, **kwargs)
    # this bar would fill every one of them, but the order was placed during it
    assert venue.run(bar(T0, 50.0, 70.0, 30.0, 50.0)) == []
    assert len(venue.run(bar(T0 + TF, 50.0, 70.0, 30.0, 50.0))) == 1


def test_working_limit_fills_on_a_later_bar() -> None:
    venue = Venue()
    venue.submit(BUY, 1, limit=40.0)
    assert venue.run(bar(T0 + TF, 50.0, 51.0, 45.0, 50.0)) == []
    assert venue.run(bar(T0 + 2 * TF, 50.0, 51.0, 41.0, 50.0)) == []
    fill = only_fill(venue.run(bar(T0 + 3 * TF, 45.0, 46.0, 39.0, 40.0)))
    assert (fill.price, fill.ts_event) == (40.0, T0 + 3 * TF)


def test_same_close_fills_market_orders_at_once_at_the_last_close() -> None:
    venue = Venue(market_fill="same_close", last=50.0)
    order_id = venue.submit(BUY, 10)
    accepted, fill = venue.events
    assert accepted == OrderAccepted(order_id, "S1", "A", T0, T0)
    assert isinstance(fill, OrderFilled)
    assert fill.price == pytest.approx(50.05, abs=1e-12)
    assert (fill.ts_event, fill.ts_init, fill.leaves_quantity) == (T0, T0, 0.0)
    assert not venue.broker.working


def test_same_close_leaves_limits_working_and_waits_without_a_price() -> None:
    venue = Venue(market_fill="same_close", last=math.nan)
    venue.submit(BUY, 1, limit=10.0)
    venue.submit(BUY, 1)  # no close known yet: fills at the next open instead
    assert [type(e) for e in venue.events] == [OrderAccepted, OrderAccepted]
    fill = only_fill(venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0)))
    assert fill.order_id == "S1-000002"


def test_cash_shortfall_reduce_fills_what_cash_pays_and_cancels_the_rest() -> None:
    venue = Venue(slippage_bps=0.0, account=Account(cash=1_000.0))
    order_id = venue.submit(BUY, 25)
    events = venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))
    fill, canceled = events
    # 1000 / (50 x 1.001) = 19.98 -> 19 whole lots
    assert isinstance(fill, OrderFilled)
    assert (fill.quantity, fill.price, fill.leaves_quantity) == (19.0, 50.0, 6.0)
    assert fill.fee == pytest.approx(0.95, abs=1e-12)
    assert canceled == OrderCanceled(
        order_id,
        "S1",
        "A",
        "insufficient cash at fill price 50: 25 would cost 1251.25, cash is 1000.00",
        T0 + TF,
        T0 + TF,
    )
    assert not venue.broker.working


def test_cash_shortfall_cancel_cancels_the_whole_order() -> None:
    venue = Venue(slippage_bps=0.0, account=Account(cash=1_000.0), cash_shortfall="cancel")
    venue.submit(BUY, 25)
    (canceled,) = venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))
    assert isinstance(canceled, OrderCanceled)
    assert canceled.reason.startswith("insufficient cash at fill price 50")


def test_cash_cap_lets_a_buy_cover_a_short_first() -> None:
    venue = Venue(slippage_bps=0.0, account=Account(cash=600.0, positions={"A": -10.0}))
    venue.submit(BUY, 25)
    fill = only_fill(venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0)))
    # cover 10 costs 10 x 50 x 1.001 = 500.5, leaving 99.5 -> 99.5 / 50.05 = 1.99 -> 1 more
    assert fill.quantity == 11.0


def test_cash_cap_respects_min_quantity_beyond_the_cover() -> None:
    account = Account(cash=600.0, positions={"A": -10.0})
    venue = Venue(slippage_bps=0.0, account=account, min_quantity=2.0)
    venue.submit(BUY, 25)
    assert only_fill(venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))).quantity == 10.0


def test_pure_cover_is_never_capped() -> None:
    venue = Venue(account=Account(cash=0.0, positions={"A": -10.0}))
    venue.submit(BUY, 10)
    assert only_fill(venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))).quantity == 10.0


def test_sells_and_leveraged_buys_are_not_capped_by_cash() -> None:
    venue = Venue(account=Account(cash=0.0))
    venue.submit(SELL, 10)
    assert only_fill(venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))).quantity == 10.0
    leveraged = Venue(account=Account(cash=0.0), leverage=2.0)
    leveraged.submit(BUY, 10)
    assert only_fill(leveraged.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))).quantity == 10.0


def test_fractional_lots_in_the_cash_cap() -> None:
    venue = Venue(slippage_bps=0.0, fee_rate=0.0, account=Account(cash=100.0))
    venue.submit(BUY, 10, symbol="B")
    # 100 / 21 = 4.76 -> 4.5 at lot 0.5
    fill = only_fill(venue.run(bar(T0 + TF, 21.0, 22.0, 20.0, 21.0, symbol="B")))
    assert (fill.quantity, fill.leaves_quantity) == (4.5, 5.5)


def test_cancel_a_working_order() -> None:
    venue = Venue()
    first = venue.submit(BUY, 1, limit=10.0)
    second = venue.submit(BUY, 1, limit=11.0)
    venue.clock.set_time(T0 + 50)
    venue.broker.cancel(first)
    assert venue.events[-1] == OrderCanceled(
        first, "S1", "A", "canceled by request", T0 + 50, T0 + 50
    )
    assert [w.order.order_id for w in venue.broker.working["A"]] == [second]
    venue.broker.cancel(second)
    assert not venue.broker.working
    count = len(venue.events)
    venue.broker.cancel("S1-999999")  # unknown: nothing happens
    venue.broker.cancel(first)  # already canceled: nothing happens
    assert len(venue.events) == count
    assert venue.run(bar(T0 + TF, 5.0, 6.0, 4.0, 5.0)) == []


def test_fill_ids_count_up_across_orders() -> None:
    venue = Venue()
    venue.submit(BUY, 1)
    venue.submit(SELL, 1, symbol="B")
    venue.run(bar(T0 + TF, 50.0, 51.0, 49.0, 50.0))
    venue.run(bar(T0 + TF, 20.0, 21.0, 19.0, 20.0, symbol="B"))
    assert [f.fill_id for f in venue.fills()] == ["F-0000001", "F-0000002"]


def test_two_buys_filling_on_one_bar_cannot_overspend() -> None:
    from engine.portfolio import Portfolio

    venue = Venue(slippage_bps=0.0, fee_rate=0.0)
    portfolio = Portfolio(venue.bus, venue.clock, 1_000.0, venue.prices)
    venue.bus.subscribe(OrderFilled, portfolio.on_order_filled)
    venue.broker._account = portfolio  # the real account, as the kernel wires it
    venue.submit(BUY, 15)
    venue.submit(BUY, 15)
    # gap up to 60 (risk sized both at ~50): 15 x 60 = 900 fits once, not twice.
    # Process the bar the way the backtest driver does: bus held, flushed after matching.
    venue.bus.hold()
    venue.clock.set_time(T0 + TF)
    venue.broker.process_bar(bar(T0 + TF, 60.0, 61.0, 59.0, 60.0))
    venue.bus.flush()
    venue.bus.release()
    assert [f.quantity for f in venue.fills()] == [15.0, 1.0]  # 100 left buys 1 more
    assert portfolio.cash >= 0.0


def test_a_partial_fill_of_an_oco_member_modifies_the_other_to_what_is_left() -> None:
    """A take-profit of 10 fills 4 (volume cap: 40 % of the bar's 10); its stop, reduced
    by the same 4, is published as modified to 6, so the kernel's order ends FILLED when
    the stop fills those 6 (before: it kept its quantity 10 and stayed partly filled)."""
    venue = Venue(slippage_bps=0.0, fee_rate=0.0, volume_participation=0.4)
    modified: list[OrderModified] = []
    venue.bus.subscribe(OrderModified, modified.append)
    now = venue.clock.timestamp_ns()
    for number, kind, limit, stop in ((1, OrderType.LIMIT, 55.0, None),
                                      (2, OrderType.STOP, None, 45.0)):  # fmt: skip
        venue.broker.submit(OrderRequested(f"S1-{number:06d}", "S1", "A", SELL, 10.0, kind,
                                           limit, stop, TimeInForce.GTC, now, now,
                                           oco_group="g"))  # fmt: skip
    first = Bar("A", T0 + TF, T0 + TF, 50.0, 56.0, 49.0, 52.0, 10.0, TF)
    venue.clock.set_time(first.ts_event)
    venue.broker.process_bar(first)
    fill = only_fill(venue.events)
    assert (fill.order_id, fill.quantity, fill.price, fill.leaves_quantity) == (
        "S1-000001", 4.0, 55.0, 6.0)  # fmt: skip
    assert [(m.order_id, m.quantity, m.stop_price) for m in modified] == [
        ("S1-000002", 6.0, 45.0)]  # fmt: skip
    gap = Bar("A", T0 + 2 * TF, T0 + 2 * TF, 44.0, 44.0, 40.0, 41.0, 100.0, TF)
    venue.clock.set_time(gap.ts_event)
    venue.broker.process_bar(gap)
    stopped = venue.fills()[-1]
    assert (stopped.order_id, stopped.quantity, stopped.price, stopped.leaves_quantity) == (
        "S1-000002", 6.0, 44.0, 0.0)  # fmt: skip
    assert not venue.broker.working
