"""Protective exits kept by the engine: stop loss, take profit, trailing stop, time stop,
break-even.

In: `OrderFilled` (after the portfolio applied it) and, when a time stop or break-even
move is configured, `Bar`. Out: `OrderRequested` (reduce-only, one OCO group per
position), `CancelRequested` and `ModifyRequested` on the bus, through risk and execution
like any order, so the broker's pessimistic intrabar rules (``bracket_conflict``) decide
which exit fills when one bar reaches two.

Whenever a fill changes a symbol's position, the working exits are canceled and, if the
position is not flat, placed again for its whole size around its average entry price:

- stop loss ``stop_loss_pct`` % beyond the entry (a STOP order),
- take profit ``take_profit_pct`` % in favour of the entry (a LIMIT order),
- trailing stop at ``trailing_stop_pct`` %, ``trailing_stop_amount`` price units or
  ``trailing_atr_multiple`` × ATR(``atr_period``) at the time of the fill,
- time stop: a market order closing the position on the ``time_stop_bars``-th bar
  after the position opened,
- break-even: once a bar closes ``break_even_pct`` % in favour, the stop moves to the entry.

Exit orders carry the order id prefix of the strategy (its hooks see their fills) and the
strategy id ``"<strategy>.exits"``, so the strategy's own ``open_orders`` and
``order_target_*`` arithmetic never count them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from engine.bus import EventBus
from engine.clock import Clock
from engine.model import (
    Bar,
    CancelRequested,
    Instrument,
    ModifyRequested,
    Order,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from engine.risk.sizing import average_true_range

if TYPE_CHECKING:  # engine.cache imports pandas: the config must not (import cost)
    from engine.cache import SymbolHistory

__all__ = ["ExitConfig", "ExitManager"]

# Upper bounds of the exits' numbers: beyond them a value is a typo, and near 1e308 the
# prices derived from it overflow (a take profit of 1e308 % made the exit's price inf, which
# surfaced as an OverflowError blamed on the strategy). A take profit or break-even move of
# 100,000 % is 1,001 x the entry; an amount is capped as the config's amounts are
# (`engine.config.MAX_AMOUNT`, not imported: engine.config imports this module's package).
MAX_EXIT_PCT = 100_000.0
MAX_EXIT_AMOUNT = 1e15
MAX_ATR_MULTIPLE = 1_000.0


@dataclass(frozen=True)
class ExitConfig:
    """``[risk.exits]``: protective exits the engine attaches to every position.

    Attributes:
        stop_loss_pct: Stop this many percent beyond the average entry price.
        take_profit_pct: Limit this many percent in favour of the average entry price.
        trailing_stop_pct: Trailing stop offset, percent of the best price.
        trailing_stop_amount: Trailing stop offset, price units.
        trailing_atr_multiple: Trailing stop offset, multiples of ATR(``atr_period``)
            (simple mean of true ranges) at the fill that set the position.
        atr_period: Bars of the ATR.
        time_stop_bars: Close the position at market on this bar count after it opened.
        break_even_pct: Move the stop loss to the entry price once a close is this many
            percent in favour (needs ``stop_loss_pct``).
    """

    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    trailing_stop_pct: float | None = None
    trailing_stop_amount: float | None = None
    trailing_atr_multiple: float | None = None
    atr_period: int = 14
    time_stop_bars: int | None = None
    break_even_pct: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "stop_loss_pct",
            "take_profit_pct",
            "trailing_stop_pct",
            "trailing_stop_amount",
            "trailing_atr_multiple",
            "break_even_pct",
        ):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"exits.{name} must be > 0, got {value}")
        for name, high in (
            ("take_profit_pct", MAX_EXIT_PCT),
            ("break_even_pct", MAX_EXIT_PCT),
            ("trailing_stop_amount", MAX_EXIT_AMOUNT),
            ("trailing_atr_multiple", MAX_ATR_MULTIPLE),
        ):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value <= high):
                raise ValueError(f"exits.{name} must be in (0, {high:g}], got {value:g}")
        trailing = [self.trailing_stop_pct, self.trailing_stop_amount, self.trailing_atr_multiple]
        if sum(value is not None for value in trailing) > 1:
            raise ValueError(
                "exits: set one of trailing_stop_pct, trailing_stop_amount, trailing_atr_multiple"
            )
        if self.stop_loss_pct is not None and self.stop_loss_pct >= 100:
            raise ValueError(f"exits.stop_loss_pct must be below 100, got {self.stop_loss_pct}")
        if self.trailing_stop_pct is not None and self.trailing_stop_pct >= 100:
            raise ValueError(
                f"exits.trailing_stop_pct must be below 100, got {self.trailing_stop_pct:g}"
            )
        if self.time_stop_bars is not None and self.time_stop_bars < 1:
            raise ValueError(f"exits.time_stop_bars must be >= 1, got {self.time_stop_bars}")
        if self.atr_period < 1:
            raise ValueError(f"exits.atr_period must be >= 1, got {self.atr_period}")
        if self.break_even_pct is not None and self.stop_loss_pct is None:
            raise ValueError("exits.break_even_pct moves the stop loss: set stop_loss_pct too")

    @property
    def active(self) -> bool:
        """Return whether any exit is configured."""
        return any(
            value is not None
            for value in (
                self.stop_loss_pct,
                self.take_profit_pct,
                self.trailing_stop_pct,
                self.trailing_stop_amount,
                self.trailing_atr_multiple,
                self.time_stop_bars,
            )
        )

    @property
    def watches_bars(self) -> bool:
        """Return whether the manager needs every bar (time stop, break-even)."""
        return self.time_stop_bars is not None or self.break_even_pct is not None


class HeldPosition(Protocol):
    """One open position."""

    @property
    def quantity(self) -> float:
        """Return the signed quantity."""
        ...

    @property
    def average_price(self) -> float:
        """Return the average entry price."""
        ...


class PositionSource(Protocol):
    """The portfolio as the exit manager sees it."""

    def open_positions(self) -> Mapping[str, HeldPosition]:
        """Return the non-flat positions by symbol."""
        ...


class OpenOrders(Protocol):
    """Working orders by strategy."""

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[Order]:
        """Return the strategy's working orders."""
        ...


