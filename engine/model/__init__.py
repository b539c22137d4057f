"""Pure values shared by every stage: market data, instruments, orders and events.

Nothing in `engine.model` imports any other part of `engine` (a test checks it), so every
stage can depend on it without cycles. Timestamps are ``int`` nanoseconds since the Unix
epoch, UTC: ``ts_event`` is when a thing happened at its source, ``ts_init`` when the
engine created the object.

Where things live:
- `data`: `Bar`, `TradeTick`, `QuoteTick`, `NewsHeadline` (immutable named tuples: cheap
  on the hot path).
- `instrument`: `Instrument` with tick/lot sizes, minimums and quote currency.
- `enums`: sides, order types, time in force, order statuses, the risk engine's
  `TradingState`; `parse_enum` reads a
  member from its string value at the public boundaries.
- `orders`: `Order` (the one stateful object, changed only by the execution stage), the
  order state transition table and `limit_marketable` (when a limit takes liquidity).
- `events`: commands (`OrderRequested`, `CancelRequested`, `ModifyRequested`) and facts
  (`ModifyApproved`, `OrderDenied`, `OrderAccepted`, `OrderRejected`, `OrderTriggered`,
  `OrderFilled`, `OrderModified`, `OrderModifyRejected`, `OrderCanceled`, `OrderExpired`,
  `PositionChanged`, `EquitySnapshot`), account facts (`CashAdjusted`, `MarginCalled`,
  `AccountLiquidated`) and risk facts (`TradingStateChanged`): every event on the bus.
"""

from engine.model.data import Bar, NewsHeadline, QuoteTick, TradeTick
from engine.model.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
    parse_enum,
)
from engine.model.events import (
    AccountLiquidated,
    CancelRequested,
    CashAdjusted,
    EquitySnapshot,
    MarginCalled,
    ModifyApproved,
    ModifyRequested,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderTriggered,
    PositionChanged,
    TradingStateChanged,
)
from engine.model.instrument import Instrument
from engine.model.orders import (
    LIQUIDATION_STRATEGY_ID,
    ORDER_TRANSITIONS,
    TAKES_LIMIT_PRICE,
    Order,
    limit_marketable,
    next_status,
)

__all__ = [
    "LIQUIDATION_STRATEGY_ID",
    "ORDER_TRANSITIONS",
    "TAKES_LIMIT_PRICE",
    "AccountLiquidated",
    "Bar",
    "CancelRequested",
    "CashAdjusted",
    "EquitySnapshot",
    "Instrument",
    "MarginCalled",
    "ModifyApproved",
    "ModifyRequested",
    "NewsHeadline",
    "Order",
    "OrderAccepted",
    "OrderApproved",
    "OrderCanceled",
    "OrderDenied",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderModifyRejected",
    "OrderRejected",
    "OrderRequested",
    "OrderSide",
    "OrderStatus",
    "OrderTriggered",
    "OrderType",
    "PositionChanged",
    "QuoteTick",
    "TimeInForce",
    "TradeTick",
    "TradingState",
    "TradingStateChanged",
    "TrailingOffsetType",
    "limit_marketable",
    "next_status",
    "parse_enum",
]
