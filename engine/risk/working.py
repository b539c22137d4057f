"""WorkingBook: the working orders the risk engine's checks count.

In: execution's book (`OpenOrders`) and the approvals risk granted that execution has not
booked yet. Out: `all_open_orders`, the one list every check reads. The risk engine
(`engine.risk.engine.RiskEngine`) fills and empties the in-flight part.
"""

from __future__ import annotations

from engine.model import Order, OrderRequested
from engine.risk.checks import OpenOrders

__all__ = ["WorkingBook"]


class WorkingBook:
    """The working orders risk counts: execution's book plus approvals still in flight.

    Execution books an approved order only when it handles the `OrderApproved` and lists
    it as working only once the broker accepts it, but the bus delivers events in order:
    every order a strategy placed on the same bar is checked before any of their
    approvals reach execution. Without this book two buys of 150 at 100 on 10,000 of
    equity at leverage 2 each passed alone (15,000 <= 20,000) and filled together
    (30,000). So an approval counts as working from the moment risk grants it (for its
    whole quantity, at its limit/stop or the last close) until execution's book takes it
    over (`OrderAccepted`) or it ends unsent (`OrderRejected`, `OrderCanceled` of a held
    child). Held bracket children are in flight until their parent fills; being
    reduce-only, they add no exposure (`RiskState.reduce_only_ids`).

    An order whose cancel was requested is left out from the request on (`canceling`):
    the bus delivers the cancel to the venue before anything placed after it, so a
    cancel-and-replace on one bar is checked as the replacement alone (was: a limit buy
    replaced by another was still reserved by the cash check and counted as if filled by
    the exposure limits and ``max_open_orders``, and the replacement denied). Live, a fill
    racing the cancel is reported by the venue like any fill.
    """

    def __init__(self, orders: OpenOrders) -> None:
        self._orders = orders
        self.in_flight: dict[str, OrderRequested] = {}
        self.excluded = ""  # an order being modified: its change is checked in its place
        # ids of working orders whose cancel was requested (`RiskEngine.on_cancel_requested`)
        # until their `OrderCanceled`: on their way out, they count nowhere
        self.canceling: set[str] = set()

    def all_open_orders(self) -> list[Order]:
        """Return every working order, execution's first, then those in flight."""
        working = self._orders.all_open_orders()
        if self.in_flight:  # viewed as `Order`s here, not at approval: rarely asked
            working = working + [_entity(request) for request in self.in_flight.values()]
        if self.excluded or self.canceling:
            gone = self.canceling | {self.excluded}
            return [order for order in working if order.order_id not in gone]
        return working


def _entity(order: OrderRequested) -> Order:
    """Return the `Order` view of an approval (positional, in field order: per order)."""
    return Order(
        order.order_id,
        order.strategy_id,
        order.symbol,
        order.side,
        order.quantity,
        order.order_type,
        order.limit_price,
        order.stop_price,
        order.time_in_force,
        order.ts_event,
        order.tag,
        order.parent_order_id,
        order.oco_group,
    )
