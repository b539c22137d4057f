"""RiskEngine: every order passes here between the strategy and execution, in every mode.

In: `OrderRequested` and `ModifyRequested`. Out: `OrderApproved` carrying the order
rounded to the instrument's tick and lot size, or `OrderDenied` naming the check that
failed and the numbers that failed it; `ModifyApproved` or `OrderModifyRejected` for a
modification (checked as the order it would make, see `RiskEngine.on_modify_requested`).
Working orders count in the checks from their approval on (`WorkingBook`).

Nothing raises for a bad order: NaN or negative quantities, missing prices and unknown
symbols are denials like any other. In a multi-currency account (``fx_rate``) an order on
a symbol whose quote currency has no known rate yet is denied (check ``fx_rate``);
otherwise checks value it in the account currency (`engine.risk.checks`). The trading
state (`engine.model.TradingState`; guards or `set_trading_state` change it, each change
a `TradingStateChanged`): REDUCING passes only orders that reduce exposure, HALTED none.
A margin call's liquidation (strategy id ``LIQ``) is checked for its form only.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence

from engine.bus import EventBus
from engine.clock import Clock
from engine.errors import StrategyError, did_you_mean
from engine.model import (
    LIQUIDATION_STRATEGY_ID,
    CancelRequested,
    Instrument,
    ModifyApproved,
    ModifyRequested,
    Order,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
    TradingState,
    TradingStateChanged,
    TrailingOffsetType,
    parse_enum,
)
from engine.risk.checks import OpenOrders, PortfolioState, RiskCheck, RiskState, default_checks
from engine.risk.fill_caps import fill_cap
from engine.risk.limits import expected_positions
from engine.risk.validity import normalized
from engine.risk.validity import problem as order_problem
from engine.risk.working import WorkingBook

__all__ = ["FLATTEN_PREFIX", "RiskEngine", "WorkingBook"]

FLATTEN_PREFIX = "risk-flatten-"  # then the number: the ids of the "flatten" action's orders

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_BUY, _MARKET, _GTC = OrderSide.BUY, OrderType.MARKET, TimeInForce.GTC
_PRICE = TrailingOffsetType.PRICE
_ACTIVE = TradingState.ACTIVE


class RiskEngine:
    """Validates, rounds and checks orders; approves or denies them as events."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        portfolio: PortfolioState,
        orders: OpenOrders,
        *,
        fee_rate: float,
        leverage: float = 1.0,
        allow_short: bool = True,
        instrument_rules: str = "round",
        checks: Sequence[RiskCheck] | None = None,
        fx_rate: Callable[[str], float] | None = None,
        fee: Callable[[float, float, str], float] | None = None,
    ) -> None:
        """Build the engine.

        ``fx_rate(symbol)`` converts quote prices now (None: no FX); ``fee(quantity,
        price, liquidity)`` is the fee model's (`FeeModel.fee`, quote currency), which the
        cash check charges (None: ``fee_rate`` × notional).
        """
        self._bus = bus
        self._clock = clock
        self._reject_off_grid = instrument_rules == "reject"
        self._reduce_only_ids: set[str] = set()  # shared by the states; grows on approval
        self._fx_rate = fx_rate
        # Checks count working orders through this book (execution's and unbooked approvals)
        self._book = WorkingBook(orders)
        self._in_flight = self._book.in_flight  # written and read once per order
        # One immutable state view per symbol, built once: checks read live values through it.
        self._states = {
            symbol: RiskState(
                portfolio,
                self._book,
                instrument,
                fee_rate,
                leverage,
                allow_short,
                self._reduce_only_ids,
                fx_rate,
                fee,
            )
            for symbol, instrument in instruments.items()
        }
        self.checks = list(default_checks() if checks is None else checks)
        self.trading_state = TradingState.ACTIVE
        self.trading_state_reason = ""
        self._flatten_ids: set[str] = set()  # the closing orders `flatten` sent: pass HALTED
        self._flattened = 0

    @property
    def checks(self) -> list[RiskCheck]:
        """Return the pre-trade checks, in the order they are applied."""
        return self._checks

    @checks.setter
    def checks(self, checks: Sequence[RiskCheck]) -> None:
        # Per symbol, only the checks that can fail for it (`RiskCheck.applies`, decided
        # once): a cash check on a margin account or a minimum check on an instrument
        # without minimums would pass every order, and each order pays for each check.
        self._checks = list(checks)
        self._symbol_checks = {
            symbol: [check for check in self._checks if _applies(check, state)]
            for symbol, state in self._states.items()
        }

    def set_trading_state(
        self, state: TradingState | str, reason: str = "set by the user", ts_ns: int | None = None
    ) -> None:
        """Change the trading state and publish `TradingStateChanged` (no-op if unchanged).

        Args:
            state: ``"active"``, ``"reducing"`` or ``"halted"`` in any case (or a
                `TradingState`).
            reason: Why, shown in denials and in the report.
            ts_ns: When (ns UTC); the clock's time when None.

        Raises:
            ValueError: ``state`` names no trading state (the message lists them).
        """
        target = parse_enum(TradingState, state)
        if target is None:
            allowed = [member.value for member in TradingState]
            hint = did_you_mean(str(state).strip().lower(), allowed)
            hint = hint if "did you mean" in hint else ""
            raise ValueError(f"trading state {state!r} is not one of {', '.join(allowed)}{hint}")
        previous = self.trading_state
        if target is previous:
            return
        self.trading_state = target
        self.trading_state_reason = reason
        now = self._clock.timestamp_ns()
        self._bus.publish(
            TradingStateChanged(previous, target, reason, now if ts_ns is None else ts_ns, now)
        )

    def flatten(self, reason: str, ts_ns: int | None = None) -> None:
        """Halt trading, cancel every working order and close every position.

        What ``[risk] guard_action = "flatten"`` does when a guard trips. The state moves
        to HALTED at once (the strategy's orders from now on are denied); then a
        `CancelRequested` goes out for every working order (all strategies, held bracket
        exits and approvals still in flight included) and one reduce-only market order
        per open position, on the closing side, for its whole quantity. Those orders
        (ids ``risk-flatten-<n>``, strategy id ``risk``, tag ``flatten``) are the only
        ones HALTED lets through; they fill like any market order (next bar's open by
        default), so the strategy sees its positions go flat but no ``on_order_filled``
        for them.

        Args:
            reason: Why (the guard's sentence), shown in the state change and denials.
            ts_ns: When (ns UTC); the clock's time when None.
        """
        self.set_trading_state(TradingState.HALTED, reason, ts_ns)
        now = self._clock.timestamp_ns()
        for order in self._book.all_open_orders():
            self._bus.publish(CancelRequested(order.order_id, order.strategy_id, now, now))
        for symbol, state in self._states.items():
            position = state.portfolio.position_quantity(symbol)
            if position == 0:
                continue
            self._flattened += 1
            order_id = f"{FLATTEN_PREFIX}{self._flattened:06d}"
            self._flatten_ids.add(order_id)
            side = OrderSide.SELL if position > 0 else OrderSide.BUY
            self._bus.publish(
                OrderRequested(
                    order_id,
                    "risk",
                    symbol,
                    side,
                    abs(position),
                    OrderType.MARKET,
                    None,
                    None,
                    TimeInForce.GTC,
                    now,
                    now,
                    "flatten",
                    reduce_only=True,
                )
            )

    def cancel_adding(self, reason: str) -> None:
        """Cancel every working order that would add exposure; keep those that reduce it.

        What a guard trip to REDUCING or HALTED does besides changing the state: the state
        only stops new orders, and an entry left working (a limit buy under a long) would
        still fill and add exposure under the guard. Canceled: orders that are not
        reduce-only on the side that grows the position (a buy when flat or long, a sell
        when flat or short), held bracket entries included (their exits go with them),
        and orders on the reducing side that, with the ones kept before them, would take
        |position| beyond its size now (a sell of 0.4 under a long of 0.1 flips it to a
        short of 0.3: was kept and filled under REDUCING). Kept: reduce-only orders and
        exits within the position; of an OCO group each member is judged alone (at most
        one fills). A canceled order's reason names the guard and the position it would
        have left.

        Args:
            reason: Why (the guard's sentence); the cancel's reason in orders.csv.
        """
        now = self._clock.timestamp_ns()
        kept: dict[str, float] = {}  # per symbol: the signed quantity of the exits kept
        groups: dict[tuple[str, str], float] = {}  # per OCO group: its largest kept member
        for order in self._book.all_open_orders():
            state = self._states.get(order.symbol)
            if state is None or order.order_id in self._reduce_only_ids:
                continue
            symbol = order.symbol
            position = state.portfolio.position_quantity(symbol)
            signed = order.side.sign * order.leaves_quantity
            key = (symbol, order.oco_group)
            alternatives = sum(v for k, v in groups.items() if k[0] == symbol and k != key)
            after = position + kept.get(symbol, 0.0) + alternatives + signed
            why = reason
            if position * signed < 0 and abs(after) <= abs(position) * (1.0 + 1e-9):
                if order.oco_group:
                    groups[key] = max(groups.get(key, 0.0), signed, key=abs)
                else:
                    kept[symbol] = kept.get(symbol, 0.0) + signed
                continue
            if position * signed < 0:
                why = (
                    f"{reason}; {order.side} {order.leaves_quantity:g} would take the {symbol} "
                    f"position from {position:g} to {after:g}"
                )
            self._bus.publish(CancelRequested(order.order_id, order.strategy_id, now, now, why))

    def on_order_requested(self, order: OrderRequested) -> None:
        """Approve (rounded) or deny ``order``."""
        state = self._states.get(order.symbol)
        if state is None:
            self._deny(order, "unknown_symbol", f"no instrument {order.symbol!r} in this run")
            return
        instrument = state.instrument
        quantity = order.quantity
        if (  # the common order, a plain market order: valid when its quantity is
            order.order_type is _MARKET
            and order.limit_price is None
            and order.stop_price is None
            and order.time_in_force is _GTC
            and not order.post_only
            and order.trailing_offset is None  # else a field a market order does not take
            and order.expire_time_ns is None
            and order.trailing_offset_type is _PRICE
            and 0.0 < quantity < math.inf
            and type(order.side) is OrderSide  # a str side would misread as a sell below
        ):
            lots = instrument.round_quantity(quantity)
            rounded = order if lots == quantity else order._replace(quantity=lots)
        else:
            order, unreadable = normalized(order)
            problem = unreadable or order_problem(order)
            if problem:
                self._deny(order, "order_validity", problem)
                return
            rounded = _rounded(order, instrument)
        if self._reject_off_grid:
            off_grid = _off_grid(order, rounded, instrument)
            if off_grid:
                self._deny(order, "instrument_rules", off_grid)
                return
        if rounded.quantity <= 0:
            self._deny(
                order,
                "instrument_rules",
                f"quantity {order.quantity:g} rounds to 0 at lot size {instrument.lot_size:g}",
            )
            return
        if rounded.reduce_only and not rounded.parent_order_id:
            # A child of an unfilled parent cannot be judged yet: the broker caps it at fill.
            position = state.portfolio.position_quantity(rounded.symbol)
            reducing = position < 0 if rounded.side is _BUY else position > 0
            if not reducing:
                self._deny(
                    order,
                    "reduce_only",
                    f"reduce-only {rounded.side} of {rounded.quantity:g} would increase the "
                    f"{rounded.symbol} position of {position:g}",
                )
                return
        if self._fx_rate is not None and not math.isfinite(state.rate(rounded.symbol)):
            self._deny(
                order,
                "fx_rate",
                f"no {instrument.quote_currency} rate into the account currency is known yet "
                f"to value the {rounded.symbol} order",
            )
            return
        # the venue's forced close: no limit of the strategy's (state, minimums, …) blocks it
        checked = rounded.strategy_id != LIQUIDATION_STRATEGY_ID or not rounded.reduce_only
        if checked and self.trading_state is not _ACTIVE:
            blocked = self._blocked_by_state(rounded, state)
            if blocked:
                self._deny(order, "trading_state", blocked)
                return
        for check in self._symbol_checks[rounded.symbol] if checked else ():
            reason = check.check(rounded, state)
            if reason is not None:
                self._deny(order, check.name, _reason(check, reason))
                return
        if rounded.reduce_only:
            self._reduce_only_ids.add(rounded.order_id)
        self._in_flight[rounded.order_id] = rounded  # an `Order` view only when asked
        now = self._clock.timestamp_ns()
        self._bus.publish(tuple.__new__(OrderApproved, (rounded, now, now)))  # C-level

    def on_modify_requested(self, event: ModifyRequested) -> None:
        """Let a modification through (`ModifyApproved`) or refuse it (`OrderModifyRejected`).

        A modification is a request for risk like a new order: the working order as it
        would be after the change (its remaining quantity ``new quantity - filled``, its
        new prices) is rounded and run through the trading state and every check, with the
        order's current self left out of the working orders so that it is not counted
        twice. Was: ``ctx.modify`` went straight to the broker, and a limit buy of 10
        modified to 1,000 on a 2x margin account filled at ~10x equity.

        Passed without checks: changes that neither raise the quantity nor move a price
        (they only reduce what the order can do), modifications of orders risk does not
        see working (the broker answers "not working"), and malformed values (the broker
        rejects them with the reason). A reduce-only order's change is checked (price band,
        …) but not blocked by the trading state: moving a protective exit is always allowed.
        Counts against ``order_rate_limit`` like an order (a venue counts it too). A
        refusal's reason reads ``risk <check>: <why>``.
        """
        order = next(
            (o for o in self._book.all_open_orders() if o.order_id == event.order_id), None
        )
        state = None if order is None else self._states.get(order.symbol)
        request = None if order is None or state is None else self._modified(order, event)
        if order is None or state is None or request is None:
            self._approve_modify(event)
            return
        book = self._book
        book.excluded = order.order_id  # its current self is what the change replaces
        try:
            problem = self._modify_problem(request, state)
        finally:
            book.excluded = ""
        if problem:
            now = self._clock.timestamp_ns()
            self._bus.publish(
                OrderModifyRejected(
                    order.order_id, order.strategy_id, order.symbol, problem, now, now
                )
            )
            return
        self._approve_modify(event)

    def _modified(self, order: Order, event: ModifyRequested) -> OrderRequested | None:
        """Return ``order`` as a request for what it may still fill after ``event``'s change.

        None when the change needs no check (nothing raised or moved) or is malformed.
        """
        quantity = order.quantity if event.quantity is None else event.quantity
        limit = order.limit_price if event.limit_price is None else event.limit_price
        stop = order.stop_price if event.stop_price is None else event.stop_price
        if quantity <= order.quantity and (limit, stop) == (order.limit_price, order.stop_price):
            return None
        values = (quantity, limit or 1.0, stop or 1.0)
        if not all(0.0 < value < math.inf for value in values):
            return None
        remaining = quantity - order.filled_quantity
        if remaining <= 0:
            return None
        return OrderRequested(
            order.order_id,
            order.strategy_id,
            order.symbol,
            order.side,
            remaining,
            order.order_type,
            limit,
            stop,
            order.time_in_force,
            event.ts_event,
            event.ts_init,
            order.tag,
            reduce_only=order.order_id in self._reduce_only_ids,
            parent_order_id=order.parent_order_id,
            oco_group=order.oco_group,
        )

    def _modify_problem(self, request: OrderRequested, state: RiskState) -> str:
        rounded = _rounded(request, state.instrument)
        if self.trading_state is not TradingState.ACTIVE and not rounded.reduce_only:
            blocked = self._blocked_by_state(rounded, state)
            if blocked:
                return f"risk trading_state: {blocked}"
        for check in self._symbol_checks[rounded.symbol]:
            reason = check.check(rounded, state)
            if reason is not None:
                return f"risk {check.name}: {_reason(check, reason)}"
        return ""

    def _approve_modify(self, event: ModifyRequested) -> None:
        now = self._clock.timestamp_ns()
        self._bus.publish(ModifyApproved(event, now, now))

    def fill_cap(
        self, order: OrderRequested, price: float, wanted: float, position: float
    ) -> tuple[float, str]:
        """Return ``wanted`` (a quantity sized at the fill) capped at the [risk] limits.

        ``price`` is the fill's (quote currency) and ``position`` the symbol's at the fill;
        returns ``(quantity, why)``, ``why`` empty when nothing was capped
        (`engine.risk.fill_caps`). The order's own working self is left out.
        """
        state = self._states.get(order.symbol)
        if state is None:
            return wanted, ""
        book = self._book
        book.excluded = order.order_id
        try:
            return fill_cap(order, price, wanted, position, state, self._checks)
        finally:
            book.excluded = ""

    def on_cancel_requested(self, event: CancelRequested) -> None:
        """Note that ``event``'s order is on its way out: no check counts it any more.

        Subscribed before execution handles the cancel: execution's book lists the order
        until its `OrderCanceled` arrives, after whatever was published with the cancel
        (the exits' replacement after a fill is a cancel and a new order in one step).
        """
        book = self._book
        if any(order.order_id == event.order_id for order in book.all_open_orders()):
            book.canceling.add(event.order_id)  # (only working ones: the set empties)

    def on_order_answered(self, event: OrderAccepted | OrderRejected | OrderCanceled) -> None:
        """Stop counting an approval as in flight once the broker answered it.

        Subscribed to `OrderAccepted` (execution's book lists the order from then on),
        `OrderRejected` and `OrderCanceled` (a held child canceled with its parent); an
        `OrderCanceled` also ends its cancel's wait.
        """
        in_flight = self._in_flight
        if in_flight:
            in_flight.pop(event.order_id, None)
        canceling = self._book.canceling
        if canceling:
            canceling.discard(event.order_id)

    def continue_numbering(self, last: int) -> None:
        """Number the next flatten order ``last + 1`` or later (a restarted live node)."""
        self._flattened = max(self._flattened, last)

    def in_flight_ids(self) -> tuple[str, ...]:
        """Return the ids of the orders approved and not yet answered by the venue."""
        return tuple(self._book.in_flight)

    def _blocked_by_state(self, order: OrderRequested, state: RiskState) -> str:
        why = f" ({self.trading_state_reason})" if self.trading_state_reason else ""
        if self.trading_state is TradingState.HALTED:
            if order.order_id in self._flatten_ids:
                return ""  # closing what a "flatten" guard action closes
            return f"trading is HALTED{why}: only cancels pass"
        before, after = expected_positions(order, state)
        if order.reduce_only or abs(after) <= abs(before) * (1.0 + 1e-9):
            return ""
        return (
            f"trading is REDUCING{why}: only orders that reduce exposure pass, and this one "
            f"takes the expected {order.symbol} position from {before:g} to {after:g}"
        )

    def _deny(self, order: OrderRequested, check: str, reason: str) -> None:
        now = self._clock.timestamp_ns()
        self._bus.publish(
            OrderDenied(order.order_id, order.strategy_id, order.symbol, check, reason, now, now)
        )


