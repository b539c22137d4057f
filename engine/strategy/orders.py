"""`OrderMethods`: the order half of the strategy `Context` (buy, sell, targets, close).

Every method publishes commands on the bus (`OrderRequested`, `CancelRequested`,
`ModifyRequested`) and returns at once; risk and execution answer with events delivered to
the strategy's hooks. Nothing here fills, sizes against risk limits or touches the broker.

Arguments are read at this boundary: enum arguments become members (`parse_enum`: a member
or its value in any case) or raise `StrategyError` naming the allowed values, as every later
stage compares members by identity (``side is OrderSide.BUY``; a plain ``"buy"`` fails).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Protocol, TypeVar

from engine.bus import EventBus
from engine.cache import SymbolHistory
from engine.clock import Clock
from engine.errors import StrategyError, did_you_mean
from engine.feeds.timeframe import parse_timestamp
from engine.model import (
    CancelRequested,
    Instrument,
    ModifyRequested,
    Order,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    parse_enum,
)

__all__ = ["OrderMethods", "OrdersView", "PortfolioView", "choice"]
_BUY, _SELL, _MARKET = OrderSide.BUY, OrderSide.SELL, OrderType.MARKET  # globals: see enums
_GTC, _PRICE_OFFSET = TimeInForce.GTC, TrailingOffsetType.PRICE  # (read per order)


class PortfolioView(Protocol):
    """Read-only account state the context exposes."""

    @property
    def cash(self) -> float:
        """Return cash in account currency."""
        ...

    def equity(self) -> float:
        """Return cash plus the marked value of all positions."""
        ...

    def position_quantity(self, symbol: str) -> float:
        """Return the signed position quantity (> 0 long, < 0 short)."""
        ...

    def last_price(self, symbol: str) -> float:
        """Return the last marked price of ``symbol`` (NaN before its first bar)."""
        ...


class OrdersView(Protocol):
    """Read-only view of the orders the execution stage is working."""

    def open_orders(self, strategy_id: str, symbol: str | None = None) -> list[Order]:
        """Return the strategy's working orders, oldest first."""
        ...

    @property
    def orders(self) -> Mapping[str, Order]:
        """Return every order execution has booked (any status), by id."""
        ...


