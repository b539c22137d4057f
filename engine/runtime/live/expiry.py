"""Node-managed expiry of DAY and GTD orders: Binance spot has no GTD.

In: the venue's DAY and GTD orders (`Expiries.start` when sent, `Expiries.resume` when a
restarted node adopts one) and the node's clock at each poll. Out: the engine order ids
whose time is up (`Expiries.due`), for the venue to cancel at the exchange and publish as
`OrderExpired` once the cancel is confirmed (`Expiries.hold`: with the next bar).

The order is sent as GTC. Its expiry is the backtest's (`engine.execution.broker`): a GTD
order's ``expire_time_ns``; a DAY order's end of the UTC day it was accepted in (the node's
clock at submission). It is written to the order's row (``live_orders.expire_ns``) before
the order is sent, so a restarted node recomputes nothing: it reads it back.

When: the backtest expires an order at the first bar *opening* at or after its expiry,
before matching that bar — the last bar it can fill on is the one before — and the
strategy hears it with that next bar. The node polls when a bar has closed (its clock at
the bar's close, which is the next bar's open): an order whose expiry is at or before that
moment is canceled at the exchange then, after the poll read the closed bar's fills, so
the last bar it is eligible on is the backtest's. The confirmed cancel is held back and
published as `OrderExpired` at the next poll (or report), before strategies see the next
bar, as the backtest publishes it: until then the kernel lists it as working (a cancel the
strategy sends meanwhile is refused: it is gone at the exchange; a modify is answered as
the backtest answers it, nothing sent: `LiveVenue.modify`). One difference:
the exchange has opened the next bar by then, and a limit that bar gaps through fills at
its open before the cancel arrives — the cancel then meets a fill and the exchange's
truth wins (the fill is published, not an expiry), where the backtest expires the order.
An order whose expiry is not after the moment it is sent is not sent (`OrderRejected`
saying so): the backtest would expire it before any bar could fill it, the exchange could
fill it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.model import OrderRequested, TimeInForce

__all__ = ["Expiries", "expiry_ns"]

_NS = 1_000_000_000


def expiry_ns(order: OrderRequested, now_ns: int) -> int | None:
    """Return when ``order`` expires (ns UTC), accepted at ``now_ns``; None: it does not."""
    if order.time_in_force is TimeInForce.GTD:
        return order.expire_time_ns
    if order.time_in_force is TimeInForce.DAY:
        day = datetime.fromtimestamp(now_ns // _NS, tz=UTC)
        midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight + timedelta(days=1)).timestamp()) * _NS
    return None


class Expiries:
    """The expiry of each working DAY/GTD order, and those being canceled for it."""

    def __init__(self) -> None:
        """Start with none."""
        self.at: dict[str, int] = {}  # engine order id -> expiry (ns UTC)
        self.expiring: set[str] = set()  # canceled for its expiry, not yet published
        self.held: set[str] = set()  # its expiry confirmed, held back for the next bar

    def start(self, order_id: str, expire_ns: int | None) -> None:
        """Hold ``order_id``'s expiry (None: a GTC, IOC or FOK order, nothing to hold)."""
        if expire_ns is not None:
            self.at[order_id] = expire_ns

    def due(self, now_ns: int) -> list[str]:
        """Return the orders whose expiry is at or before ``now_ns``, once each."""
        ids = [oid for oid, at in self.at.items() if at <= now_ns]
        for oid in ids:
            del self.at[oid]
            self.expiring.add(oid)
        return ids

    def hold(self, order_id: str) -> bool:
        """True the first time ``order_id``'s confirmed expiry cancel is seen: the venue then
        holds it back until the next bar (see the module), False when it is published."""
        if order_id in self.held:
            return False
        self.held.add(order_id)
        return True

    def end(self, order_id: str) -> None:
        """Forget ``order_id`` (it filled, was canceled or rejected)."""
        self.at.pop(order_id, None)
        self.expiring.discard(order_id)
        self.held.discard(order_id)
