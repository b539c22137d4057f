"""The trace of what the live venue decides before sending: refused orders and cut ones,
and refused modifications.

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

A **modification** refused — by the node before sending (``order_modify_refused``), or by
the exchange (``order_modify_rejected``; ``canceled``: the exchange canceled the order on
refusing it) — is logged the same way and has a rejected row: a cancel-replace's refused new
order has one already (`engine.runtime.live.orders.OrderManager.replace`); otherwise
`trace_modification` writes one under the modification's next client id
(``"<order id>~<n>"``, so the next modification gets the one after), ``replaces`` = the
exchange order it was to modify, the terms asked and the reason after `MODIFY_NOT_MADE`.
Such a row is a trace only, never an exchange order: `engine.runtime.live.modify` does not
read it as a cancel-replace's refused half, and a later cancel of the order is a cancel.

Refusals before the venue — an order the risk engine denies (``order_denied``), a
modification the execution engine (the order is not working, or held for its parent) or
the risk engine refuses (``order_modify_denied``) — are logged only: the venue never saw
them, so there is no exchange order to trace (`note_denied`, `note_modify_denied`).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model import OrderDenied, OrderModifyRejected, OrderRequested, OrderType
from engine.runtime.live.orders import OrderManager
from engine.runtime.live.rows import LiveOrder, LiveStatus
from engine.runtime.live.sendable import SENT_TIF

__all__ = [
    "MODIFY_NOT_MADE",
    "note_cut",
    "note_denied",
    "note_modify_denied",
    "note_modify_rejected",
    "record_refusal",
    "trace_modification",
]

#: How a refused modification's row's reason begins: the row is a trace, never an exchange
#: order (`engine.runtime.live.modify` tells it from a cancel-replace's refused new order).
MODIFY_NOT_MADE = "modification not made: "

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


def trace_modification(
    manager: OrderManager,
    notify: Callable[..., None],
    order_id: str,
    order: OrderRequested | None,
    asked: tuple[float | None, float | None, float | None],
    reason: str,
    canceled: bool | None = None,
) -> None:
    """Store a refused modification of ``order_id`` (the kernel's ``order``; None: not
    known, nothing stored) as a rejected row and log it (see the module).

    ``asked``: the new quantity, limit and stop price (None: unchanged); ``canceled``:
    None when the node refused it (``order_modify_refused``), else whether the exchange,
    refusing it, canceled the order (``order_modify_rejected``).
    """
    quantity, limit, stop = asked
    client_id = None
    if order is not None:
        limits = order.order_type in _LIMITS
        quantity = order.quantity if quantity is None else quantity
        limit = (order.limit_price if limit is None else limit) if limits else None
        stop = order.stop_price if stop is None else stop
        current = manager.current(order_id)
        client_id = manager.link_id(order_id)
        now = manager.now_ms()
        manager.ledger.insert(
            LiveOrder(client_id=client_id, order_id=order_id, strategy_id=order.strategy_id,
                      symbol=order.symbol, side=str(order.side).lower(),
                      order_type="limit" if limits else "market", quantity=quantity,
                      limit_price=limit, time_in_force=SENT_TIF[order.time_in_force],
                      status=LiveStatus.REJECTED, ts_created=now, ts_last=now,
                      reason=MODIFY_NOT_MADE + reason, stop_price=stop,
                      post_only=order.post_only, reduce_only=order.reduce_only,
                      replaces=current.client_id if current else manager.client_id(order_id))
        )  # fmt: skip
    kind = "order_modify_refused" if canceled is None else "order_modify_rejected"
    more = {} if canceled is None else {"canceled": canceled}
    notify(kind, order_id=order_id, strategy_id=order.strategy_id if order else "",
           symbol=order.symbol if order else "", client_id=client_id, quantity=quantity,
           limit_price=limit, stop_price=stop, reason=reason, **more)  # fmt: skip


def note_modify_rejected(
    notify: Callable[..., None], order: OrderRequested, row: LiveOrder, canceled: bool
) -> None:
    """Log the refused new order ``row`` of a cancel-replace of ``order`` (its row is the
    manager's); ``canceled``: the exchange canceled the old order on refusing the new."""
    notify("order_modify_rejected", order_id=order.order_id, strategy_id=order.strategy_id,
           symbol=order.symbol, client_id=row.client_id, quantity=row.quantity,
           limit_price=row.limit_price, stop_price=row.stop_price, reason=row.reason,
           canceled=canceled)  # fmt: skip


def note_denied(notify: Callable[..., None], event: OrderDenied) -> None:
    """Log an order the risk engine denied before it reached the venue."""
    notify("order_denied", order_id=event.order_id, strategy_id=event.strategy_id,
           symbol=event.symbol, check=event.check, reason=event.reason)  # fmt: skip


def note_modify_denied(notify: Callable[..., None], event: OrderModifyRejected) -> None:
    """Log a modification refused before the venue (by the execution or risk engine)."""
    notify("order_modify_denied", order_id=event.order_id, strategy_id=event.strategy_id,
           symbol=event.symbol, reason=event.reason)  # fmt: skip
