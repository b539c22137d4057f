"""The order entity and its state machine as a transition table.

`Order` is the one mutable object in the model: the execution stage owns it and changes it
only through `Order.transition`, which consults `ORDER_TRANSITIONS`. Everyone else learns
about changes from the immutable events on the bus.

```
REQUESTED ──▶ DENIED (risk)
    ├──▶ HELD (child of an unfilled parent) ──▶ SUBMITTED / CANCELED
    └──▶ SUBMITTED ──▶ REJECTED (broker)
              └──▶ ACCEPTED ──▶ [TRIGGERED (stop-limit)] ──▶ PARTIALLY_FILLED ──▶ FILLED
                      └──────────────────┴─────────────────────┴──▶ CANCELED / EXPIRED
```
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce

#: The strategy id of a margin call's liquidation orders (`engine.portfolio.accounts`): the
#: venue's forced closes, which no limit of the strategy's risk settings may block.
LIQUIDATION_STRATEGY_ID = "LIQ"

S = OrderStatus
_WORKING_EXITS = frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED})
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.REQUESTED: frozenset({S.DENIED, S.SUBMITTED, S.HELD}),
    S.HELD: frozenset({S.SUBMITTED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELED}),
    S.ACCEPTED: _WORKING_EXITS | {S.TRIGGERED},
    S.TRIGGERED: _WORKING_EXITS,
    S.PARTIALLY_FILLED: _WORKING_EXITS,
    S.DENIED: frozenset(),
    S.REJECTED: frozenset(),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
}


#: The order types that carry a ``limit_price`` (risk denies one on any other type; the
#: venue caps a taker's price by it only for these).
TAKES_LIMIT_PRICE = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def limit_marketable(side: OrderSide, limit: float, price: float) -> bool:
    """Return True if a limit of ``side`` at ``limit`` would take liquidity at ``price``.

    A buy limit at or above the price, a sell at or below it (False for a NaN price). The
    one definition of "marketable" the venue applies: a post-only limit marketable at the
    last price is rejected (`engine.execution.broker`, the live venue's
    `engine.runtime.live.sendable.takes`), and a limit marketable at the last price when it
    reaches the venue fills as a taker (`engine.execution.matching.match_bar`; on ticks,
    `match_tick`'s first look).
    """
    return limit >= price if side is OrderSide.BUY else limit <= price


_OPEN = frozenset({S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED})
_FILLED, _PARTIALLY_FILLED = S.FILLED, S.PARTIALLY_FILLED  # per fill (see `enums`)


class IllegalTransition(Exception):  # noqa: N818 - re-raised as engine.errors.InvalidStateTransition
    """Raised by `next_status` when the table forbids a move (model imports nothing else)."""


def next_status(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """Return ``target`` if the table allows ``current -> target``, else raise.

    Raises:
        IllegalTransition: The move is not in `ORDER_TRANSITIONS`.
    """
    if target not in ORDER_TRANSITIONS[current]:
        raise IllegalTransition(f"order cannot move from {current} to {target}")
    return target


@dataclass(slots=True)
class Order:
    """An order's current state as the execution stage knows it."""

    order_id: str
    strategy_id: str
    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType
    limit_price: float | None
    stop_price: float | None
    time_in_force: TimeInForce
    ts_created: int
    tag: str = ""
    parent_order_id: str = ""
    oco_group: str = ""
    status: OrderStatus = OrderStatus.REQUESTED
    filled_quantity: float = 0.0
    average_fill_price: float = 0.0
    fees: float = 0.0
    ts_last: int = 0
    reason: str = ""

    @property
    def leaves_quantity(self) -> float:
        """Return the quantity still to be filled."""
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill."""
        return self.status in _OPEN

    def transition(self, target: OrderStatus, ts: int, reason: str = "") -> None:
        """Move to ``target`` through the transition table, recording time and reason."""
        if target not in ORDER_TRANSITIONS[self.status]:  # `next_status`, inlined: per order
            raise IllegalTransition(f"order cannot move from {self.status} to {target}")
        self.status = target
        self.ts_last = ts
        if reason:
            self.reason = reason

    def apply_fill(self, quantity: float, price: float, fee: float, ts: int) -> None:
        """Record a fill: update filled quantity, average price, fees and status.

        Raises:
            IllegalTransition: The order cannot fill in its state; it is left unchanged.
        """
        total = self.filled_quantity + quantity
        done = self.quantity - total <= self.quantity * 1e-12
        # Check the move first so that a refused fill leaves the order as it was.
        target = _FILLED if done else _PARTIALLY_FILLED
        if target not in ORDER_TRANSITIONS[self.status]:
            raise IllegalTransition(f"order cannot move from {self.status} to {target}")
        self.status = target
        self.ts_last = ts
        self.average_fill_price = (
            self.average_fill_price * self.filled_quantity + price * quantity
        ) / total
        self.filled_quantity = total
        self.fees += fee
