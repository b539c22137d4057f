"""A stop's modification on a USDⓈ-M perpetual: cancel the algo order, then place a new one.

Binance USDⓈ-M cannot modify an algo order (a stop, a stop-limit: `engine.adapters.ccxt.
algo`) in place and has no cancel-replace, so the node does it in two requests, crash-safe,
on the pattern of its trailing stops' moves (`engine.runtime.live.trailing`).

In: the kernel's modification of a working stop on a perpetual (`engine.runtime.live.
modify.Modifications.send`, after the backtest's checks): the order's current exchange
order, the new terms (`OrderSpec`: the kernel's whole new quantity, the new prices; a stop
the last price is through already as its market or limit order, as a new stop is), and the
client id of ``"<order id>~<n>"`` (as spot's cancel-replace). Out: the order manager's
`Update`s — the old order's (fills, its cancel), then the new one's (accepted, fills;
rejected with why) — which `Modifications.outcome` turns into `OrderModified`,
`OrderModifyRejected` or `OrderCanceled`.

The steps (`stage`, then `finish`):

1. The new row is committed with status ``staged`` (written, not sent) and ``replaces`` =
   the old client id; while staged its quantity is the order's whole new quantity (what
   filled included), since what is left is only known once the old order is canceled.
2. The old order is canceled. A cancel that meets a fill is the exchange's truth: its fills
   are reported and, the order filled, the move ends there — the new row is rejected
   ("the order filled before ...") and the kernel hears the fill, then `OrderModifyRejected`
   (the backtest's answer to a modification of a filled order). A cancel whose outcome is
   unknown (timeout, 5xx) is looked up; the old order still open, the row stays staged and
   the move is tried again at the next poll (`OrderManager.refresh`): never two stops.
3. The row takes what is left — its quantity less every fill of the order's exchange
   orders (a partial fill racing the cancel included) — and ``sending``, committed, then
   the new algo order is sent under its client id, ``reduceOnly`` when it closes (part of)
   the exchange's position and is no larger than it (the venue's rule, as
   `engine.runtime.live.triggered.respec`). Its answer is any new order's: accepted;
   refused (`OrderCanceled` with why: the old one is gone); unknown (looked up by client
   id, UNKNOWN until found); refused as already triggered (-2021): sent as its market or
   limit order (`engine.runtime.live.triggered`). Not found once it can no longer arrive
   (``settle_ms`` after it was written, past the request's ``recvWindow``), it was never
   placed: it is staged again under a client id derived from the lost one (`resend`) and
   sent, never rejected — the old order is gone, so the stop must be placed (the position
   has no stop from the cancel until then).

A crash anywhere leaves the store saying what to do: a ``staged`` row (before or during 2.,
or between 2. and 3.) is finished by the next look at it — a restart's `restore`, or
`OrderManager.refresh_open` / `refresh` of a fresh manager — canceling the old order again
is a no-op once it ended, and the new order is sent once; a ``sending`` row (during 3.) is
looked up by client id as every order's. A cancel of the order while its move is staged
abandons the move (the row is rejected, the old order canceled), and so does the kill
switch: a staged row is never sent after it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from engine.adapters.ccxt.contract import Action
from engine.adapters.ccxt.venue import ExchangeOrder, OrderCallFailed, OrderSpec
from engine.runtime.live.ledger import LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.pairs import pair_left
from engine.runtime.live.updates import Update

__all__ = ["abandon", "finish", "resend", "stage"]

_NOT_ENDED = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED, LiveStatus.UNKNOWN,
                LiveStatus.SENDING)  # fmt: skip


class MoveHost(Protocol):
    """What these functions use of `engine.runtime.live.orders.OrderManager`."""

    ledger: LiveLedger
    exchange: Any

    def now_ms(self) -> int:
        """The wall clock in ms."""
        ...

    def _record(
        self, client_id: str, order_id: str, strategy_id: str, spec: OrderSpec
    ) -> LiveOrder: ...

    def _check_halted(self) -> None: ...

    def _stop(self, failed: OrderCallFailed) -> None: ...

    def _adopt(self, record: LiveOrder, answer: ExchangeOrder) -> list[Update]: ...

    def _look_up(self, record: LiveOrder, patient: bool = True) -> list[Update]: ...

    def _create_failed(self, records: list[LiveOrder], failed: OrderCallFailed) -> list[Update]: ...

    def _instead(
        self, refused: LiveOrder, spec: OrderSpec, reason: str, replaces: str | None
    ) -> list[Update]: ...

    def cancel_record(self, record: LiveOrder) -> list[Update]: ...


def stage(manager: MoveHost, old: LiveOrder, spec: OrderSpec, client_id: str) -> list[Update]:
    """Move the open stop ``old`` to ``spec`` (the order's whole new quantity) under
    ``client_id``: the row committed ``staged``, then `finish` (see the module). A row
    already under ``client_id`` is finished or read, never sent twice."""
    known = manager.ledger.get(client_id)
    if known is not None:
        return finish(manager, known) if known.status is LiveStatus.STAGED else []
    manager._check_halted()
    old = manager.ledger.get(old.client_id) or old
    record = manager._record(client_id, old.order_id, old.strategy_id, spec)
    # an exit that went out reduce-only stays so (``live_orders.reduce_only``): moved after
    # another order closed its position, it must not open the other side when it triggers
    staged = record.but(status=LiveStatus.STAGED, replaces=old.client_id, list_id=old.list_id,
                        reduce_only=record.reduce_only or old.reduce_only)  # fmt: skip
    manager.ledger.insert_many([staged])  # 1. committed before anything is sent
    return finish(manager, staged)


def finish(manager: MoveHost, staged: LiveOrder) -> list[Update]:
    """Carry the staged move ``staged`` on from where it stands: cancel its old order (a
    no-op once ended), then send the new one for what is left (see the module)."""
    ledger = manager.ledger
    staged = ledger.get(staged.client_id) or staged
    if staged.status is not LiveStatus.STAGED:
        return []
    manager._check_halted()
    old = ledger.get(staged.replaces or "")
    updates: list[Update] = []
    if old is not None and not old.status.final:  # 2.
        updates += _cancel(manager, old)
        old = ledger.get(old.client_id) or old
        if old.status in _NOT_ENDED:
            return updates  # not canceled (yet): tried again at the next look
    if old is not None and old.status in (LiveStatus.FILLED, LiveStatus.EXPIRED,
                                          LiveStatus.REJECTED):  # fmt: skip
        why = f"modification refused: the order {old.status} before it could be moved"
        rejected = staged.but(status=LiveStatus.REJECTED, reason=why)
        ledger.save(rejected)
        return [*updates, Update("rejected", rejected)]
    leaves = _leaves(ledger, staged)
    if leaves <= 0:
        why = "modification refused: the order filled before it could be moved"
        rejected = staged.but(status=LiveStatus.REJECTED, reason=why)
        ledger.save(rejected)
        return [*updates, Update("rejected", rejected)]
    spec = _spec(manager, staged.but(quantity=leaves))
    record = staged.but(status=LiveStatus.SENDING, quantity=leaves, reduce_only=spec.reduce_only)
    ledger.save(record)  # 3. what is left, committed before the request leaves
    try:
        answer = manager.exchange.create(spec)
    except OrderCallFailed as failed:
        action = failed.verdict.action
        if action is Action.TRIGGERED and spec.stop_price is not None:
            reason = f"modification refused (the new order): {failed.verdict.detail}"
            return [*updates, *manager._instead(record, spec, reason, record.replaces)]
        if action is Action.REJECT:
            why = f"modification refused (the new order): {failed.verdict.detail}"
            rejected = record.but(status=LiveStatus.REJECTED, reason=why)
            ledger.save(rejected)
            return [*updates, Update("rejected", rejected)]
        return [*updates, *manager._create_failed([record], failed)]
    return [*updates, *manager._adopt(record, answer)]


def resend(manager: MoveHost, lost: LiveOrder, reason: str) -> list[Update]:
    """Send again the new order ``lost`` of a move, never placed (``reason``): the lost
    row rejected and its successor staged (``replaces`` the same old order, under a client
    id derived from the lost one) in one transaction, then `finish` sends it."""
    ledger = manager.ledger
    digest = hashlib.sha256(f"{ledger.account}\x00resend\x00{lost.client_id}".encode())
    client_id = f"kst-{digest.hexdigest()[:20]}"
    if ledger.get(client_id) is None:
        filled = sum(o.filled_quantity for o in ledger.orders(order_id=lost.order_id))
        now = manager.now_ms()  # its own settle_ms counts from here
        again = lost.but(client_id=client_id, status=LiveStatus.STAGED, reason="",
                         quantity=round(lost.quantity + filled, 12), exchange_order_id=None,
                         ts_created=now, ts_last=now)  # fmt: skip
        ledger.insert_many([again], ended=[lost.but(status=LiveStatus.REJECTED, reason=reason)])
    return finish(manager, ledger.get(client_id) or lost)


def abandon(manager: MoveHost, staged: LiveOrder) -> list[Update]:
    """Give up the staged move ``staged`` (the order is canceled, or the kill switch runs):
    the row is rejected, never sent, and the old order canceled; return the old one's
    updates (its fills, its cancel)."""
    why = "its modification was abandoned: the order was canceled"
    manager.ledger.save(staged.but(status=LiveStatus.REJECTED, reason=why))
    old = manager.ledger.get(staged.replaces or "")
    return manager.cancel_record(old) if old is not None else []


def _cancel(manager: MoveHost, old: LiveOrder) -> list[Update]:
    """Cancel ``old``; its fills and end, or (the answer unknown) its state looked up."""
    if old.status in (LiveStatus.UNKNOWN, LiveStatus.SENDING):
        updates = manager._look_up(old)
        old = manager.ledger.get(old.client_id) or old
        if old.status not in (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED):
            return updates
    else:
        updates = []
    try:
        answer = manager.exchange.cancel(old.client_id, old.symbol)
    except OrderCallFailed as failed:
        if failed.verdict.action in (Action.HALT, Action.STOP, Action.RESYNC):
            manager._stop(failed)
        return [*updates, *manager._look_up(old)]  # filled meanwhile, or not canceled
    return [*updates, *manager._adopt(old, answer)]


def _leaves(ledger: LiveLedger, staged: LiveOrder) -> float:
    """Return what the order has left to fill: ``staged``'s whole quantity less the fills
    of every exchange order of the order (a modification's earlier ones, a stand-in's)."""
    filled = sum(o.filled_quantity for o in ledger.orders(order_id=staged.order_id))
    leaves = round(staged.quantity - filled, 12)
    if staged.list_id:  # a leg of a pair: never more than what is left of the pair
        leaves = min(leaves, pair_left(ledger, staged.list_id))
    return leaves if leaves > staged.quantity * 1e-9 else 0.0


def _spec(manager: MoveHost, record: LiveOrder) -> OrderSpec:
    """Return the new exchange order of ``record``: reduce-only when the old one went out
    so, or when it closes (part of) the exchange's position and is no larger than it (the
    venue's rule)."""
    held = manager.exchange.positions([record.symbol])[record.symbol].quantity
    closing = held != 0.0 and (held > 0) != (record.side == "buy")
    # a pair's leg is an exit, whatever the position: it must never open one (`.pairs`)
    reduce_only = record.reduce_only or bool(record.list_id)
    reduce_only = reduce_only or (closing and record.quantity <= abs(held) * (1 + 1e-9))
    return OrderSpec(record.client_id, record.symbol, record.side, record.order_type,
                     record.quantity, record.limit_price, record.time_in_force,
                     record.stop_price, reduce_only, expire_ns=record.expire_ns)  # fmt: skip
