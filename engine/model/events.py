"""Commands and facts that travel on the bus.

Commands are imperative or "Requested" (`OrderRequested`, `CancelRequested`); facts are past
tense (`OrderDenied`, `OrderFilled`, …). All are immutable. Business outcomes such as a risk
denial or a venue rejection are facts carried by these events, never exceptions.

They are typed `NamedTuple`s rather than frozen dataclasses because a frozen dataclass
pays one ``object.__setattr__`` per field on creation, several times the cost of a tuple;
an active strategy creates a dozen of these per order. The bus dispatches on the exact
type, so two events with equal fields but different types never mix.

Every event about an order carries ``strategy_id``, the id of the strategy that placed it
(engine exits carry their strategy's id too): the strategy runner forwards an event to its
strategy by comparing that field, never by parsing the order id, so order ids are free to
take any form a venue needs.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.model.enums import (
    OrderSide,
    OrderType,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
)


class OrderRequested(NamedTuple):
    """A strategy asks for an order. Risk approves (`OrderApproved`) or denies it.

    A field the order type does not take (a market order's ``limit_price``, a limit's
    ``stop_price`` or ``trailing_offset``, an ``expire_time_ns`` without GTD) is denied
    (check ``order_validity``, `engine.risk.validity`).

    Attributes:
        quantity: Base units, > 0 (the side gives the direction).
        limit_price: Limit of LIMIT and STOP_LIMIT orders (None on every other type).
        stop_price: Trigger of STOP and STOP_LIMIT orders; the initial stop of a trailing
            stop (None: computed from the last close and the offset on acceptance).
        expire_time_ns: When a GTD order expires (ns UTC); None with any other time in force.
        post_only: The order must rest (maker); if it would take liquidity on arrival it
            is rejected.
        reduce_only: The order may only reduce the position; fills are capped at it.
        trailing_offset: Distance of a trailing stop from the best price since acceptance,
            in price units or percent (``trailing_offset_type``).
        parent_order_id: OTO: the order is held until this parent order fills.
        oco_group: Orders sharing a group are one-cancels-other: a fill of one reduces
            the others by the same quantity (canceling them when nothing is left).
    """

    order_id: str
    strategy_id: str
    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType
    limit_price: float | None
    stop_price: float | None
    time_in_force: TimeInForce
    ts_event: int
    ts_init: int
    tag: str = ""
    expire_time_ns: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    trailing_offset: float | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.PRICE
    parent_order_id: str = ""
    oco_group: str = ""


class ModifyRequested(NamedTuple):
    """A strategy asks to change a working order's quantity and/or prices (None: keep)."""

    order_id: str
    strategy_id: str
    quantity: float | None
    limit_price: float | None
    stop_price: float | None
    ts_event: int
    ts_init: int


class ModifyApproved(NamedTuple):
    """Risk let a `ModifyRequested` through (a modification that adds exposure or moves a
    price was checked like a new order); execution forwards it to the broker."""

    request: ModifyRequested
    ts_event: int
    ts_init: int


class OrderModified(NamedTuple):
    """The broker changed a working order; the fields are its new values."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    quantity: float
    limit_price: float | None
    stop_price: float | None
    ts_event: int
    ts_init: int
    reason: str = ""  # why the broker changed it itself: a fill-sized quantity at a [risk] limit


class OrderModifyRejected(NamedTuple):
    """The broker refused a modification; the order keeps working unchanged."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    reason: str
    ts_event: int
    ts_init: int


class OrderTriggered(NamedTuple):
    """A stop-limit's stop was reached: it now works as a limit order."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    ts_event: int
    ts_init: int


class OrderExpired(NamedTuple):
    """A DAY or GTD order reached the end of its life without (completely) filling."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    ts_event: int
    ts_init: int


class OrderApproved(NamedTuple):
    """Risk passed the order; ``order`` carries it rounded to the instrument's rules."""

    order: OrderRequested
    ts_event: int
    ts_init: int