class OrderMethods:
    """Order methods of `Context` (which inherits them), with the state they use.

    The attributes are set by `Context.__init__`; this class holds no state of its own.
    """

    strategy_id: str
    _clock: Clock
    _bus: EventBus
    _waiting: Collection[object]  # `EventBus.pending`, bound once (read 2-3 times an order)
    _portfolio: PortfolioView
    _orders: OrdersView
    _histories: Mapping[str, SymbolHistory]
    _instruments: Mapping[str, Instrument]
    _sizing_fee_rate: float
    # the run's fee model, ``fee(quantity, price, liquidity)`` in quote currency (None: the
    # reserve ``_sizing_fee_rate`` is all the sizing knows of fees)
    _fee: Callable[[float, float, str], float] | None
    _fx_rate: Callable[[str], float] | None
    _size_at_fill: Callable[[str, float], None] | None
    _next_order: int
    # ids of this strategy's reduce-only orders (`Order` does not carry the flag): exits,
    # left out of the pending quantity `order_target_quantity` counts
    _reduce_only_ids: set[str]
    # order id -> (symbol, signed quantity) of requests not yet booked (`_unbooked`)
    _queued: dict[str, tuple[str, float]]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Return this strategy's working orders (optionally for one symbol)."""
        return self._orders.open_orders(self.strategy_id, symbol)

    def buy(
        self,
        symbol: str,
        quantity: float,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        expire_time: str | int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        tag: str = "",
    ) -> str:
        """Request a buy of ``quantity`` units.

        A ``limit_price`` makes it a limit order, a ``stop_price`` a stop (market) order,
        both a stop-limit. ``time_in_force`` is ``gtc``, ``day``, ``gtd`` (with
        ``expire_time``: ISO-8601 or ns), ``ioc`` or ``fok``.

        Returns:
            The order id. The outcome arrives as `on_order_filled`, `on_order_denied`, ….
        """
        return self.submit_order(
            symbol,
            _BUY,
            quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            expire_time=expire_time,
            post_only=post_only,
            reduce_only=reduce_only,
            tag=tag,
        )

    def sell(
        self,
        symbol: str,
        quantity: float,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        expire_time: str | int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        tag: str = "",
    ) -> str:
        """Request a sell of ``quantity`` units (beyond the position it opens a short).

        Arguments as for `buy`.
        """
        return self.submit_order(
            symbol,
            _SELL,
            quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            expire_time=expire_time,
            post_only=post_only,
            reduce_only=reduce_only,
            tag=tag,
        )

    def submit_order(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        *,
        order_type: OrderType | str | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        expire_time: str | int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        trailing_offset: float | None = None,
        trailing_offset_type: TrailingOffsetType | str = TrailingOffsetType.PRICE,
        parent_order_id: str = "",
        oco_group: str = "",
        tag: str = "",
    ) -> str:
        """Publish an `OrderRequested`; return its id. Risk validates and may deny it.

        ``order_type`` defaults from the prices given (limit, stop, stop-limit, market).
        An order for a symbol the run does not trade is denied by risk, like any bad order.
        Enum arguments (``side``, ``order_type``, ``time_in_force``,
        ``trailing_offset_type``) take the member or its string value in any case
        (``"buy"``, ``"BUY"``, ``"stop_limit"``).

        Raises:
            StrategyError: An enum argument names no member (the message lists the
                allowed values), before anything is published.
        """
        if order_type is None:
            if limit_price is not None:
                order_type = OrderType.STOP_LIMIT if stop_price is not None else OrderType.LIMIT
            else:
                order_type = OrderType.STOP if stop_price is not None else _MARKET
        kind = choice(OrderType, order_type, "order_type")
        tif = choice(TimeInForce, time_in_force, "time_in_force")
        offset_type = choice(TrailingOffsetType, trailing_offset_type, "trailing_offset_type")
        return self._publish_order(
            symbol,
            choice(OrderSide, side, "side"),
            float(quantity),
            kind,
            None if limit_price is None else float(limit_price),
            None if stop_price is None else float(stop_price),
            tif,
            None if expire_time is None else _to_ns(expire_time),
            post_only,
            reduce_only,
            None if trailing_offset is None else float(trailing_offset),
            offset_type,
            parent_order_id,
            oco_group,
            tag,
        )

    def _publish_order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        kind: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        tif: TimeInForce,
        expire_time_ns: int | None,
        post_only: bool,
        reduce_only: bool,
        trailing_offset: float | None,
        offset_type: TrailingOffsetType,
        parent_order_id: str,
        oco_group: str,
        tag: str,
    ) -> str:
        """Number the order and publish its `OrderRequested` (arguments already checked)."""
        self._next_order += 1
        order_id = self.strategy_id + "-" + str(self._next_order).zfill(6)  # f"{n:06d}"
        if reduce_only:
            self._reduce_only_ids.add(order_id)
        if self._queued and not self._waiting:
            self._queued.clear()  # nothing waits on the bus: every earlier request was handled
        now = self._clock.timestamp_ns()
        # tuple.__new__, fields in `OrderRequested`'s order: once per order, and the named
        # tuple's own (Python-level, keyword-friendly) __new__ costs several times more.
        self._bus.publish(
            tuple.__new__(
                OrderRequested,
                (
                    order_id,
                    self.strategy_id,
                    symbol,
                    side,
                    quantity,
                    kind,
                    limit_price,
                    stop_price,
                    tif,
                    now,
                    now,
                    tag,
                    expire_time_ns,
                    post_only,
                    reduce_only,
                    trailing_offset,
                    offset_type,
                    parent_order_id,
                    oco_group,
                ),
            )
        )
        if self._waiting and not (reduce_only or oco_group):
            # queued from a hook, not delivered: counted until booked (exits are not: see below)
            self._queued[order_id] = (symbol, quantity if side is _BUY else -quantity)
        return order_id

    def bracket(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        *,
        stop_loss: float,
        take_profit: float,
        entry_price: float | None = None,
        tag: str = "",
    ) -> tuple[str, str, str]:
        """Enter with a protective stop-loss and a take-profit that cancel each other.

        The entry is a market order, or a limit at ``entry_price``. The two exits are held
        until the entry fills, then work as a reduce-only stop and limit in one
        one-cancels-other group (a bar opening through one fills it at the open;
        `ExecutionConfig.bracket_conflict` decides a bar that reaches both inside it).

        Returns:
            ``(entry_id, stop_loss_id, take_profit_id)``.
        """
        side = choice(OrderSide, side, "side")  # a str would flip the exits' side below
        entry = self.submit_order(symbol, side, quantity, limit_price=entry_price, tag=tag)
        exit_side = _SELL if side is _BUY else _BUY
        group = f"oco-{entry}"
        stop = self.submit_order(
            symbol,
            exit_side,
            quantity,
            stop_price=stop_loss,
            reduce_only=True,
            parent_order_id=entry,
            oco_group=group,
            tag=tag or "stop_loss",
        )
        target = self.submit_order(
            symbol,
            exit_side,
            quantity,
            limit_price=take_profit,
            reduce_only=True,
            parent_order_id=entry,
            oco_group=group,
            tag=tag or "take_profit",
        )
        return entry, stop, target

    def modify(
        self,
        order_id: str,
        *,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> None:
        """Request a change of a working order (answered by `on_order_updated`).

        Args:
            order_id: The order to change.
            quantity: New total quantity (filled part included); None keeps it.
            limit_price: New limit price (quote currency); None keeps it.
            stop_price: New stop price (quote currency); None keeps it.

        Risk checks a change that raises the quantity or moves a price like a new order
        (the order as it would be after the change, its current self left out); a refusal,
        or a change of an order that is held or no longer working, arrives as
        `OrderModifyRejected` whose reason says why (``risk <check>: …``). Was: changes
        went straight to the broker, past every limit.
        """
        now = self._clock.timestamp_ns()
        self._bus.publish(
            ModifyRequested(order_id, self.strategy_id, quantity, limit_price, stop_price, now, now)
        )

    def order_target_quantity(self, symbol: str, target: float, tag: str = "") -> str | None:
        """Order the difference between ``target`` (signed units) and the position.

        Working orders' open quantity, and requests still on their way (`_unbooked`),
        count as already ordered: calls on every bar, or twice on one, do not stack orders.
        Protective exits do not count: reduce-only orders and one-cancels-other members (a
        bracket's stop-loss and take-profit) may never fill, and counting them as pending
        sells made a long with a working stop buy as much again. They stay working
        (`close_position` cancels them). Returns the order id, or None if nothing to do.
        """
        if symbol not in self._histories:
            self._known(symbol)  # raises, naming the nearest symbol
        instrument = self._instruments[symbol]
        working = self._orders.open_orders(self.strategy_id, symbol)
        pending = 0.0
        if working:  # orders still working count as already ordered, exits excepted
            exits = self._reduce_only_ids
            pending = sum(
                order.side.sign * order.leaves_quantity
                for order in working
                if not order.oco_group and order.order_id not in exits
            )
        if self._queued and not self._waiting:
            self._queued.clear()  # what `_unbooked` does when nothing waits, without the call
        elif self._queued:
            pending += sum(signed for _, signed in self._unbooked(symbol))
        delta = instrument.round_quantity(
            target - self._portfolio.position_quantity(symbol) - pending
        )
        if delta == 0:
            return None
        side = _BUY if delta > 0 else _SELL
        return self._publish_order(  # a plain market order: nothing to parse or convert
            symbol,
            side,
            delta if delta > 0 else -delta,
            _MARKET,
            None,
            None,
            _GTC,
            None,
            False,
            False,
            None,
            _PRICE_OFFSET,
            "",
            "",
            tag,
        )

    def _unbooked(self, symbol: str) -> list[tuple[str, float]]:
        """Return ``(order id, signed quantity)`` of requests on ``symbol`` not yet booked.

        A request from a hook waits on the bus until the hook returns, so neither working
        orders nor the position show it: two ``order_target_quantity(sym, 10)`` in one
        ``on_bar`` bought 20, a close after a buy left the buy to fill. Booked requests
        are dropped (they are working or filled), all once the bus is empty; one risk
        denied meanwhile stays until then (the next target orders less, never more).
        """
        queued = self._queued
        if not self._waiting:
            queued.clear()
            return []
        booked = self._orders.orders
        for order_id in [order_id for order_id in queued if order_id in booked]:
            del queued[order_id]
        return [(i, signed) for i, (sym, signed) in queued.items() if sym == symbol]

    def order_target_percent(self, symbol: str, fraction: float, tag: str = "") -> str | None:
        """Hold a position worth ``fraction`` of equity (1.0 = 100%, -0.5 = 50% short).

        Sized at the last close, leaving room for the configured fee so that
        ``fraction=1.0`` is affordable at that price: ``quantity = equity * fraction /
        (close * rate * (1 + fee_rate))``, rounded toward zero to the lot size, where
        ``rate`` converts the symbol's quote currency into the account currency now (1.0
        when they are the same; see `fx_rate`). If the price moves before the fill, the
        broker's ``cash_shortfall`` setting decides what happens.

        With ``execution.target_sizing = "fill"`` that quantity is provisional (what risk
        checks): the broker replaces it at the fill by ``fraction`` of the equity then, at
        the fill price (`engine.execution.fill_sizing`).
        """
        if not math.isfinite(fraction):
            raise StrategyError(f"order_target_percent({symbol!r}, {fraction}): not a number")
        order_id = self.order_target_value(symbol, self._portfolio.equity() * fraction, tag)
        if order_id is not None and self._size_at_fill is not None:
            # the request is still queued on the bus: the venue knows before it sees it
            self._size_at_fill(order_id, fraction)
        return order_id

    def order_target_value(self, symbol: str, value: float, tag: str = "") -> str | None:
        """Hold a position worth ``value`` in the account currency (< 0: short).

        ``quantity = value / (close * rate * (1 + fee_rate))`` at the last close and the
        rate now, rounded toward zero to the lot size (fee and slippage reserved as in
        `order_target_percent`). None when nothing is ordered (no price or rate yet, or
        the position is already there).
        """
        if not math.isfinite(value):
            raise StrategyError(f"order_target_value({symbol!r}, {value}): not a number")
        quote = self._portfolio.last_price(self._known(symbol))
        rate = 1.0 if self._fx_rate is None else self._fx_rate(symbol)
        price = quote * rate
        if not 0.0 < price < math.inf:  # NaN before the first bar (or the first rate)
            return None
        target = value / (price * (1.0 + self._sizing_fee_rate))
        if self._fee is not None and target > 0.0:
            target = self._fee_fit(symbol, target, value, quote, rate)
        return self.order_target_quantity(symbol, target, tag)

    def _fee_fit(
        self, symbol: str, target: float, value: float, quote: float, rate: float
    ) -> float:
        """Shrink a long ``target`` by lots until it and the fee of the buy fit in ``value``.

        The reserve (``_sizing_fee_rate``) covers a fee that is a fraction of notional; a
        per-unit fee or a minimum can charge more, and risk's cash check (which charges
        the model's fee) would deny the all-in buy (was: risk passed it and the broker's
        cash cap cut it at the fill). The fee is a taker's on the buy from the position
        to the target, as at the fill (`engine.execution.fill_sizing`); one fee call when
        the reserve suffices.
        """
        assert self._fee is not None
        instrument = self._instruments[symbol]
        lots = instrument.round_quantity(target)
        held = self._portfolio.position_quantity(symbol)
        while lots > held:
            cost = (lots * quote + self._fee(lots - held, quote, "taker")) * rate
            if cost <= value * (1.0 + 1e-12):
                break
            lots = instrument.round_quantity(lots - instrument.lot_size)
        return lots

    def close_position(self, symbol: str, tag: str = "") -> str | None:
        """Make the position in ``symbol`` flat, whatever protective orders are working.

        Cancels every working order of this strategy on ``symbol`` first — its exits
        (bracket stop-loss and take-profit, reduce-only stops, trailing stops) and any
        entry working or requested earlier in this hook (`_unbooked`), which would open
        the position again — then sends one
        reduce-only market order for the whole net position (a sell for a long, a buy for
        a short). The cancels are published before the order, so in a backtest they are
        done before it is checked and sent; being reduce-only, the close can never
        overshoot into the opposite side even if an exit fills first (paper/live, where a
        cancel may race a fill). Exits the engine keeps (``[risk.exits]``) are canceled by
        the engine once the position is flat. Was: working exits were counted as pending
        sells, so a long 10 with a bracket's two exits working bought 10 more, and with a
        reduce-only stop working nothing was sent.

        A close sent earlier that is still working for the whole position is kept, so
        calling this on every bar does not churn orders.

        Returns:
            The close order's id; None when the position is already flat (working orders
            on the symbol are canceled all the same) or an earlier close is still working.
        """
        self._known(symbol)
        for order_id, _ in self._unbooked(symbol) if self._queued else ():
            self.cancel(order_id)  # requested earlier in this hook, not yet working
        position = self._portfolio.position_quantity(symbol)
        closing = _SELL if position > 0 else _BUY
        kept = False
        for order in self._orders.open_orders(self.strategy_id, symbol):
            if (
                not kept
                and position != 0
                and order.order_type is _MARKET
                and order.side is closing
                and order.order_id in self._reduce_only_ids
                and order.leaves_quantity == abs(position)
            ):
                kept = True  # our earlier close, still on its way
                continue
            self.cancel(order.order_id)
        if position == 0 or kept:
            return None
        return self._publish_order(
            symbol,
            closing,
            abs(position),
            _MARKET,
            None,
            None,
            _GTC,
            None,
            False,
            True,
            None,
            _PRICE_OFFSET,
            "",
            "",
            tag,
        )

    def cancel(self, order_id: str) -> None:
        """Request cancellation of a working order (answered by `on_order_canceled`)."""
        now = self._clock.timestamp_ns()
        self._bus.publish(CancelRequested(order_id, self.strategy_id, now, now))

    def cancel_all(self, symbol: str | None = None) -> None:
        """Request cancellation of every working order (optionally of one symbol)."""
        for order in self.open_orders(symbol):
            self.cancel(order.order_id)

    def _known(self, symbol: str) -> str:
        if symbol not in self._histories:
            raise StrategyError(
                f"unknown symbol {symbol!r}{did_you_mean(symbol, self._histories)}; "
                "add it as a [[data]] source"
            )
        return symbol


E = TypeVar("E", OrderSide, OrderType, TimeInForce, TrailingOffsetType)


def choice(enum: type[E], value: E | str, name: str) -> E:
    """Return the member ``value`` names (its value or name, any case) or raise.

    Every public order method passes its enum arguments through here, so a string never
    reaches risk or the broker, which compare members by identity.

    Raises:
        StrategyError: ``value`` names no member; the message lists the allowed values and
            the nearest one.
    """
    member = parse_enum(enum, value)
    if member is not None:
        return member
    options = [m.value for m in enum]
    suggestion = did_you_mean(str(value).strip().lower(), options)
    if "did you mean" not in suggestion:
        suggestion = ""  # the allowed values are listed already
    raise StrategyError(f"{name} {value!r} is not one of {', '.join(options)}{suggestion}")


def _to_ns(value: str | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return parse_timestamp(value, what="expire_time")
