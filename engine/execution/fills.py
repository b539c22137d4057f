"""Fill pricing and caps of the simulated venue (`SimulatedBroker` inherits them).

One fill of a working order, once matching (`engine.execution.matching`) said where it
trades: how much fills and at what price, in the order the caps apply —

1. sizing at the fill (``target_sizing = "fill"``): a market order registered with
   `SimulatedBroker.size_at_fill` gets its quantity from a fraction of equity at the fill
   price (`engine.execution.fill_sizing`), once, at its first fill, capped at the [risk]
   quantity, notional and position limits (`cap_fill_sizing`, `engine.risk.fill_caps`);
2. volume: ``volume_participation`` of the bar's (or trade's) volume, and a quote's
   displayed size;
3. reduce-only: at most the position left to reduce (fills published and not yet applied
   by the portfolio included: `AccountView.projected_position`);
4. price: takers pay slippage, put on the tick grid against them, never beyond the
   limit of an order type that takes one (a triggered stop-limit's; a ``limit_price`` on
   any other type, which risk denies, caps nothing) and, under ``slippage_within_range``,
   never beyond the worst price the data shows (the bar's high for buys / low for sells,
   a trade's price, a quote's ask / bid);
5. cash account (leverage 1): a buy is capped at what cash pays at that price with the
   fee the configured model charges for that very fill (``cash_shortfall = "reduce"``)
   or canceled (``"cancel"``); a sell whose fee exceeds its proceeds by more than the
   cash is canceled: no trade of a long takes cash below zero. The part of a buy that
   covers a short is never capped (`affordable_quantity`): a short that lost more than
   the cash leaves it negative. Foreign quotes convert at the rate as
   of the fill's ``ts_event``. Margin accounts are not capped here (risk caps exposure);
6. FOK: all or nothing, whatever trimmed it.

What is left is published as one `OrderFilled` (fee from the fee model; a tiered model
learns the fill's notional at once, so a second fill on the same bar is priced at the
tier this one reached); a trimmed remainder is canceled with the reason.

The account is the portfolio's (one ledger): the venue keeps no copy of cash or positions.
A fill waits in the bus queue before the portfolio applies it, so as it publishes a fill
the venue reserves it with the account (`AccountView.reserve_fill`) and every cap reads
the account's projected cash and positions, which count the reserved fills until the
portfolio applies them — in whatever order the fill's handlers are subscribed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol

from engine.bus import EventBus
from engine.clock import Clock
from engine.execution.caps import affordable_quantity
from engine.execution.fill_sizing import FillAt, quantity_at_fill
from engine.execution.matching import WorkingOrder
from engine.execution.models import FeeModel, SlippageModel
from engine.model import (
    TAKES_LIMIT_PRICE,
    Instrument,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderRequested,
    OrderSide,
    TimeInForce,
)

__all__ = ["AccountView", "BrokerSettings", "FillCap", "FillMethods"]

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_BUY = OrderSide.BUY
_FOK = TimeInForce.FOK
_WITH_LIMIT = TAKES_LIMIT_PRICE


class AccountView(Protocol):
    """The account as the venue sees it (`engine.portfolio.Portfolio` implements it)."""

    def projected_cash(self) -> float:
        """Return cash in account currency after every reserved fill."""
        ...

    def projected_position(self, symbol: str) -> float:
        """Return the signed position quantity after every reserved fill."""
        ...

    def reserve_fill(self, fill: OrderFilled) -> None:
        """Count ``fill`` (about to be published) until the account applies it."""
        ...


class BrokerSettings(Protocol):
    """The ``[execution]`` settings the broker reads (see `engine.config.ExecutionConfig`)."""

    @property
    def market_fill(self) -> Literal["next_open", "same_close"]: ...
    @property
    def limit_fill(self) -> Literal["through", "touch"]: ...
    @property
    def cash_shortfall(self) -> Literal["reduce", "cancel"]: ...
    @property
    def bracket_conflict(self) -> Literal["stop_first", "target_first", "path"]: ...
    @property
    def volume_participation(self) -> float | None: ...
    @property
    def latency_ns(self) -> int: ...
    @property
    def slippage_within_range(self) -> bool: ...
    @property
    def exits_from(self) -> Literal["next_bar", "fill_bar"]: ...


# (order as approved, fill price in quote currency, wanted quantity, position at the fill)
# -> (quantity the [risk] limits allow, why it was capped or "")
FillCap = Callable[[OrderRequested, float, float, float], tuple[float, str]]


class FillMethods:
    """How `SimulatedBroker` fills a matched order (it inherits these methods).

    The methods read and update the broker's state (settings, account view, working
    orders), set by `SimulatedBroker.__init__`; this class holds none of its own.
    """

    working: dict[str, list[WorkingOrder]]
    _bus: EventBus
    _clock: Clock
    _instruments: Mapping[str, Instrument]
    _prices: Mapping[str, float]
    _account: AccountView
    _fees: FeeModel
    _slippage: SlippageModel
    _settings: BrokerSettings
    _cash_account: bool
    _participation: float | None
    _record_volume: Callable[[float, int], None] | None
    _within_range: bool
    _slippage_on: bool
    _fx: Callable[[str, int], float] | None
    _fill_count: int
    _fill_targets: dict[str, float]
    # the [risk] limits a quantity sized at the fill is capped at (`cap_fill_sizing`); set
    # once when the run is wired, None: no limits
    _fill_cap: FillCap | None = None

    if TYPE_CHECKING:  # the order bookkeeping these methods call, in `SimulatedBroker`

        def _remove(self, working: WorkingOrder) -> None: ...
        def _reduce_siblings(self, filled: WorkingOrder, quantity: float) -> None: ...

    def _fill(
        self,
        working: WorkingOrder,
        raw_price: float,
        liquidity: str,
        ts_fill: int,
        bar_volume: float | None = None,
        depth: float | None = None,
        high: float = math.inf,
        low: float = -math.inf,
    ) -> None:
        """Fill what the caps allow at ``raw_price`` (plus slippage when taking).

        ``bar_volume`` (bar or trade size) caps the fill only under
        ``volume_participation``; ``depth`` (the quote's displayed size) always caps it.
        ``high`` / ``low`` are the worst prices the data shows a buy / sell could get in
        this event (the bar's high and low — for a ``same_close`` fill, those of the bar it
        fills at the close of —, a trade's price, a quote's ask and bid; infinite when
        unknown): under
        ``slippage_within_range`` a slipped price goes no further.
        """
        if (
            self._fill_targets
            and working.order.order_id in self._fill_targets
            and not self._resize_to_target(
                working, raw_price, liquidity, ts_fill, bar_volume, high, low
            )
        ):
            return  # sized at the fill to nothing: canceled
        order = working.order
        symbol = order.symbol
        buy = order.side is _BUY
        quantity = working.leaves
        cap_reason = ""
        participation = self._participation
        limit_volume = depth if depth is not None else bar_volume
        if limit_volume is not None and (participation is not None or depth is not None):
            share = 1.0 if participation is None else participation
            available = self._instruments[symbol].round_quantity(limit_volume * share)
            if available < quantity:
                quantity = available
                if order.time_in_force is _FOK:
                    cap_reason = (
                        f"volume allows {available:g} of {working.leaves:g} "
                        f"at {share:g} participation"
                    )
        if order.reduce_only and not cap_reason:
            position = self._account.projected_position(symbol)
            reducible = max(-position, 0.0) if buy else max(position, 0.0)
            if reducible < quantity:
                quantity = reducible
                cap_reason = "reduce-only: the position left to reduce is smaller than the order"
        price = raw_price
        if liquidity == "taker" and self._slippage_on:
            price = self._taker_price(order, raw_price, quantity, bar_volume, high, low)
        rate = 1.0 if self._fx is None else self._fx(symbol, ts_fill)
        fee = math.nan  # the fill's fee, once known (NaN: not computed yet)
        if self._cash_account and buy and not cap_reason:
            # `affordable_quantity`'s answer when the cash pays for the whole fill, without
            # the call: the whole quantity if it is at least the instrument's minimum (below
            # it, only the part that buys back a short may fill: the function decides). The
            # fee priced here is the fill's fee: the quantity does not change on this path.
            fee = self._fees.fee(quantity, price, liquidity, ts_fill)
            whole = (quantity * price + fee) * rate <= self._account.projected_cash()
            if whole and quantity >= self._instruments[symbol].min_quantity:
                affordable = quantity
            else:
                fee = math.nan
                affordable = affordable_quantity(
                    self._instruments[symbol],
                    self._fees,
                    quantity,
                    price,
                    liquidity,
                    cash=self._account.projected_cash(),
                    position=self._account.projected_position(symbol),
                    fx=rate,
                    at_ns=ts_fill,
                )
            if affordable < quantity:
                cost = (
                    quantity * price + self._fees.fee(quantity, price, liquidity, ts_fill)
                ) * rate
                cap_reason = (
                    f"insufficient cash at fill price {price:g}: {quantity:g} would cost "
                    f"{cost:.2f}, cash is {self._account.projected_cash():.2f}"
                )
                quantity = affordable if self._settings.cash_shortfall == "reduce" else 0.0
        elif self._cash_account and not buy and not cap_reason:
            # A sell pays its fee from its proceeds; a per-unit fee or a minimum can exceed
            # them, and the cash must pay the difference (never taking it below zero).
            fee = self._fees.fee(quantity, price, liquidity, ts_fill)  # the fill's, if it fills
            short_by = fee - quantity * price
            cash = self._account.projected_cash()
            if short_by > 0 and short_by * rate > cash:
                cap_reason = (
                    f"insufficient cash for the fee: selling {quantity:g} at {price:g} brings "
                    f"{quantity * price:.2f}, {short_by:.2f} less than its fee, and cash is "
                    f"{cash:.2f}"
                )
                quantity = 0.0
        if order.time_in_force is _FOK and quantity < working.leaves * (1 - 1e-12):
            # Fill-or-kill is all or nothing whatever trimmed it: volume, displayed size,
            # reduce-only or cash.
            cap_reason = f"fok: {cap_reason or 'cannot fill completely'}"
            quantity = 0.0
        now = self._clock.timestamp_ns()
        if quantity > 0:
            leaves = working.leaves - quantity
            if leaves <= order.quantity * 1e-12:
                leaves = 0.0
            working.leaves = leaves
            self._fill_count += 1
            if fee != fee:  # NaN: not priced by the cash cap above
                fee = self._fees.fee(quantity, price, liquidity, ts_fill)
            if self._record_volume is not None:
                # At once, not when the bus delivers the fill: the next fill of this bar
                # (or tick) must already be priced at the tier this one moves the account to.
                self._record_volume(quantity * price, ts_fill)
            fill = tuple.__new__(  # an `OrderFilled`, fields in order: the hot path's C call
                OrderFilled,
                (
                    order.order_id,
                    order.strategy_id,
                    "F-" + str(self._fill_count).zfill(7),  # f"F-{n:07d}", cheaper
                    symbol,
                    order.side,
                    quantity,
                    price,
                    fee,
                    liquidity,
                    leaves,
                    ts_fill,
                    now,
                ),
            )
            # reserved before it is queued: the next fill of this bar must not spend it again
            self._account.reserve_fill(fill)
            self._bus.publish(fill)
            if order.oco_group:
                self._reduce_siblings(working, quantity)
        if cap_reason and working.leaves > 0:
            self._remove(working)
            self._bus.publish(
                OrderCanceled(order.order_id, order.strategy_id, symbol, cap_reason, now, now)
            )

    def _resize_to_target(
        self,
        working: WorkingOrder,
        raw_price: float,
        liquidity: str,
        ts_fill: int,
        bar_volume: float | None,
        high: float,
        low: float,
    ) -> bool:
        """Set a fill-sized order's quantity from its target (False: canceled, nothing to do).

        Runs once, at the order's first fill (`engine.execution.fill_sizing`), at the price
        that fill gets (slipped, on the grid, within ``high`` / ``low``: see `_fill`). Was:
        the slipped price before the grid and the range cap, which could size more than
        the cash pays at the fill (the cap then cut it) or less than it could.
        """
        order = working.order
        fraction = self._fill_targets.pop(order.order_id)
        symbol = order.symbol
        price = raw_price  # the price `_fill` will give it, so that the size is affordable
        if liquidity == "taker" and self._slippage_on:
            price = self._taker_price(order, raw_price, working.leaves, bar_volume, high, low)
        positions = {other: self._account.projected_position(other) for other in self._instruments}
        wanted, reason = quantity_at_fill(
            fraction,
            order.side is _BUY,
            self._account.projected_cash(),
            positions,
            self._prices,
            self._fx,
            FillAt(symbol, price, ts_fill, liquidity),
            self._fees,
            self._instruments[symbol],
        )
        capped = ""
        if not reason and self._fill_cap is not None:
            wanted, capped = self._fill_cap(order, price, wanted, positions[symbol])
            reason = capped if wanted <= 0 else ""
        if reason:
            self._remove(working)
            now = self._clock.timestamp_ns()
            self._bus.publish(
                OrderCanceled(order.order_id, order.strategy_id, symbol, reason, now, now)
            )
            return False
        if wanted != working.leaves or capped:
            working.order = order._replace(quantity=working.filled + wanted)
            working.leaves = wanted
            new = working.order
            now = self._clock.timestamp_ns()
            self._bus.publish(
                OrderModified(
                    order.order_id,
                    order.strategy_id,
                    symbol,
                    new.quantity,
                    new.limit_price,
                    new.stop_price,
                    now,
                    now,
                    capped,
                )
            )
        return True

    def cap_fill_sizing(self, cap: FillCap) -> None:
        """Cap every quantity sized at the fill with ``cap`` (`RiskEngine.fill_cap`).

        ``cap(order, fill price, wanted, position)`` returns the quantity the [risk]
        limits allow and why it was capped; the why is the `OrderModified`'s reason
        (orders.csv). Zero cancels the order with that reason.
        """
        self._fill_cap = cap

    def _taker_price(
        self,
        order: OrderRequested,
        raw_price: float,
        quantity: float,
        bar_volume: float | None,
        high: float,
        low: float,
    ) -> float:
        """Return a taker's fill price: ``raw_price`` slipped, on the grid, within the data.

        Arguments as for `_fill`; ``quantity`` is what the fill would take (volume-share
        slippage reads it).
        """
        buy = order.side is _BUY
        price = self._slippage.adjust(
            raw_price, order.side, quantity=quantity, bar_volume=bar_volume
        )
        # On the tick grid, rounded against the taker (a venue never fills between ticks
        # and slippage is a cost) ...
        price = self._instruments[order.symbol].round_price_passive(price, up=buy)
        # A taker with a limit (a triggered stop-limit, a limit marketable on arrival) never
        # pays beyond it; another type's limit_price, which risk denies, caps nothing.
        limit = order.limit_price
        if limit is not None and order.order_type in _WITH_LIMIT:
            price = min(price, limit) if buy else max(price, limit)
        if self._within_range:  # ... but never beyond a price the data shows traded
            price = min(price, high) if buy else max(price, low)
        return price
