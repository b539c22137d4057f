"""Pre-trade checks: each has a ``name`` (shown in denial reasons) and one question.

A check receives the order, already rounded to the instrument's lot and tick, and a
`RiskState`; it returns None to pass or a sentence saying which numbers failed it.

Valuations compared with cash or equity are in the account currency: a price of an
instrument quoted in a foreign currency is multiplied by `RiskState.rate` (the rate as of
now, see `engine.portfolio.fx`). Price bands and the instrument's ``min_notional`` stay in
the quote currency.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from engine.model import (
    LIQUIDATION_STRATEGY_ID,
    Instrument,
    Order,
    OrderRequested,
    OrderSide,
    OrderType,
)

__all__ = [
    "CashCheck",
    "InstrumentRulesCheck",
    "LeverageCheck",
    "RiskCheck",
    "RiskState",
    "ShortSellingCheck",
    "default_checks",
]

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_BUY, _SELL = (OrderSide.BUY, OrderSide.SELL)
_LIMIT = OrderType.LIMIT


class PortfolioState(Protocol):
    """The account as risk sees it."""

    @property
    def cash(self) -> float:
        """Return cash."""
        ...

    def equity(self) -> float:
        """Return equity."""
        ...

    def gross_exposure(self) -> float:
        """Return Σ |position value|."""
        ...

    def margin_state(self) -> tuple[float, float]:
        """Return ``(equity, gross_exposure)`` (one pass over the positions)."""
        ...

    def position_quantity(self, symbol: str) -> float:
        """Return the signed position."""
        ...

    def last_price(self, symbol: str) -> float:
        """Return the last close."""
        ...


class OpenOrders(Protocol):
    """Every working order, all strategies."""

    def all_open_orders(self) -> list[Order]:
        """Return every working order."""
        ...


@dataclass(frozen=True)
class RiskState:
    """What a check may look at besides the order."""

    portfolio: PortfolioState
    orders: OpenOrders
    instrument: Instrument
    fee_rate: float
    leverage: float
    allow_short: bool
    # ids of approved reduce-only orders: capped at the position, they never add exposure
    reduce_only_ids: set[str] = field(default_factory=set)
    # quote-to-account-currency rate of a symbol now; None: every symbol is in the account's
    fx_rate: Callable[[str], float] | None = None
    # the run's fee model, ``fee(quantity, price, liquidity)`` in quote currency (`FeeModel`);
    # None: ``fee_rate`` × notional
    fee: Callable[[float, float, str], float] | None = None

    def cost(self, order: Order | OrderRequested, quantity: float, last: float) -> float:
        """Return what buying ``quantity`` of ``order`` costs, fee included.

        At the order's limit/stop price (its last close ``last`` for a market order), in
        the account currency at the rate now. The fee is the fee model's for exactly that
        fill (per-unit fees and minimums included), not a fixed rate of the notional: a
        maker's for a limit buy below ``last`` (on bars such a limit fills as a maker), a
        taker's for anything else.
        """
        price = _order_price(order, last)
        fee = self.fee
        if fee is None:
            return quantity * price * self.rate(order.symbol) * (1.0 + self.fee_rate)
        resting = order.order_type is _LIMIT and price < last
        charged = fee(quantity, price, "maker" if resting else "taker")
        return (quantity * price + charged) * self.rate(order.symbol)

    def rate(self, symbol: str) -> float:
        """Return ``symbol``'s rate into the account currency now (1.0 without FX)."""
        return 1.0 if self.fx_rate is None else self.fx_rate(symbol)

    def reference_price(self, order: OrderRequested) -> float:
        """Return the price the order is expected to trade at: its limit/stop or last close."""
        if order.limit_price is not None:
            return order.limit_price
        if order.stop_price is not None:
            return order.stop_price
        return self.portfolio.last_price(order.symbol)

    def pending_quantity(self, symbol: str, side: OrderSide) -> float:
        """Return the open (unfilled) quantity of working orders on ``symbol`` and ``side``."""
        skip = self.reduce_only_ids
        return sum(
            o.leaves_quantity
            for o in self.orders.all_open_orders()
            if o.symbol == symbol and o.side is side and o.order_id not in skip
        )