class OrderDenied(NamedTuple):
    """Risk refused the order before it reached the broker. ``check`` names the rule."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    check: str
    reason: str
    ts_event: int
    ts_init: int


class CancelRequested(NamedTuple):
    """A strategy (or the engine: a guard, margin rules) asks to cancel a working order.

    ``reason`` becomes the `OrderCanceled` reason ("" : ``"canceled by request"``).
    """

    order_id: str
    strategy_id: str
    ts_event: int
    ts_init: int
    reason: str = ""


class OrderAccepted(NamedTuple):
    """The broker accepted the order; it is now working."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    ts_event: int
    ts_init: int


class OrderRejected(NamedTuple):
    """The broker refused the order (venue rule, insufficient funds at the venue, …)."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    reason: str
    ts_event: int
    ts_init: int


class OrderFilled(NamedTuple):
    """Part or all of an order was executed.

    Attributes:
        quantity: Filled quantity of this fill, > 0 (the side gives the direction).
        price: Fill price after slippage, in quote currency.
        fee: Fee charged for this fill, in quote currency, >= 0.
        liquidity: ``"taker"`` or ``"maker"``.
        leaves_quantity: What is still open on the order after this fill.
    """

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    fill_id: str
    symbol: str
    side: OrderSide
    quantity: float
    price: float
    fee: float
    liquidity: str
    leaves_quantity: float
    ts_event: int
    ts_init: int


class OrderCanceled(NamedTuple):
    """A working order stopped working without (further) fills."""

    order_id: str
    strategy_id: str  # the strategy that placed the order; each strategy hears only its own
    symbol: str
    reason: str
    ts_event: int
    ts_init: int


class PositionChanged(NamedTuple):
    """A fill changed a position. ``quantity`` is signed: > 0 long, < 0 short, 0 flat."""

    symbol: str
    quantity: float
    average_price: float
    realized_pnl: float  # cumulative for the symbol, before fees
    ts_event: int
    ts_init: int


class EquitySnapshot(NamedTuple):
    """Account value after a bar's close was marked. Published once per timestamp.

    A named tuple (not a dataclass) because one is created per bar on the hot path.
    """

    ts_event: int
    ts_init: int
    cash: float
    equity: float
    gross_exposure: float  # sum of |position value| in account currency


# --- account facts (produced by the portfolio's account rules; amounts in account currency) ---


class CashAdjusted(NamedTuple):
    """Cash changed without a fill: a borrow fee or a funding payment.

    Attributes:
        symbol: The position the flow belongs to.
        amount: Signed change of cash (< 0: the account paid, > 0: it received).
        reason: ``"borrow_fee"`` or ``"funding"``.
        ts_event: When it was due at the source (funding time, or the UTC midnight that
            closed the last borrow day).
        ts_init: Simulated time at which the portfolio applied it (the bar close being
            processed); the equity curve counts it from that snapshot on.
    """

    symbol: str
    amount: float
    reason: str
    ts_event: int
    ts_init: int


class MarginCalled(NamedTuple):
    """At a bar close, equity fell below the maintenance margin: liquidation follows.

    Attributes:
        equity: Cash plus positions marked at their last closes.
        maintenance_margin: ``account.maintenance_margin × gross_exposure``.
        gross_exposure: Σ |quantity × last close|.
    """

    equity: float
    maintenance_margin: float
    gross_exposure: float
    ts_event: int
    ts_init: int


class AccountLiquidated(NamedTuple):
    """Every liquidation order of a margin call has ended (filled, canceled or denied).

    Attributes:
        symbols: The symbols whose positions were ordered closed.
        equity: Equity once the last liquidation order ended.
    """

    symbols: tuple[str, ...]
    equity: float
    ts_event: int
    ts_init: int


# --- risk facts ---


class TradingStateChanged(NamedTuple):
    """The risk engine's trading state changed (a guard tripped, a cooldown ended, a user).

    Attributes:
        previous: State before.
        state: State after.
        reason: Who or what changed it, with the numbers (e.g. the drawdown that tripped).
        ts_event: When it changed (ns UTC; the bar close or fill time that caused it).
    """

    previous: TradingState
    state: TradingState
    reason: str
    ts_event: int
    ts_init: int