def _reason(check: RiskCheck, answer: object) -> str:
    """Return a check's denial ``answer`` (not None), or raise: a check returns None to pass
    or a non-empty str to deny.

    A plugin's False or "" denied the order with the reason "False" or none; any other
    answer is the plugin's mistake, a `StrategyError` (exit 3) naming it, as an
    exception it raised is.
    """
    if isinstance(answer, str) and answer:
        return answer
    kind = type(check)
    # the file it was read from names it best (a file plugin's module name is generated)
    where = getattr(sys.modules.get(kind.__module__), "__file__", None) or kind.__module__
    raise StrategyError(
        f"risk check {check.name!r} ({where}:{kind.__qualname__}) returned "
        f"{answer!r}: a check returns None to pass or a non-empty str (the reason) to deny"
    )


def _applies(check: RiskCheck, state: RiskState) -> bool:
    """Return False if ``check`` declares (by an ``applies`` method) it cannot fail here."""
    applies = getattr(check, "applies", None)
    return applies is None or bool(applies(state))


def _rounded(order: OrderRequested, instrument: Instrument) -> OrderRequested:
    """Return ``order`` on the lot and tick grid, never more aggressive than asked.

    Quantities round toward zero; a buy limit rounds down and a sell limit up (never pay
    more or sell for less than asked); a buy stop rounds up and a sell stop down (never
    trigger earlier than asked).
    """
    quantity = instrument.round_quantity(order.quantity)
    buy = order.side is OrderSide.BUY
    limit, stop = order.limit_price, order.stop_price
    limit = None if limit is None else instrument.round_order_price(limit, buy, stop=False)
    stop = None if stop is None else instrument.round_order_price(stop, buy, stop=True)
    if quantity == order.quantity and limit == order.limit_price and stop == order.stop_price:
        return order  # already on the grid: skip the copy (the common case on the order path)
    return order._replace(quantity=quantity, limit_price=limit, stop_price=stop)


def _off_grid(order: OrderRequested, rounded: OrderRequested, instrument: Instrument) -> str:
    """Return why ``order`` is off the lot/tick grid (empty if rounding changes nothing)."""
    if not math.isclose(order.quantity, rounded.quantity, rel_tol=1e-12, abs_tol=1e-15):
        return (
            f"quantity {order.quantity:g} is not a multiple of the lot size "
            f"{instrument.lot_size:g} of {order.symbol}"
        )
    for name in ("limit_price", "stop_price"):
        given, snapped = getattr(order, name), getattr(rounded, name)
        if given is not None and not math.isclose(given, snapped, rel_tol=1e-12, abs_tol=1e-15):
            return f"{name} {given:g} is not on the tick size {instrument.tick_size:g} grid"
    return ""