class RiskCheck(Protocol):
    """One pre-trade rule.

    A check may also define ``applies(state: RiskState) -> bool``: returning False says it
    passes every order of that symbol in this run (no minimums to enforce, shorting
    allowed, …), and the engine then skips it for the symbol. It is asked once, when the
    engine is built; without the method the check always runs.
    """

    name: str

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Return None if ``order`` passes, else the reason it is denied."""
        ...


class InstrumentRulesCheck:
    """Minimum quantity and minimum notional of the instrument."""

    name = "instrument_rules"

    def applies(self, state: RiskState) -> bool:
        """Return True if the instrument has a minimum quantity or notional."""
        return bool(state.instrument.min_quantity or state.instrument.min_notional)

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny orders below the instrument's minimum quantity or notional."""
        instrument = state.instrument
        if not (instrument.min_quantity or instrument.min_notional):
            return None  # no minimums: nothing to check (most instruments, the hot path)
        if order.quantity < instrument.min_quantity:
            return (
                f"quantity {order.quantity:g} is below the minimum "
                f"{instrument.min_quantity:g} for {order.symbol}"
            )
        price = state.reference_price(order)
        if math.isfinite(price) and order.quantity * price < instrument.min_notional:
            return (
                f"notional {order.quantity * price:.2f} is below the minimum "
                f"{instrument.min_notional:g} for {order.symbol}"
            )
        return None


class CashCheck:
    """Cash account: a buy that adds to a long must be payable from free cash, fees included.

    Free cash is cash minus what working buys on any symbol are expected to cost.
    """

    name = "cash"

    def applies(self, state: RiskState) -> bool:
        """Return True on a cash account (leverage 1)."""
        return state.leverage <= 1.0

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny a buy whose expected cost exceeds free cash (leverage 1 only)."""
        if order.side is not _BUY or state.leverage > 1.0 or order.reduce_only:
            return None
        portfolio = state.portfolio
        symbol = order.symbol
        working = state.orders.all_open_orders()
        position = portfolio.position_quantity(symbol)
        cover = -position  # a buy first covers a short (what working buys leave of it)
        if working:
            cover -= state.pending_quantity(symbol, _BUY)
        adding = order.quantity - cover if cover > 0.0 else order.quantity
        if adding <= 0:
            return None
        # `RiskState.reference_price`, `rate` and `cost`, inlined (this runs for every buy):
        # the same numbers, each read once
        last = portfolio.last_price(symbol)
        limit, stop = order.limit_price, order.stop_price
        quote = limit if limit is not None else stop if stop is not None else last
        rate = 1.0 if state.fx_rate is None else state.fx_rate(symbol)
        if not math.isfinite(quote * rate):
            return f"no price known yet for {symbol} to value the order"
        reserved = 0.0
        if working:  # what working buys are expected to cost (none: the common case)
            reserved = sum(
                state.cost(o, o.leaves_quantity, portfolio.last_price(o.symbol))
                for o in working
                if o.side is _BUY and o.order_id not in state.reduce_only_ids
            )
        # The fee model's own fee (was: the sizing rate, 0.1 % for per-unit fees, so a buy
        # the cash could not pay at this very price passed and the broker's cap cut it).
        # `RiskState.cost` at ``quote``, the price it would value the order at (finite here).
        fee = state.fee
        if fee is None:
            cost = adding * quote * rate * (1.0 + state.fee_rate)
        else:
            resting = order.order_type is _LIMIT and quote < last
            cost = (adding * quote + fee(adding, quote, "maker" if resting else "taker")) * rate
        free = portfolio.cash - reserved
        if cost > free * (1.0 + 1e-12):
            return (
                f"insufficient cash: buying {adding:g} {symbol} at ~{quote:g} costs "
                f"{cost:.2f} with fees, free cash is {free:.2f}"
            )
        return None


class ShortSellingCheck:
    """Deny sells beyond the long position when ``allow_short`` is false."""

    name = "short_selling"

    def applies(self, state: RiskState) -> bool:
        """Return True when short selling is disabled."""
        return not state.allow_short

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny a sell that would leave the position (with working sells) below zero."""
        if order.side is not _SELL or state.allow_short or order.reduce_only:
            return None
        held = state.portfolio.position_quantity(order.symbol)
        pending = state.pending_quantity(order.symbol, _SELL)
        if order.quantity + pending > held * (1.0 + 1e-12):
            return (
                f"short selling is disabled (account.allow_short = false): selling "
                f"{order.quantity:g} with {pending:g} pending exceeds the {held:g} held"
            )
        return None


