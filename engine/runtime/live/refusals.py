"""The trace of what the live venue decides before sending: refused orders and cut ones.

In: an order the venue refuses before it reaches the order manager (a kind not sent, an
expiry already past, nothing to sell or to pay with, a cut below the exchange's minimums, an
OCO group it cannot pair) or one it cut to what the wallet holds, and why. Out: its row in
``live_orders`` — a refused one ``rejected`` with the reason, never sent (no exchange order
id), under the client id it would have been sent with; a cut one's reason (``cut from … to …
before sending: …``) on the row the manager wrote when it sent it.

Why (audit F5): the strategy heard `OrderRejected` and nothing else was kept — no row, no
log line — while a backtest's orders.csv and paper's events.jsonl keep every order; and a
restart numbered its next order after the last *stored* one, so a refused order's number
came back. The venue also gives each refusal, rejection and cut to its log
(`engine.runtime.live.venue.LiveVenue.notify`: ``events.jsonl``).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model import OrderRequested, OrderType
from engine.runtime.live.orders import OrderManager
from engine.runtime.live.rows import LiveOrder, LiveStatus
from engine.runtime.live.sendable import SENT_TIF

__all__ = ["note_cut", "record_refusal"]

_LIMITS = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def record_refusal(
    manager: OrderManager, order: OrderRequested, reason: str, expires: int | None
) -> None:
    """Store ``order`` as rejected with ``reason`` (never sent; see the module).

    ``expires``: a DAY or GTD order's expiry (ns), as its row would have held it.
    """
    client_id = manager.client_id(order.order_id)
    if manager.ledger.get(client_id) is not None:
        return  # written already (an order id is refused once)
    now = manager.now_ms()
    limit = order.order_type in _LIMITS
    manager.ledger.insert(
        LiveOrder(client_id=client_id, order_id=order.order_id, strategy_id=order.strategy_id,
                  symbol=order.symbol, side=str(order.side).lower(),
                  order_type="limit" if limit else "market", quantity=order.quantity,
                  limit_price=order.limit_price if limit else None,
                  time_in_force=SENT_TIF[order.time_in_force], status=LiveStatus.REJECTED,
                  ts_created=now, ts_last=now, reason=reason, stop_price=order.stop_price,
                  post_only=order.post_only, expire_ns=expires,
                  reduce_only=order.reduce_only)
    )  # fmt: skip


def note_cut(
    manager: OrderManager,
    notify: Callable[..., None],
    order: OrderRequested,
    sent: float,
    why: str,
) -> None:
    """Write why the venue cut ``order`` to ``sent`` on its exchange order's row (unless
    the row already says something: the exchange's refusal, say), and log it."""
    reason = f"cut from {order.quantity:.10g} to {sent:.10g} before sending: {why}"
    record = manager.current(order.order_id)
    if record is not None and not record.reason:
        manager.ledger.save(record.but(reason=reason))
    notify("order_cut", order_id=order.order_id, strategy_id=order.strategy_id,
           symbol=order.symbol, quantity=order.quantity, sent=sent, reason=reason)  # fmt: skip
