"""Context: order helpers with pending orders, account views, history, indicators."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from engine.bus import EventBus
from engine.cache import MarketCache, SymbolHistory
from engine.clock import SimClock
from engine.errors import IndicatorError, StrategyError
from engine.model import (
    Bar,
    CancelRequested,
    Instrument,
    Order,
    OrderRequested,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from engine.strategy import Context

BUY, SELL = OrderSide.BUY, OrderSide.SELL
HOUR = 3_600 * 10**9
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00Z
CLOSES = [10.0, 11.0, 12.0, 14.0, 13.0, 15.0, 18.0, 16.0]


@dataclass
class FakePortfolio:
    cash: float = 10_000.0
    equity_value: float = 10_000.0
    positions: dict[str, float] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=lambda: {"A": 100.0, "B": math.nan})

    def equity(self) -> float:
        return self.equity_value

    def position_quantity(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def last_price(self, symbol: str) -> float:
        return self.prices[symbol]


@dataclass
class FakeOrders:
    orders: list[Order] = field(default_factory=list)

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders
            if o.strategy_id == strategy_id and (symbol is None or o.symbol == symbol)
        ]


def working(
    order_id: str, symbol: str, side: OrderSide, quantity: float, filled: float = 0.0
) -> Order:
    return Order(
        order_id=order_id,
        strategy_id=order_id.split("-")[0],
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        limit_price=None,
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        ts_created=0,
        status=OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED,
        filled_quantity=filled,
    )


def history(symbol: str, closes: list[float]) -> SymbolHistory:
    n = len(closes)
    close = np.array(closes)
    return SymbolHistory(
        symbol,
        T0 + HOUR * np.arange(1, n + 1, dtype=np.int64),
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.arange(n, dtype=np.float64),
        },
    )


class World:
    def __init__(self, *, sizing_fee_rate: float = 0.001) -> None:
        self.bus = EventBus()
        self.clock = SimClock(T0 + HOUR)
        self.portfolio = FakePortfolio()
        self.orders = FakeOrders()
        self.histories = {"A": history("A", CLOSES), "B": history("B", [5.0, 6.0])}
        self.cache = MarketCache(self.histories)
        self.sent: list[object] = []
        self.bus.subscribe(OrderRequested, self.sent.append)
        self.bus.subscribe(CancelRequested, self.sent.append)
        self.ctx = Context(
            strategy_id="S1",
            clock=self.clock,
            bus=self.bus,
            portfolio=self.portfolio,
            orders=self.orders,
            histories=self.histories,
            instruments={"A": Instrument("A", lot_size=1.0), "B": Instrument("B", lot_size=0.5)},
            sizing_fee_rate=sizing_fee_rate,
        )

    def reveal(self, symbol: str, k: int) -> None:
        """Reveal bar ``k`` (0-based) of ``symbol`` through the cache."""
        h = self.histories[symbol]
        c = h.columns
        ts = int(h.ts_event[k])
        self.clock.set_time(ts)
        self.cache.on_bar(
            Bar(symbol, ts, ts, c["open"][k], c["high"][k], c["low"][k], c["close"][k], 0.0, HOUR)
        )

    def last(self) -> OrderRequested:
        event = self.sent[-1]
        assert isinstance(event, OrderRequested)
        return event


@pytest.fixture
def world() -> World:
    return World()


def test_buy_sell_and_order_types(world: World) -> None:
    ctx = world.ctx
    assert ctx.buy("A", 3) == "S1-000001"
    order = world.last()
    assert (order.side, order.quantity, order.order_type) == (BUY, 3.0, OrderType.MARKET)
    assert (order.limit_price, order.stop_price, order.time_in_force) == (None, None, "gtc")
    assert (order.ts_event, order.ts_init, order.strategy_id) == (T0 + HOUR,) * 2 + ("S1",)
    assert type(order.quantity) is float
    ctx.sell("A", 2, limit_price=105, tag="tp")
    order = world.last()
    assert (order.order_id, order.side, order.order_type, order.limit_price, order.tag) == (
        "S1-000002",
        SELL,
        OrderType.LIMIT,
        105.0,
        "tp",
    )
    ctx.sell("A", 2, stop_price=95)
    assert (world.last().order_type, world.last().stop_price) == (OrderType.STOP, 95.0)


def test_unknown_symbol_in_a_query_is_a_strategy_error(world: World) -> None:
    with pytest.raises(
        StrategyError, match=r"unknown symbol 'AA' \(did you mean 'A'\?\); add it as a \[\[data"
    ):
        world.ctx.position("AA")
    with pytest.raises(StrategyError, match="unknown symbol 'a'"):
        world.ctx.history("a")
    assert world.sent == []


def test_an_order_for_an_unknown_symbol_goes_to_risk(world: World) -> None:
    # orders never raise for bad input: risk denies them as an event ("unknown_symbol")
    world.ctx.buy("ZZZ", 1)
    assert world.last().symbol == "ZZZ"


def test_order_target_quantity_counts_position_and_pending_orders(world: World) -> None:
    world.portfolio.positions["A"] = 3.0
    world.orders.orders = [
        working("S1-000090", "A", BUY, 4.0, filled=2.0),  # 2 still to come
        working("S1-000091", "A", SELL, 1.0),
        working("S2-000001", "A", BUY, 50.0),  # another strategy's: not counted
        working("S1-000092", "B", BUY, 7.0),  # another symbol: not counted
    ]
    # 10 - 3 - (2 - 1) = 6
    assert world.ctx.order_target_quantity("A", 10) == "S1-000001"
    assert (world.last().side, world.last().quantity) == (BUY, 6.0)
    # -5 - 3 - 1 = -9
    world.ctx.order_target_quantity("A", -5)
    assert (world.last().side, world.last().quantity) == (SELL, 9.0)
    # already there once pending orders fill: nothing to do
    count = len(world.sent)
    assert world.ctx.order_target_quantity("A", 4) is None
    assert world.ctx.order_target_quantity("A", 4.9) is None  # rounds toward zero: 0 lots
    assert len(world.sent) == count


def test_order_target_quantity_rounds_to_lots(world: World) -> None:
    world.ctx.order_target_quantity("B", 2.7)
    assert world.last().quantity == 2.5
    world.ctx.order_target_quantity("B", -1.2)
    assert (world.last().side, world.last().quantity) == (SELL, 1.0)


def test_order_target_percent_sizes_at_last_close_with_fee_room(world: World) -> None:
    # 10000 x 0.5 / (100 x 1.001) = 49.95 -> 49
    world.ctx.order_target_percent("A", 0.5)
    assert (world.last().side, world.last().quantity) == (BUY, 49.0)
    world.portfolio.positions["A"] = 20.0
    # 10000 x 1.0 / 100.1 = 99.9 -> target 99.9 - 20 = 79.9 -> 79
    world.ctx.order_target_percent("A", 1.0)
    assert world.last().quantity == 79.0
    # -0.25: 10000 x -0.25 / 100.1 = -24.98 -> -24.98 - 20 = -44.98 -> sell 44
    world.ctx.order_target_percent("A", -0.25)
    assert (world.last().side, world.last().quantity) == (SELL, 44.0)


def test_order_target_percent_with_pending_orders_does_not_stack(world: World) -> None:
    world.ctx.order_target_percent("A", 0.5)
    world.orders.orders = [working("S1-000001", "A", BUY, 49.0)]
    count = len(world.sent)
    assert world.ctx.order_target_percent("A", 0.5) is None  # same target: nothing
    assert len(world.sent) == count


def test_order_target_percent_without_price_or_with_nan(world: World) -> None:
    assert world.ctx.order_target_percent("B", 0.5) is None  # no close known yet
    assert world.sent == []
    with pytest.raises(StrategyError, match="not a number"):
        world.ctx.order_target_percent("A", math.nan)


def test_close_position(world: World) -> None:
    assert world.ctx.close_position("A") is None  # flat
    world.portfolio.positions["A"] = -7.0
    world.ctx.close_position("A", tag="exit")
    assert (world.last().side, world.last().quantity, world.last().tag) == (BUY, 7.0, "exit")
    assert world.last().reduce_only  # can never overshoot into a long
    world.orders.orders = [working("S1-000001", "A", BUY, 7.0)]
    assert world.ctx.close_position("A") is None  # the close is already working
    world.orders.orders = [working("S1-000001", "A", BUY, 7.0, filled=3.0)]
    world.portfolio.positions["A"] = -4.0
    assert world.ctx.close_position("A") is None  # 4 short, 4 still to buy


def test_cancel_and_cancel_all(world: World) -> None:
    world.clock.set_time(T0 + 5)
    world.ctx.cancel("S1-000007")
    assert world.sent[-1] == CancelRequested("S1-000007", "S1", T0 + 5, T0 + 5)
    world.orders.orders = [
        working("S1-000001", "A", BUY, 1.0),
        working("S1-000002", "B", BUY, 1.0),
        working("S1-000003", "A", SELL, 1.0),
    ]
    world.sent.clear()
    world.ctx.cancel_all("A")
    assert [e.order_id for e in world.sent] == ["S1-000001", "S1-000003"]  # type: ignore[attr-defined]
    world.sent.clear()
    world.ctx.cancel_all()
    assert len(world.sent) == 3
    assert [o.order_id for o in world.ctx.open_orders("B")] == ["S1-000002"]


def test_account_views(world: World) -> None:
    world.portfolio.cash = 123.0
    world.portfolio.equity_value = 456.0
    world.portfolio.positions["B"] = -1.5
    ctx = world.ctx
    assert (ctx.cash, ctx.equity, ctx.position("B"), ctx.position("A")) == (123.0, 456.0, -1.5, 0.0)
    assert ctx.symbols == ["A", "B"]
    assert ctx.time_ns == T0 + HOUR
    assert ctx.now.isoformat() == "2021-01-01T01:00:00+00:00"


def test_history_shows_only_closed_bars(world: World) -> None:
    assert len(world.ctx.history("A")) == 0
    for k in range(3):
        world.reveal("A", k)
    frame = world.ctx.history("A")
    assert frame["close"].tolist() == CLOSES[:3]
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index.tz) == "UTC"
    assert frame.index[-1].value == T0 + 3 * HOUR  # the current bar is the last row
    assert world.ctx.history("A", 2)["close"].tolist() == CLOSES[1:3]
    assert world.ctx.history("A", 50)["close"].tolist() == CLOSES[:3]
    frame.loc[frame.index[0], "close"] = -1.0  # a copy: the strategy cannot edit history
    assert world.ctx.history("A")["close"].iloc[0] == CLOSES[0]


def sma3(values: list[float]) -> list[float]:
    return [math.nan if i < 2 else sum(values[i - 2 : i + 1]) / 3 for i in range(len(values))]


def test_indicator_values_are_revealed_bar_by_bar(world: World) -> None:
    sma = world.ctx.indicator("sma", "A", timeperiod=3)
    assert len(sma) == 0
    assert math.isnan(sma.value)
    assert not sma.is_ready
    expected = sma3(CLOSES)
    for k in range(len(CLOSES)):
        world.reveal("A", k)
        assert len(sma) == k + 1  # never a value of a bar that has not closed
        np.testing.assert_allclose(sma, expected[: k + 1], rtol=0, atol=1e-12)
        assert sma.is_ready is (k >= 2)
    assert sma[-1] == pytest.approx((15.0 + 18.0 + 16.0) / 3)
    np.testing.assert_allclose(sma.to_numpy(), expected, rtol=0, atol=1e-12)


def test_indicator_declared_mid_run_catches_up_to_the_cursor_only(world: World) -> None:
    for k in range(4):
        world.reveal("A", k)
    world.reveal("B", 0)
    sma = world.ctx.indicator("sma", "A", timeperiod=3)
    assert len(sma) == 4
    np.testing.assert_allclose(sma, sma3(CLOSES)[:4], rtol=0, atol=1e-12)
    world.reveal("B", 1)  # another symbol's bar does not move it
    assert len(sma) == 4
    world.reveal("A", 4)
    assert len(sma) == 5


def test_indicator_on_another_source_and_multi_output(world: World) -> None:
    volume_sma = world.ctx.indicator("sma", "A", source="volume", timeperiod=2)
    macd = world.ctx.indicator("macd", "A", fastperiod=2, slowperiod=3, signalperiod=2)
    for k in range(5):
        world.reveal("A", k)
    assert volume_sma[-1] == pytest.approx(3.5)  # volumes are 0, 1, 2, 3, 4
    assert set(macd.outputs) >= {"macd", "macdsignal", "macdhist"}
    signal = macd.output("macdsignal")
    assert len(signal) == len(macd) == 5
    assert macd.output("macd") is macd
    with pytest.raises(IndicatorError, match="did you mean 'macdsignal'"):
        macd.output("macdsignl")


def test_a_source_feeds_the_single_series_input(world: World) -> None:
    assert world.ctx.indicator("sma", "A", source="open", timeperiod=3) is not None
    assert world.ctx.indicator("obv", "A", source="open") is not None  # real = open, volume


def test_indicators_are_cached_per_arguments(world: World) -> None:
    a = world.ctx.indicator("sma", "A", timeperiod=3)
    assert world.ctx.indicator("SMA", "A", timeperiod=3) is a
    assert world.ctx.indicator("sma", "A", timeperiod=4) is not a
    assert world.ctx.indicator("sma", "B", timeperiod=3) is not a


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("smaa", "A"), {}, "did you mean 'sma'"),
        (("sma", "A"), {"period": 3}, "did you mean 'timeperiod'"),
        (("sma", "A"), {"source": "closed"}, "did you mean 'close'"),
        # natr reads high, low and close: a source was silently ignored (an audit, which
        # found it for [ml] features; a strategy's ctx.indicator had the same gap)
        (("natr", "A"), {"source": "open"}, "natr: source 'open' is not used"),
        (("sma", "A"), {"source": "open", "inputs": {"real": "high"}}, "source 'open' is not"),
    ],
)
def test_indicator_errors(
    world: World, args: tuple[str, str], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(IndicatorError, match=message):
        world.ctx.indicator(*args, **kwargs)  # type: ignore[arg-type]


def test_a_denied_request_is_forgotten_once_nothing_waits_on_the_bus(world: World) -> None:
    """A request not booked (risk denied it) counts as on its way only while the bus still
    holds events: a target or close checked when nothing waits forgets it, even when it
    orders nothing itself, so a later call in a busier moment neither orders less nor
    cancels the denied request (was, for one commit of the order-path speed-up: kept)."""
    bus, ctx = world.bus, world.ctx
    bus.hold()  # a driver's session: requests wait on the bus until the driver flushes
    assert ctx.order_target_quantity("A", 5) == "S1-000001"
    bus.flush()  # delivered, then denied: never booked, no working order
    assert ctx.order_target_quantity("A", 0) is None  # nothing waits: nothing to order
    assert ctx.close_position("A") is None  # flat
    ctx.cancel("S1-000777")  # an event waits on the bus again
    assert ctx.order_target_quantity("A", 5) == "S1-000002"
    bus.flush()  # (`world.sent` sees what the bus delivered)
    assert (world.last().side, world.last().quantity) == (BUY, 5.0)
    world.portfolio.positions["A"] = 5.0
    world.orders.orders = [working("S1-000002", "A", BUY, 5.0)]
    assert ctx.order_target_quantity("A", 0) == "S1-000003"  # S1-000002 works: counted
    bus.flush()
    assert (world.last().side, world.last().quantity) == (SELL, 10.0)
    world.orders.orders = []
    assert ctx.order_target_quantity("A", 5) is None  # nothing waits: S1-000003 forgotten
    ctx.cancel("S1-000778")
    world.sent.clear()
    assert ctx.close_position("A") == "S1-000004"
    bus.flush()
    canceled = [e.order_id for e in world.sent if isinstance(e, CancelRequested)]
    assert canceled == ["S1-000778"]  # ours only: neither the denied S1-000001 nor S1-000003
