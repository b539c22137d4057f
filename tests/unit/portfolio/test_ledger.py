"""One ledger: the portfolio journals its changes and owns the venue's fill reservations.

The venue keeps no copy of cash or positions (issue 12): it reserves each fill with the
portfolio as it publishes it and reads the portfolio's projected cash and positions. These
tests pin the reservation arithmetic, the journal rows, and that the venue's caps no
longer depend on where other `OrderFilled` handlers sit relative to the portfolio's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.config import ExecutionConfig
from engine.execution import SimulatedBroker
from engine.execution.models import FixedBpsSlippage, PercentFeeModel
from engine.model import (
    Instrument,
    OrderCanceled,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.portfolio import Portfolio
from engine.portfolio.fx import FxPortfolio, FxRates, RateSeries
from engine.portfolio.state import AccountState

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def fill(fill_id: str, side: OrderSide, quantity: float, price: float, fee: float) -> OrderFilled:
    return OrderFilled("O", "S1", fill_id, "A", side, quantity, price, fee, "taker", 0.0, 5, 7)


def test_a_reserved_fill_counts_in_the_projection_until_the_portfolio_applies_it() -> None:
    clock = SimClock(7)
    portfolio = Portfolio(EventBus(), clock, 1_000.0, {"A": 100.0})
    first, second = fill("F-1", BUY, 3.0, 100.0, 0.5), fill("F-2", SELL, 1.0, 110.0, 0.25)
    portfolio.reserve_fill(first)
    portfolio.reserve_fill(second)
    # 1,000 - (300 + 0.5) + (110 - 0.25); the ledger itself has not moved
    assert portfolio.projected_cash() == pytest.approx(809.25)
    assert portfolio.projected_position("A") == 2.0
    assert (portfolio.cash, portfolio.position_quantity("A")) == (1_000.0, 0.0)
    portfolio.on_order_filled(first)
    assert portfolio.cash == 699.5
    assert portfolio.projected_cash() == pytest.approx(809.25)
    assert portfolio.projected_position("A") == 2.0
    portfolio.on_order_filled(second)
    assert (portfolio.cash, portfolio.position_quantity("A")) == (809.25, 2.0)
    assert (portfolio.projected_cash(), portfolio.projected_position("A")) == (809.25, 2.0)


def test_a_fill_nobody_reserved_is_applied_without_touching_the_reservations() -> None:
    portfolio = Portfolio(EventBus(), SimClock(7), 1_000.0, {"A": 100.0})
    portfolio.reserve_fill(fill("F-1", BUY, 1.0, 100.0, 0.0))
    portfolio.on_order_filled(fill("X-9", BUY, 2.0, 100.0, 0.0))  # another venue's fill
    assert portfolio.cash == 800.0
    assert portfolio.projected_cash() == 700.0  # F-1 still pending
    assert portfolio.projected_position("A") == 3.0


def test_a_foreign_fill_is_reserved_at_the_rate_of_its_ts_event() -> None:
    series = RateSeries("EUR", np.array([5, 20], dtype=np.int64), np.array([1.25, 2.0]))
    clock = SimClock(30)  # applied later, at a later rate: the fill's own time decides
    portfolio = FxPortfolio(EventBus(), clock, 1_000.0, {"A": 100.0}, FxRates({"A": series}))
    buy = fill("F-1", BUY, 2.0, 100.0, 1.0)  # ts_event 5: rate 1.25
    portfolio.reserve_fill(buy)
    assert portfolio.projected_cash() == 1_000.0 - 201.0 * 1.25
    portfolio.on_order_filled(buy)
    assert portfolio.cash == 1_000.0 - 201.0 * 1.25
    assert portfolio.projected_cash() == portfolio.cash


def test_the_journal_holds_each_change_as_the_portfolio_applied_it() -> None:
    clock = SimClock(7)
    portfolio = Portfolio(EventBus(), clock, 1_000.0, {"B": 1.0, "A": 100.0})
    portfolio.on_order_filled(fill("F-1", BUY, 3.0, 100.0, 0.5))  # ts_init 7
    clock.set_time(9)
    portfolio.apply_cash_flow("A", -1.5, "borrow_fee", 8)
    portfolio.on_order_filled(fill("F-2", SELL, 3.0, 90.0, 0.0)._replace(ts_init=9))
    rows = portfolio.journal.columns()
    assert rows.ts.tolist() == [7, 9, 9]
    assert [portfolio.journal.symbols[code] for code in rows.symbol] == ["A", "A", "A"]
    assert rows.quantity.tolist() == [3.0, 3.0, 0.0]
    assert rows.cash.tolist() == [699.5, 698.0, 968.0]
    state = AccountState.of(portfolio)
    assert (state.cash, state.fees_paid, state.cash_flows) == (968.0, 0.5, -1.5)
    assert state.positions["A"].realized_pnl == -30.0
    assert state.open_positions() == {}


# --- the venue's caps do not depend on subscription order --------------------------------


def venue(order: str) -> tuple[SimulatedBroker, Portfolio, list[OrderFilled], list[str]]:
    """A cash account of 1,000 and a same-close venue on one bus.

    A second buy of 6 is sent to the venue from inside the delivery of the first fill, by
    a handler subscribed ``"before"`` the portfolio, ``"after"`` it, or ``"between"`` it
    and a last handler (where the old broker's own settle handler sat).
    """
    bus = EventBus()
    clock = SimClock(10)
    prices = {"A": 100.0}
    portfolio = Portfolio(bus, clock, 1_000.0, prices)
    broker = SimulatedBroker(
        bus,
        clock,
        {"A": Instrument("A", lot_size=1.0)},
        prices,
        portfolio,
        PercentFeeModel(0.0),
        FixedBpsSlippage(0.0),
        ExecutionConfig(market_fill="same_close"),
    )
    fills: list[OrderFilled] = []
    reasons: list[str] = []
    bus.subscribe(OrderCanceled, lambda event: reasons.append(event.reason))
    sent: list[str] = []

    def second_buy(event: OrderFilled) -> None:
        if not sent:
            sent.append("O-2")
            broker.submit(market_buy("O-2", 6.0))

    def record(event: OrderFilled) -> None:
        fills.append(event)

    handlers: dict[str, list[Callable[[OrderFilled], None]]] = {
        "before": [second_buy, portfolio.on_order_filled, record],
        "after": [portfolio.on_order_filled, record, second_buy],
        "between": [portfolio.on_order_filled, second_buy, record],
    }
    for handler in handlers[order]:
        bus.subscribe(OrderFilled, handler)
    return broker, portfolio, fills, reasons


def market_buy(order_id: str, quantity: float) -> OrderRequested:
    return OrderRequested(
        order_id, "S1", "A", BUY, quantity, OrderType.MARKET, None, None, TimeInForce.GTC, 10, 10
    )


@pytest.mark.parametrize("order", ["before", "between", "after"])
def test_a_fill_sent_while_another_is_delivered_sees_the_same_cash(order: str) -> None:
    broker, portfolio, fills, reasons = venue(order)
    broker.submit(market_buy("O-1", 6.0))
    # 600 spent by the first fill, 400 left: the second buy is cut to 4 wherever it was sent
    # from. Was: sent after the portfolio applied the first fill and before the broker
    # forgot its shadow copy, the 600 counted twice and the second buy was canceled.
    assert [(f.order_id, f.quantity) for f in fills] == [("O-1", 6.0), ("O-2", 4.0)]
    assert reasons == ["insufficient cash at fill price 100: 6 would cost 600.00, cash is 400.00"]
    assert portfolio.cash == 0.0
    assert portfolio.projected_cash() == 0.0
    assert portfolio.position_quantity("A") == portfolio.projected_position("A") == 10.0
