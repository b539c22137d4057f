"""Live modifications on perpetuals: Binance USDⓈ-M's modify in place, crash-safe.

In: the kernel's modify of an order on a perpetual (`engine.runtime.live.venue.LiveVenue.
modify`, after the backtest's checks, `engine.execution.amend.amend_terms`). Out: the
order manager's ``amended`` / ``amend_rejected`` `Update`s (`OrderManager.amend`,
`OrderManager.settle_amend`), which the venue publishes as `OrderModified` /
`OrderModifyRejected`; fills and cancels as for any order.

What is sent: a resting LIMIT (post-only ones, GTX, too) is modified in place with
``PUT /fapi/v1/order`` (ccxt's ``edit_order``, `engine.adapters.ccxt.amend`): the order
keeps its ``orderId`` and client id and takes the whole new quantity (what filled
included: the kernel's new quantity) and price. What is not (refused with a reason, no
request): a trailing stop (the node moves it), a new quantity for a leg of a node-managed
OCO pair (its prices are modified: `engine.runtime.live.modify`), and a post-only limit
moved through the last price (the exchange would cancel it: the backtest keeps it resting,
as on spot). A stop or stop-limit, an algo order Binance cannot modify, is moved by cancel
and a new order instead (`engine.runtime.live.stopmove`).

Crash safety: there is no new order, so nothing new to look up — the order's own row
carries the modification in flight. Before the request leaves, the new terms and when
they were sent are committed to the row (``amending``, `Amending`); the row's quantity and
price stay the old ones until the exchange shows the new ones. The answers:

* Done (200): the row takes the exchange's quantity and price, ``amending`` is cleared:
  ``amended``. Fills the order had are read first, as for any answer.
* Refused (`AmendRefused`: -2013, -5025, -5027, filters, reduce-only, margin): ``amending``
  is cleared, the order is looked up (its fills, or how it ended) and the kernel hears
  ``amend_rejected`` with Binance's words while the order still works. -5022, a GTX moved
  through the book, Binance answers by canceling the order: found canceled, it is
  ``amend_canceled``, the reason saying so (the kernel hears `OrderCanceled` with it).
* Unknown (timeout, 5xx, network; or a crash between the commit and the answer): the row
  keeps ``amending`` and the order is looked up now, at every poll and on restart
  (`engine.runtime.live.restore`). The exchange showing the new terms means it was done
  (``amended``); the old terms, it may still arrive until ``settle_ms`` after it was sent
  (the request's ``recvWindow`` has long passed by then), then it never will: cleared,
  ``amend_rejected`` ("never applied") — except a pair's reduction (`.pairs`), which the
  kernel never asked for: cleared silently, the next look at the pair reduces the leg
  again. Never re-sent blindly: a second modification is
  refused while one is in flight. The order ended meanwhile (filled, canceled): cleared,
  its fills and end are the answer. Exactly one working order throughout: the same one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from engine.adapters.ccxt.amend import AmendRefused
from engine.adapters.ccxt.contract import Action
from engine.adapters.ccxt.venue import ExchangeOrder, OrderCallFailed, OrderSpec
from engine.runtime.live.ledger import LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.updates import Update


class AmendHost(Protocol):
    """What these functions use of `engine.runtime.live.orders.OrderManager`."""

    ledger: LiveLedger
    exchange: Any
    settle_ms: int

    def now_ms(self) -> int:
        """The wall clock in ms."""
        ...

    def refresh(self, record: LiveOrder) -> list[Update]:
        """Read ``record``'s state and fills."""
        ...

    def _stop(self, failed: OrderCallFailed) -> None: ...

    def _adopt(self, record: LiveOrder, answer: ExchangeOrder) -> list[Update]: ...

    def _look_up(self, record: LiveOrder) -> list[Update]: ...

    def settle_amend(self, record: LiveOrder) -> list[Update]: ...


__all__ = ["Amending", "amended", "refused", "send", "settle"]


@dataclass(frozen=True)
class Amending:
    """A perpetual's modification in flight: the whole new ``quantity`` and ``price``,
    ``sent_ms`` (the node's wall clock when it was written, before the request) and
    ``reduction`` (True: the node's own reduction of an OCO pair's leg, `.pairs`, which the
    kernel never asked for; its refusal is hidden from the kernel, see `settle`)."""

    quantity: float
    price: float
    sent_ms: int
    reduction: bool = False

    def dump(self) -> str:
        """Return the JSON stored in ``live_orders.amending``."""
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def load(text: str) -> Amending:
        """Return the modification stored as ``text`` (`dump`)."""
        raw = json.loads(text)
        reduction = bool(raw.get("reduction", False))  # rows written before it: the kernel's
        return Amending(float(raw["quantity"]), float(raw["price"]), int(raw["sent_ms"]), reduction)

    def shown_by(self, quantity: float, price: float | None) -> bool:
        """True if an order of ``quantity`` at ``price`` has these terms."""
        return (
            price is not None
            and math.isclose(quantity, self.quantity, rel_tol=1e-9, abs_tol=1e-12)
            and math.isclose(price, self.price, rel_tol=1e-9, abs_tol=1e-12)
        )