class LeverageCheck:
    """Gross exposure after the order must stay within ``equity × leverage``.

    Working orders count as if filled (at their limit/stop, else the last close), so a
    series of orders cannot pass one by one what they break together: on the order's
    symbol those on its side (the other side may never fill and makes no room), on other
    symbols the side that adds more; reduce-only ones are left out but a margin call's
    liquidation (it will fill). Only orders that
    increase gross exposure are checked; reducing orders always pass.
    """

    name = "leverage"

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order that would take gross exposure beyond ``equity * leverage``."""
        if order.reduce_only:
            return None  # capped at the position by the broker: never adds exposure
        portfolio = state.portfolio
        symbol = order.symbol
        rate = 1.0 if state.fx_rate is None else state.fx_rate(symbol)
        # `RiskState.reference_price`, inlined: the last close is read once
        last_quote = portfolio.last_price(symbol)
        limit, stop = order.limit_price, order.stop_price
        quote = limit if limit is not None else stop if stop is not None else last_quote
        price = quote * rate
        if not math.isfinite(price):
            return f"no price known yet for {symbol} to value the order"
        position = portfolio.position_quantity(symbol)
        signed_quantity = order.quantity if order.side is _BUY else -order.quantity
        working_orders = state.orders.all_open_orders()
        if not working_orders:  # nothing else works (the common case): no pending exposure
            after = position + signed_quantity
            if abs(after) <= abs(position):
                return None  # reduces the position
            last = last_quote * rate
            current_value = abs(position) * (last if math.isfinite(last) else price)
            equity, gross = portfolio.margin_state()
            gross_after = gross - current_value + abs(after) * price
            limit_value = equity * state.leverage  # `_over_leverage`, inlined
            if gross_after > limit_value * (1.0 + 1e-9):
                return _over_leverage(gross_after, equity, state)
            return None
        # per symbol, the working buys and sells apart: either side may be the one that
        # fills (an exit far from the price may never do), so neither makes room for the
        # other (was: a limit sell of 150 far above a long of 150 counted as filled, and a
        # buy of 100 took gross exposure to 25,000 on 20,000 allowed)
        buys: dict[str, float] = {}
        sells: dict[str, float] = {}
        pending_price: dict[str, float] = {}
        for working in working_orders:
            # reduce-only orders may never fill (exits that are alternatives); a margin
            # call's liquidation will, and an order checked beside it must count it
            if (
                working.order_id in state.reduce_only_ids
                and working.strategy_id != LIQUIDATION_STRATEGY_ID
            ):
                continue
            other = working.symbol
            book = buys if working.side is _BUY else sells
            book[other] = book.get(other, 0.0) + working.side.sign * working.leaves_quantity
            last_other = portfolio.last_price(other)
            value = _order_price(working, last_other) * state.rate(other)
            pending_price[other] = max(value, pending_price.get(other, 0.0))
        same_side = buys if order.side is _BUY else sells
        expected = position + same_side.pop(symbol, 0.0)
        (sells if order.side is _BUY else buys).pop(symbol, None)
        after = expected + signed_quantity
        if abs(after) <= abs(expected):
            return None
        last = last_quote * rate
        current_value = abs(position) * (last if math.isfinite(last) else price)
        equity, gross = portfolio.margin_state()
        gross_after = gross - current_value + abs(after) * price
        for other in buys.keys() | sells.keys():  # other symbols' working orders
            held = portfolio.position_quantity(other)
            added = max(abs(held + buys.get(other, 0.0)), abs(held + sells.get(other, 0.0)))
            gross_after += max(added - abs(held), 0.0) * pending_price[other]
        return _over_leverage(gross_after, equity, state)


def _over_leverage(gross_after: float, equity: float, state: RiskState) -> str | None:
    """Return the denial if ``gross_after`` exceeds ``equity × leverage``, else None."""
    limit = equity * state.leverage
    if gross_after > limit * (1.0 + 1e-9):
        return f"gross exposure would be {gross_after:.2f}, above equity x leverage = {limit:.2f}"
    return None


def _order_price(order: Order | OrderRequested, last: float) -> float:
    if order.limit_price is not None:
        return order.limit_price
    if order.stop_price is not None:
        return order.stop_price
    return last if math.isfinite(last) else 0.0


def default_checks() -> list[RiskCheck]:
    """Return the checks every run has, in the order they are applied."""
    return [InstrumentRulesCheck(), ShortSellingCheck(), CashCheck(), LeverageCheck()]
