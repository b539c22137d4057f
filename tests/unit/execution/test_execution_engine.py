"""ExecutionEngine: order entities move only through the transition table; cancels."""

from __future__ import annotations

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.config import ExecutionConfig
from engine.errors import InvalidStateTransition
from engine.execution import ExecutionEngine, FixedBpsSlippage, PercentFeeModel, SimulatedBroker
from engine.model import (
    Bar,
    CancelRequested,
    Instrument,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


class RecordingBroker:
    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.canceled: list[str] = []

    def submit(self, order: OrderRequested) -> None:
        self.submitted.append(order.order_id)

    def cancel(self, order_id: str) -> None:
        self.canceled.append(order_id)


def request(
    order_id: str,
    *,
    strategy: str = "S1",
    symbol: str = "A",
    side: OrderSide = BUY,
    quantity: float = 10.0,
    limit: float | None = None,
) -> OrderRequested:
    return OrderRequested(
        order_id,
        strategy,
        symbol,
        side,
        quantity,
        OrderType.LIMIT if limit else OrderType.MARKET,
        limit,
        None,
        TimeInForce.GTC,
        7,
        7,
        "tagged",
    )


def fill(order_id: str, quantity: float, price: float, leaves: float, ts: int = 30) -> OrderFilled:
    return OrderFilled(
        order_id, "S1", f"F-{ts}", "A", BUY, quantity, price, 0.1, "taker", leaves, ts, ts
    )


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def engine(broker: RecordingBroker) -> ExecutionEngine:
    return ExecutionEngine(broker, EventBus(), SimClock(0))


def test_life_cycle_of_a_filled_order(engine: ExecutionEngine, broker: RecordingBroker) -> None:
    engine.on_order_approved(OrderApproved(request("S1-1"), 10, 10))
    order = engine.orders["S1-1"]
    assert order.status is OrderStatus.SUBMITTED
    assert (order.ts_created, order.ts_last, order.tag) == (7, 10, "tagged")
    assert broker.submitted == ["S1-1"]
    assert engine.all_open_orders() == []  # submitted is not yet working

    engine.on_order_accepted(OrderAccepted("S1-1", "S1", "A", 20, 20))
    assert order.status is OrderStatus.ACCEPTED
    assert engine.open_orders("S1") == [order]

    engine.on_order_filled(fill("S1-1", 4.0, 100.0, 6.0, ts=30))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert engine.open_orders("S1") == [order]
    assert order.leaves_quantity == 6.0

    engine.on_order_filled(fill("S1-1", 6.0, 105.0, 0.0, ts=40))
    assert order.status is OrderStatus.FILLED
    assert order.average_fill_price == pytest.approx(103.0, abs=1e-12)  # (400 + 630) / 10
    assert order.fees == pytest.approx(0.2, abs=1e-12)
    assert order.ts_last == 40
    assert engine.all_open_orders() == []
    assert engine.orders["S1-1"] is order  # closed orders stay in the book


def test_rejected_and_canceled(engine: ExecutionEngine) -> None:
    engine.on_order_approved(OrderApproved(request("S1-1"), 10, 10))
    engine.on_order_rejected(OrderRejected("S1-1", "S1", "A", "venue says no", 11, 11))
    assert engine.orders["S1-1"].status is OrderStatus.REJECTED
    assert engine.orders["S1-1"].reason == "venue says no"

    engine.on_order_approved(OrderApproved(request("S1-2"), 10, 10))
    engine.on_order_accepted(OrderAccepted("S1-2", "S1", "A", 11, 11))
    engine.on_order_filled(fill("S1-2", 1.0, 100.0, 9.0))
    engine.on_order_canceled(OrderCanceled("S1-2", "S1", "A", "user", 50, 50))
    order = engine.orders["S1-2"]
    assert (order.status, order.reason, order.ts_last, order.filled_quantity) == (
        OrderStatus.CANCELED,
        "user",
        50,
        1.0,
    )
    assert engine.all_open_orders() == []


def test_open_orders_filter_by_strategy_and_symbol_oldest_first(engine: ExecutionEngine) -> None:
    for order_id, strategy, symbol in [
        ("S1-1", "S1", "A"),
        ("S2-1", "S2", "A"),
        ("S1-2", "S1", "B"),
        ("S1-3", "S1", "A"),
    ]:
        engine.on_order_approved(
            OrderApproved(request(order_id, strategy=strategy, symbol=symbol), 1, 1)
        )
        engine.on_order_accepted(OrderAccepted(order_id, "S1", symbol, 2, 2))
    ids = [o.order_id for o in engine.open_orders("S1")]
    assert ids == ["S1-1", "S1-2", "S1-3"]
    assert [o.order_id for o in engine.open_orders("S1", "A")] == ["S1-1", "S1-3"]
    assert [o.order_id for o in engine.open_orders("S2")] == ["S2-1"]
    assert len(engine.all_open_orders()) == 4


def test_cancel_requests_go_to_the_broker_only_for_working_orders(
    engine: ExecutionEngine, broker: RecordingBroker
) -> None:
    engine.on_order_approved(OrderApproved(request("S1-1"), 1, 1))
    engine.on_cancel_requested(CancelRequested("S1-1", "S1", 2, 2))  # not accepted yet
    engine.on_order_accepted(OrderAccepted("S1-1", "S1", "A", 2, 2))
    engine.on_cancel_requested(CancelRequested("S1-1", "S1", 3, 3))
    engine.on_cancel_requested(CancelRequested("S1-404", "S1", 3, 3))
    engine.on_order_filled(fill("S1-1", 10.0, 1.0, 0.0))
    engine.on_cancel_requested(CancelRequested("S1-1", "S1", 4, 4))  # filled: closed
    assert broker.canceled == ["S1-1"]


@pytest.mark.parametrize(
    "event",
    [
        fill("S1-1", 1.0, 100.0, 9.0),  # a fill before the venue accepted the order
        OrderAccepted("S1-1", "S1", "A", 3, 3),  # accepted twice
    ],
)
def test_illegal_moves_raise_invalid_state_transition(
    engine: ExecutionEngine, event: object
) -> None:
    engine.on_order_approved(OrderApproved(request("S1-1"), 1, 1))
    if isinstance(event, OrderAccepted):
        engine.on_order_accepted(OrderAccepted("S1-1", "S1", "A", 2, 2))
        with pytest.raises(InvalidStateTransition, match="order S1-1: order cannot move"):
            engine.on_order_accepted(event)
    else:
        with pytest.raises(InvalidStateTransition, match="from submitted to partially_filled"):
            engine.on_order_filled(event)  # type: ignore[arg-type]


def test_cancel_of_a_filled_order_is_illegal(engine: ExecutionEngine) -> None:
    engine.on_order_approved(OrderApproved(request("S1-1"), 1, 1))
    engine.on_order_accepted(OrderAccepted("S1-1", "S1", "A", 2, 2))
    engine.on_order_filled(fill("S1-1", 10.0, 1.0, 0.0))
    with pytest.raises(InvalidStateTransition, match="from filled to canceled"):
        engine.on_order_canceled(OrderCanceled("S1-1", "S1", "A", "late", 5, 5))


def test_with_the_simulated_broker_on_a_bus() -> None:
    """Approved → accepted → working → canceled / filled, through real events."""
    bus = EventBus()
    clock = SimClock(100)
    prices = {"A": 10.0}

    class Rich:
        def projected_cash(self) -> float:
            return 1e9

        def projected_position(self, symbol: str) -> float:
            return 0.0

        def reserve_fill(self, fill: OrderFilled) -> None:
            """Rich enough that no fill matters."""

    broker = SimulatedBroker(
        bus,
        clock,
        {"A": Instrument("A")},
        prices,
        Rich(),
        PercentFeeModel(0.0),
        FixedBpsSlippage(0.0),
        ExecutionConfig(),
    )
    engine = ExecutionEngine(broker, bus, clock)
    bus.subscribe(OrderApproved, engine.on_order_approved)
    bus.subscribe(CancelRequested, engine.on_cancel_requested)
    bus.subscribe(OrderAccepted, engine.on_order_accepted)
    bus.subscribe(OrderFilled, engine.on_order_filled)
    bus.subscribe(OrderCanceled, engine.on_order_canceled)

    bus.publish(OrderApproved(request("S1-1", limit=9.0), 100, 100))
    bus.publish(OrderApproved(request("S1-2", side=SELL, quantity=3.0), 100, 100))
    assert [o.order_id for o in engine.open_orders("S1")] == ["S1-1", "S1-2"]
    assert engine.orders["S1-1"].status is OrderStatus.ACCEPTED

    bus.publish(CancelRequested("S1-1", "S1", 150, 150))
    assert engine.orders["S1-1"].status is OrderStatus.CANCELED
    assert engine.orders["S1-1"].reason == "canceled by request"

    clock.set_time(200)
    broker.process_bar(Bar("A", 200, 200, 11.0, 12.0, 8.0, 11.5, 1.0, 100))
    sold = engine.orders["S1-2"]
    assert (sold.status, sold.average_fill_price, sold.filled_quantity) == (
        OrderStatus.FILLED,
        11.0,
        3.0,
    )
    assert engine.all_open_orders() == []
    assert not broker.working