def settle(manager: AmendHost, record: LiveOrder) -> list[Update]:
    """Bring the modification in flight of ``record`` to the exchange's truth: the order
    looked up, its terms compared with the ones sent (see the module)."""
    record = manager.ledger.get(record.client_id) or record
    if not record.amending:
        return manager.refresh(record)
    pending = Amending.load(record.amending)
    try:
        answer = manager.exchange.fetch(record.client_id, record.symbol)
    except OrderCallFailed as failed:
        if failed.verdict.action in (Action.HALT, Action.STOP, Action.RESYNC):
            manager._stop(failed)
        return []  # an acknowledged order is never lost: look again at the next poll
    if pending.shown_by(answer.quantity, answer.price):
        return amended(manager, record, answer, pending)
    updates = manager._adopt(record, answer)
    current = manager.ledger.get(record.client_id) or record
    if current.status.final:
        manager.ledger.save(current.but(amending=None))
        return updates  # its fills and end are the answer
    if manager.now_ms() - pending.sent_ms < manager.settle_ms:
        return updates  # the request may still arrive
    cleared = current.but(amending=None)
    manager.ledger.save(cleared)
    if pending.reduction:  # the kernel asked nothing: the next look reduces the leg again
        return updates
    seconds = manager.settle_ms / 1000
    why = f"never applied: the exchange still shows the old terms {seconds:g} s after sending"
    # the update's row keeps the terms refused (``amending``: a restart lost the request)
    return [*updates, Update("amend_rejected", current.but(reason=why))]


def amended(
    manager: AmendHost, record: LiveOrder, answer: ExchangeOrder, pending: Amending
) -> list[Update]:
    """The exchange shows ``record`` with the terms of ``pending`` (or ended)."""
    updates = manager._adopt(record, answer)
    current = manager.ledger.get(record.client_id) or record
    if current.status.final:  # canceled by the amendment (quantity <= filled), or filled
        manager.ledger.save(current.but(amending=None))
        return updates
    current = current.but(quantity=answer.quantity, limit_price=answer.price, amending=None)
    manager.ledger.save(current)
    return [*updates, Update("amended", current)]


def refused(manager: AmendHost, record: LiveOrder, reason: str) -> list[Update]:
    """Binance refused the modification of ``record``: its truth, then why (see the module)."""
    pending = Amending.load(record.amending) if record.amending else None
    cleared = record.but(amending=None)
    manager.ledger.save(cleared)
    updates = manager._look_up(cleared)
    current = manager.ledger.get(record.client_id) or cleared
    if current.status.final:  # filled meanwhile, or canceled by the refusal
        canceled = [u for u in updates if u.kind == "canceled"]
        if not canceled or pending is None:
            return updates
        terms = f"its modification to {pending.quantity:g} at {pending.price:g}"
        taking = "OrderNotFillable" in reason  # -5022: a GTX moved through the book
        why = (f"canceled by the exchange: {terms} would take ({reason})" if taking
               else f"canceled by the exchange on refusing {terms} ({reason})")  # fmt: skip
        ended = current.but(reason=why)
        manager.ledger.save(ended)
        return [u for u in updates if u.kind != "canceled"] + [Update("amend_canceled", ended)]
    why = f"modification refused: {reason}"
    return [*updates, Update("amend_rejected", current.but(reason=why))]


def send(
    manager: AmendHost, record: LiveOrder, spec: OrderSpec, reduction: bool = False
) -> list[Update]:
    """Send the modification of the open perpetual limit ``record`` to ``spec``'s whole
    quantity and price, its terms committed first (see the module); return the updates.
    ``reduction``: the node's own reduction of a pair's leg (`Amending.reduction`)."""
    record = manager.ledger.get(record.client_id) or record
    updates: list[Update] = []
    if record.amending:  # the last one's outcome first: never two in flight
        updates = manager.settle_amend(record)
        record = manager.ledger.get(record.client_id) or record
        if record.amending:
            why = "an earlier modification's outcome at the exchange is still unknown"
            return [*updates, Update("amend_rejected", record.but(reason=why))]
    if record.status not in (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED) or spec.price is None:
        return updates
    pending = Amending(spec.quantity, spec.price, manager.now_ms(), reduction)
    record = record.but(amending=pending.dump())
    manager.ledger.save(record)  # committed before the request leaves
    try:
        answer = manager.exchange.amend(record.exchange_order_id or "", record.client_id, spec)
    except AmendRefused as refusal:
        return [*updates, *refused(manager, record, refusal.reason)]
    except OrderCallFailed as failed:
        action = failed.verdict.action
        if action is Action.REJECT:
            return [*updates, *refused(manager, record, failed.verdict.detail)]
        if action in (Action.HALT, Action.STOP, Action.RESYNC):
            manager._stop(failed)  # the row keeps ``amending``: a restart settles it
        return [*updates, *manager.settle_amend(record)]  # unknown: look, never re-send
    return [*updates, *amended(manager, record, answer, pending)]
