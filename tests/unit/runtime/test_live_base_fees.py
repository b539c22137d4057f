"""A fee paid in the base asset reduces the live position on sells as well as on buys."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import (
    Instrument,
    OrderFilled,
    OrderModified,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.portfolio import Portfolio
from engine.runtime.live import LiveFill, LiveOrder, LiveStatus, Update
from engine.runtime.live.venue import LiveVenue

BTC = Instrument("BTC/USDT", quote_currency="USDT", tick_size=0.01, lot_size=0.00001)


class Wallet:
    """The exchange's balances as the venue reads them before a sell."""

    def __init__(self, free: float) -> None:
        self.free = free

    def balances(self) -> dict[str, tuple[float, float]]:
        return {"BTC": (self.free, self.free), "USDT": (1e9, 1e9)}  # any buy is paid

    def book_price(self, symbol: str, quantity: float, side: str) -> float:
        return 20000.0

    def perpetual(self, symbol: str) -> bool:
        return False  # a spot wallet


class Canned:
    """An order manager answering each submit with one fill (fee in ``fee_asset``)."""

    def __init__(self, wallet: Wallet) -> None:
        self.exchange = wallet
        self.fills: list[tuple[str, float, float, float, str]] = []

    def submit(self, order_id: str, strategy_id: str, spec: Any) -> list[Update]:
        side, quantity, price, fee, asset = self.fills.pop(0)
        assert spec.side == side
        record = LiveOrder("c", order_id, strategy_id, "BTC/USDT", side, "market", quantity,
                           None, "GTC", LiveStatus.OPEN)  # fmt: skip
        fill = LiveFill(f"t{order_id}", "c", "1", "BTC/USDT", side, quantity, price, fee, asset,
                        "taker", 1)  # fmt: skip
        return [Update("accepted", record), Update("filled", record, fill)]


def request(number: int, side: OrderSide, quantity: float) -> OrderRequested:
    return OrderRequested(f"s-{number:06d}", "s", "BTC/USDT", side, quantity, OrderType.MARKET,
                          None, None, TimeInForce.GTC, 1, 1)  # fmt: skip


def rig(free: float) -> tuple[LiveVenue, Canned, Portfolio, list[Any]]:
    bus = EventBus()
    events: list[Any] = []
    bus.subscribe_all(events.append)
    portfolio = Portfolio(bus, SimClock(5), 10_000.0, {"BTC/USDT": 20_000.0})
    bus.subscribe(OrderFilled, portfolio.on_order_filled)
    manager = Canned(Wallet(free))
    venue = LiveVenue(bus, SimClock(5), manager, {"BTC/USDT": BTC})  # type: ignore[arg-type]
    return venue, manager, portfolio, events


def test_a_sell_whose_fee_is_in_the_base_asset_reduces_the_position_by_the_fee() -> None:
    venue, manager, portfolio, events = rig(free=0.02)
    manager.fills = [
        ("buy", 0.02, 20_000.0, 0.00002, "BTC"),  # 0.02 bought, 0.01998 received
        ("sell", 0.01, 21_000.0, 0.00001, "BTC"),  # 0.01 sold, 0.01001 leaves the wallet
    ]
    venue.submit(request(1, OrderSide.BUY, 0.02))
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01998)
    assert portfolio.cash == pytest.approx(10_000.0 - 0.02 * 20_000.0)
    events.clear()
    venue.submit(request(2, OrderSide.SELL, 0.01))
    modified = [e for e in events if isinstance(e, OrderModified)]
    filled = [e for e in events if isinstance(e, OrderFilled)]
    assert [m.quantity for m in modified] == [pytest.approx(0.01001)]  # the order grows by it
    assert len(filled) == 1
    assert filled[0].quantity == pytest.approx(0.01001)  # what left the wallet
    assert filled[0].fee == pytest.approx(0.00001 * 21_000.0)  # valued at the fill's price
    assert filled[0].leaves_quantity == 0.0
    # the wallet: 0.01998 - 0.01 - 0.00001 BTC; the quote received is the gross notional
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.00997)
    assert portfolio.cash == pytest.approx(10_000.0 - 400.0 + 0.01 * 21_000.0)


def test_a_sell_whose_fee_is_in_the_quote_asset_leaves_the_quantity_alone() -> None:
    venue, manager, portfolio, events = rig(free=0.02)
    manager.fills = [("buy", 0.02, 20_000.0, 8.0, "USDT"), ("sell", 0.01, 21_000.0, 4.2, "USDT")]
    venue.submit(request(1, OrderSide.BUY, 0.02))
    venue.submit(request(2, OrderSide.SELL, 0.01))
    assert not [e for e in events if isinstance(e, OrderModified)]
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01)
    assert portfolio.cash == pytest.approx(10_000.0 - 400.0 - 8.0 + 210.0 - 4.2)
