"""SimulatedBroker: matches working orders against bars (backtest and paper).

In: approved orders (`submit`), cancels, and each bar before strategies see it
(`process_bar`). Out: `OrderAccepted`, `OrderFilled`, `OrderCanceled` on the bus.

Fill rules (each one a named setting of ``[execution]``, listed in the README):
- No order fills on the bar during which it was placed: it is eligible from the next bar
  of its symbol (``market_fill = "next_open"``, the default). With ``"same_close"`` a
  market order fills at once at the close of the bar it was decided on.
- Market: fills at the bar's open, moved against the taker by the slippage model.
- Limit: if the bar opens through the limit it fills at the open (a gap gives the better
  price); else it fills at the limit if the bar trades beyond it (``limit_fill =
  "through"``) or reaches it (``"touch"``). Maker liquidity, no slippage.
- Stop (stop-market): if the bar opens beyond the stop it fills at the open, not the stop
  (gaps are not forgiven); else at the stop when the bar's range reaches it; taker, with
  slippage.
- Fill times: fills at the open carry the bar's open time; intrabar fills carry the bar's
  close time (the first moment the engine can know they happened).
- Cash account (leverage 1): a buy that opens or adds to a long is capped at what cash
  pays at the fill price including fees; ``cash_shortfall`` says whether the affordable
  part fills (``"reduce"``) or the order is canceled (``"cancel"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, Protocol

from engine.bus import EventBus
from engine.clock import Clock
from engine.execution.models import FeeModel, SlippageModel
from engine.model import (
    Bar,
    Instrument,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderType,
)

__all__ = ["AccountView", "SimulatedBroker"]


class AccountView(Protocol):
    """What the broker needs to know of the account to enforce cash at fill time."""

    @property
    def cash(self) -> float:
        """Return cash in account currency."""
        ...

    def position_quantity(self, symbol: str) -> float:
        """Return the signed position quantity."""
        ...


class _Working:
    """Venue-side state of a working order."""

    __slots__ = ("leaves", "order", "ts_accepted")

    def __init__(self, order: OrderRequested, ts_accepted: int) -> None:
        self.order = order
        self.leaves = order.quantity
        self.ts_accepted = ts_accepted


class SimulatedBroker:
    """Bar-based matching engine with pluggable fees and slippage."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        prices: Mapping[str, float],
        account: AccountView,
        fee_model: FeeModel,
        slippage: SlippageModel,
        *,
        market_fill: Literal["next_open", "same_close"] = "next_open",
        limit_fill: Literal["through", "touch"] = "through",
        cash_shortfall: Literal["reduce", "cancel"] = "reduce",
        leverage: float = 1.0,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._instruments = instruments
        self._prices = prices
        self._account = account
        self._fees = fee_model
        self._slippage = slippage
        self._market_fill = market_fill
        self._touch = limit_fill == "touch"
        self._cash_shortfall = cash_shortfall
        self._cash_account = leverage <= 1.0
        # symbol -> working orders; a symbol leaves the dict when its last order closes, so
        # the dict is falsy when nothing works and the backtest loop can skip matching.
        self.working: dict[str, list[_Working]] = {}
        self._fill_count = 0

    def submit(self, order: OrderRequested) -> None:
        """Accept ``order``; fill it now only under ``market_fill = "same_close"``."""
        now = self._clock.timestamp_ns()
        self._bus.publish(OrderAccepted(order.order_id, order.symbol, now, now))
        working = _Working(order, now)
        last = self._prices.get(order.symbol, math.nan)
        if (
            self._market_fill == "same_close"
            and order.order_type is OrderType.MARKET
            and math.isfinite(last)
        ):
            self._fill(working, self._slippage.adjust(last, order.side), "taker", now)
            if working.leaves <= 0:
                return
        self.working.setdefault(order.symbol, []).append(working)

    def cancel(self, order_id: str) -> None:
        """Cancel a working order at the current time."""
        for symbol, orders in self.working.items():
            for working in orders:
                if working.order.order_id == order_id:
                    orders.remove(working)
                    if not orders:
                        del self.working[symbol]
                    now = self._clock.timestamp_ns()
                    self._bus.publish(
                        OrderCanceled(order_id, symbol, "canceled by request", now, now)
                    )
                    return

    def process_bar(self, bar: Bar) -> None:
        """Match the symbol's working orders against ``bar`` (call before strategies see it).

        Works whether or not the caller skips bars of symbols without working orders.
        """
        orders = self.working.get(bar.symbol)
        if not orders:
            return
        for working in tuple(orders):
            if working.ts_accepted >= bar.ts_event:
                continue  # placed during this bar: eligible from the next one
            matched = self._match(working.order, bar)
            if matched is not None:
                price, liquidity, ts_fill = matched
                self._fill(working, price, liquidity, ts_fill)
        orders[:] = [w for w in orders if w.leaves > 0]
        if not orders:
            del self.working[bar.symbol]

    def _match(self, order: OrderRequested, bar: Bar) -> tuple[float, str, int] | None:
        buy = order.side is OrderSide.BUY
        if order.order_type is OrderType.MARKET:
            return self._slippage.adjust(bar.open, order.side), "taker", bar.ts_open
        if order.order_type is OrderType.LIMIT:
            limit = order.limit_price
            assert limit is not None  # risk denies a limit order without a price
            if (bar.open <= limit) if buy else (bar.open >= limit):
                return bar.open, "maker", bar.ts_open
            if buy:
                crossed = bar.low <= limit if self._touch else bar.low < limit
            else:
                crossed = bar.high >= limit if self._touch else bar.high > limit
            return (limit, "maker", bar.ts_event) if crossed else None
        stop = order.stop_price
        assert stop is not None  # risk denies a stop order without a price
        if (bar.open >= stop) if buy else (bar.open <= stop):
            return self._slippage.adjust(bar.open, order.side), "taker", bar.ts_open
        if (bar.high >= stop) if buy else (bar.low <= stop):
            return self._slippage.adjust(stop, order.side), "taker", bar.ts_event
        return None

    def _fill(self, working: _Working, price: float, liquidity: str, ts_fill: int) -> None:
        order = working.order
        quantity = working.leaves
        shortfall = ""
        if self._cash_account and order.side is OrderSide.BUY:
            affordable = self._affordable(order.symbol, quantity, price)
            if affordable < quantity:
                cash = self._account.cash
                shortfall = (
                    f"insufficient cash at fill price {price:g}: {quantity:g} would cost "
                    f"{quantity * price + self._fees.fee(quantity, price, liquidity):.2f}, "
                    f"cash is {cash:.2f}"
                )
                quantity = affordable if self._cash_shortfall == "reduce" else 0.0
        now = self._clock.timestamp_ns()
        if quantity > 0:
            working.leaves -= quantity
            if working.leaves <= order.quantity * 1e-12:
                working.leaves = 0.0
            self._fill_count += 1
            self._bus.publish(
                OrderFilled(
                    order_id=order.order_id,
                    fill_id=f"F-{self._fill_count:07d}",
                    symbol=order.symbol,
                    side=order.side,
                    quantity=quantity,
                    price=price,
                    fee=self._fees.fee(quantity, price, liquidity),
                    liquidity=liquidity,
                    leaves_quantity=working.leaves,
                    ts_event=ts_fill,
                    ts_init=now,
                )
            )
        if shortfall:
            working.leaves = 0.0
            self._bus.publish(OrderCanceled(order.order_id, order.symbol, shortfall, now, now))

    def _affordable(self, symbol: str, quantity: float, price: float) -> float:
        """Return how much of a buy of ``quantity`` cash can pay for at ``price``."""
        position = self._account.position_quantity(symbol)
        cover = min(quantity, max(-position, 0.0))  # buying back a short is always allowed
        if cover >= quantity:
            return quantity
        rate = self._fees.sizing_rate
        cash_after_cover = self._account.cash - cover * price * (1.0 + rate)
        instrument = self._instruments[symbol]
        extra = instrument.round_quantity(max(cash_after_cover, 0.0) / (price * (1.0 + rate)))
        if extra < instrument.min_quantity:
            extra = 0.0
        return min(quantity, cover + extra)