@dataclass
class _Exits:
    """The exits of one symbol's current position."""

    quantity: float
    entry: float
    stop_id: str = ""
    bars: int = 0
    moved_to_break_even: bool = False
    time_stopped: bool = False


class ExitManager:
    """Places, replaces and cancels the protective exits of every position."""

    def __init__(
        self,
        config: ExitConfig,
        bus: EventBus,
        clock: Clock,
        portfolio: PositionSource,
        orders: OpenOrders,
        instruments: Mapping[str, Instrument],
        histories: Mapping[str, SymbolHistory],
        strategy_id: str,
    ) -> None:
        self.config = config
        self._bus = bus
        self._clock = clock
        self._portfolio = portfolio
        self._orders = orders
        self._instruments = instruments
        self._histories = histories
        self._prefix = f"{strategy_id}-X"
        self.strategy_id = f"{strategy_id}.exits"
        self._count = 0
        self._positions: dict[str, _Exits] = {}
        # (symbol, time) of each position opened while ATR(atr_period) had no value, so its
        # trailing_atr_multiple stop could not be sized: it has none (the CLI warns)
        self.unsized_trailing: list[tuple[str, int]] = []

    @property
    def order_prefix(self) -> str:
        """Return what every exit order id starts with (``"<strategy>-X"``, then a number)."""
        return self._prefix

    def continue_numbering(self, last: int) -> None:
        """Number the next exit order ``last + 1`` or later (a restarted live node)."""
        self._count = max(self._count, last)

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Replace the exits of ``fill.symbol`` for its new position (cancel them if flat)."""
        symbol = fill.symbol
        position = self._portfolio.open_positions().get(symbol)
        quantity = 0.0 if position is None else position.quantity
        current = self._positions.get(symbol)
        if current is not None and current.quantity == quantity:
            return  # e.g. a partial fill of an exit that its OCO siblings already follow
        self._cancel(symbol)
        if quantity == 0.0:
            self._positions.pop(symbol, None)
            return
        entry = position.average_price if position is not None else fill.price
        held = _Exits(quantity, entry)
        if current is not None and current.quantity * quantity > 0:
            held.bars = current.bars  # the same position grew or shrank: keep its age
        self._positions[symbol] = held
        self._place(symbol, held, fill.price)

    def on_bar(self, bar: Bar) -> None:
        """Count bars held; fire the time stop; move the stop to break-even."""
        held = self._positions.get(bar.symbol)
        if held is None or held.time_stopped:
            return
        held.bars += 1
        config = self.config
        limit = config.time_stop_bars
        if limit is not None and held.bars >= limit:
            held.time_stopped = True
            self._cancel(bar.symbol)
            self._submit(bar.symbol, -held.quantity, OrderType.MARKET, "time_stop", "")
            return
        gain = config.break_even_pct
        if gain is not None and held.stop_id and not held.moved_to_break_even:
            direction = 1.0 if held.quantity > 0 else -1.0
            if direction * (bar.close - held.entry) >= held.entry * gain / 100.0:
                held.moved_to_break_even = True
                now = self._clock.timestamp_ns()
                stop = self._instruments[bar.symbol].round_order_price(
                    held.entry, held.quantity < 0, stop=True
                )
                self._bus.publish(
                    ModifyRequested(held.stop_id, self.strategy_id, None, None, stop, now, now)
                )

    def _place(self, symbol: str, held: _Exits, fill_price: float) -> None:
        config = self.config
        instrument = self._instruments[symbol]
        direction = 1.0 if held.quantity > 0 else -1.0
        group = f"{self._prefix}{self._count + 1:06d}"
        close = -held.quantity
        if config.stop_loss_pct is not None:
            price = instrument.round_order_price(
                held.entry * (1.0 - direction * config.stop_loss_pct / 100),
                direction < 0,
                stop=True,
            )
            held.stop_id = self._submit(symbol, close, OrderType.STOP, "stop_loss", group, price)
        if config.take_profit_pct is not None:
            price = instrument.round_order_price(
                held.entry * (1.0 + direction * config.take_profit_pct / 100),
                direction < 0,
                stop=False,
            )
            self._submit(symbol, close, OrderType.LIMIT, "take_profit", group, price)
        offset, kind = self._trailing_offset(symbol)
        if offset is not None:
            self._submit(
                symbol, close, OrderType.TRAILING_STOP, "trailing_stop", group, None, offset, kind
            )

    def _trailing_offset(self, symbol: str) -> tuple[float | None, TrailingOffsetType]:
        config = self.config
        if config.trailing_stop_pct is not None:
            return config.trailing_stop_pct, TrailingOffsetType.PERCENT
        if config.trailing_stop_amount is not None:
            return config.trailing_stop_amount, TrailingOffsetType.PRICE
        if config.trailing_atr_multiple is not None:
            history = self._histories[symbol]
            n = len(history)
            columns = history.columns
            atr = average_true_range(
                columns["high"][:n], columns["low"][:n], columns["close"][:n], config.atr_period
            )
            if math.isfinite(atr) and atr > 0:
                return config.trailing_atr_multiple * atr, TrailingOffsetType.PRICE
            self.unsized_trailing.append((symbol, self._clock.timestamp_ns()))
        return None, TrailingOffsetType.PRICE

    def _submit(
        self,
        symbol: str,
        signed: float,
        kind: OrderType,
        tag: str,
        group: str,
        price: float | None = None,
        offset: float | None = None,
        offset_type: TrailingOffsetType = TrailingOffsetType.PRICE,
    ) -> str:
        self._count += 1
        order_id = f"{self._prefix}{self._count:06d}"
        now = self._clock.timestamp_ns()
        self._bus.publish(
            OrderRequested(
                order_id,
                self.strategy_id,
                symbol,
                OrderSide.BUY if signed > 0 else OrderSide.SELL,
                abs(signed),
                kind,
                price if kind is OrderType.LIMIT else None,
                price if kind is OrderType.STOP else None,
                TimeInForce.GTC,
                now,
                now,
                tag=tag,
                reduce_only=True,
                trailing_offset=offset,
                trailing_offset_type=offset_type,
                oco_group=group,
            )
        )
        return order_id

    def _cancel(self, symbol: str) -> None:
        now = self._clock.timestamp_ns()
        for order in self._orders.open_orders(self.strategy_id, symbol):
            self._bus.publish(CancelRequested(order.order_id, self.strategy_id, now, now))
