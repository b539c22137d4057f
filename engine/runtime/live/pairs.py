"""One-cancels-other pairs on USDⓈ-M perpetuals: two reduce-only exits the node pairs.

Binance USDⓈ-M has no order list. A pair (a bracket's exits, or a stop and a limit in one
``oco_group``: `engine.runtime.live.groups`) goes as two orders: the stop as an algo order
(`engine.adapters.ccxt.algo`), then the take-profit as a plain limit, both ``reduceOnly``
(each closes the position, the venue's rule), sent by `engine.adapters.ccxt.algo.
AlgoExchange.create_oco`. Their rows carry a ``list_id`` (the manager's deterministic id
of the stop's order id, as spot's lists) committed before either is sent, so the pairing
survives a crash; every later exchange order of a leg (a moved stop, a stop's stand-in)
carries it too.

In: a leg's row brought to the exchange's state (`OrderManager._adopt`: a poll, a stream
report, a restart's refresh of the open orders). Out: the `Update`s of what the node did to
the pair (`settle_pair`). The node does what the backtest does to a group
(`engine.execution.broker`: a fill of one member reduces the others by its quantity):

* **What is left** of the pair is the legs' quantity (the original rows' — the stop's is
  never re-sized) less everything any exchange order of either leg filled.
* **Nothing left** (a leg filled it all): every other exchange order of the pair still
  open is cancelled at the exchange and reported ``expired`` — the kernel hears
  ``OrderCanceled("oco: the other leg filled")``, as the backtest cancels it; a staged
  move of a stop is abandoned (never sent).
* **Some left** (a partial fill): each open exchange order larger than what is left is
  reduced to it — the take-profit limit in place (``PUT /fapi/v1/order``,
  `engine.runtime.live.amend`: its whole quantity becomes what it filled plus what is
  left), the stop (an algo order Binance cannot modify) by cancel and a new algo order for
  what is left (`engine.runtime.live.stopmove`, under the ``"<order id>~<n>"`` client id of
  a modification). The kernel hears `OrderModified` with the leg's new quantity, as the
  backtest publishes it. A leg whose modification is in flight (``amending``, a staged or
  unanswered move) is left until it settles: the next look reduces it if still needed
  (a stop's move is capped at what is left of its pair anyway: `stopmove`).
* A cancel of either leg cancels both (`cancel_legs`: Binance's rule for a list, kept).

Crash safety: each reduction commits its row before its request (``amending``, or the
staged row), and everything here is recomputed from the store and the exchange at every
look, so a restart finishes a half-done reduction (`restore` settles ``amending`` and
staged rows first; the next look reduces what still needs it) and never reduces twice.
Between a fill and the node's reduction the other leg is still live at its old size. Both
being reduce-only, a late fill of it is cut to what is left of the position, and none at
all once it is flat (the exchange rejects a triggered reduce-only stop, expires a
reduce-only limit): never a reverse position, never an exit larger than the position.
The local exchange enforces that (`engine.adapters.local.algo`,
`engine.adapters.local.futures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from engine.adapters.ccxt.venue import ExchangeOrder, OrderCallFailed, OrderSpec
from engine.runtime.live.ledger import LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.updates import Update

__all__ = ["cancel_legs", "node_managed", "pair_left", "settle_pair"]

_OPEN = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED)
_IN_FLIGHT = (LiveStatus.STAGED, LiveStatus.SENDING, LiveStatus.UNKNOWN)


class PairHost(Protocol):
    """What `settle_pair` uses of `engine.runtime.live.orders.OrderManager`."""

    ledger: LiveLedger
    exchange: Any
    settling: set[str]  # the pairs being settled now: a nested look leaves them alone

    def amend(
        self, record: LiveOrder, spec: OrderSpec, reduction: bool = False
    ) -> list[Update]: ...

    def move_stop(self, old: LiveOrder, spec: OrderSpec, client_id: str) -> list[Update]: ...

    def link_id(self, order_id: str) -> str: ...

    def _adopt(self, record: LiveOrder, answer: ExchangeOrder) -> list[Update]: ...

    def _look_up(self, record: LiveOrder, patient: bool = True) -> list[Update]: ...


def node_managed(exchange: Any, record: LiveOrder) -> bool:
    """True if ``record`` is a leg of a pair the node manages (a perpetual's)."""
    return bool(record.list_id) and exchange.perpetual(record.symbol)


def pair_rows(ledger: LiveLedger, list_id: str) -> list[LiveOrder]:
    """Return every exchange order of the pair ``list_id`` (both legs, every link)."""
    return ledger.orders(list_id=list_id)


def pair_left(ledger: LiveLedger, list_id: str) -> float:
    """Return what is left of the pair ``list_id``: its quantity less all its fills."""
    rows = pair_rows(ledger, list_id)
    first = [o.quantity for o in rows if not o.replaces and not o.triggered_from]
    quantity = max(first or [o.quantity for o in rows] or [0.0])
    left = round(quantity - sum(o.filled_quantity for o in rows), 12)
    return left if left > quantity * 1e-9 else 0.0


def settle_pair(host: PairHost, record: LiveOrder) -> list[Update]:
    """Bring the pair of ``record`` (a leg just brought to the exchange's state) to what
    is left of it: the others cancelled when nothing is, reduced to it otherwise."""
    list_id = record.list_id or ""
    if list_id in host.settling:
        return []  # a reduction's own answers: the outer look goes on with the pair
    host.settling.add(list_id)
    try:
        return _settle(host, list_id)
    finally:
        host.settling.discard(list_id)


def _settle(host: PairHost, list_id: str) -> list[Update]:
    ledger = host.ledger
    rows = pair_rows(ledger, list_id)
    if not any(o.filled_quantity > 0 for o in rows):
        return []  # nothing traded: nothing to do
    left = pair_left(ledger, list_id)
    if left <= 0:
        return _expire_rest(host, rows)
    updates: list[Update] = []
    busy = {o.order_id for o in rows if o.status in _IN_FLIGHT or o.amending}
    for row in rows:
        current = ledger.get(row.client_id) or row
        if current.status not in _OPEN or current.order_id in busy:
            continue
        if current.quantity - current.filled_quantity <= left * (1 + 1e-9):
            continue
        updates += _reduce(host, current, left)
    return updates


def _reduce(host: PairHost, row: LiveOrder, left: float) -> list[Update]:
    """Reduce the open leg ``row`` to ``left`` (see the module)."""
    if row.stop_price is None:  # the take-profit: in place, its whole quantity
        spec = OrderSpec(row.client_id, row.symbol, row.side, row.order_type,
                         round(row.filled_quantity + left, 12), row.limit_price,
                         row.time_in_force, None, True)  # fmt: skip
        done = host.amend(row, spec, reduction=True)
        # a refusal is the node's own business (the kernel asked nothing): the next look
        # tries again; fills and ends it brought are the exchange's truth (one whose outcome
        # was unknown, a restart's included, is settled silently: `.amend.settle`)
        return [u for u in done if u.kind != "amend_rejected"]
    ledger = host.ledger
    filled = sum(o.filled_quantity for o in ledger.orders(order_id=row.order_id))
    spec = OrderSpec(row.client_id, row.symbol, row.side, row.order_type,
                     round(filled + left, 12), row.limit_price, row.time_in_force,
                     row.stop_price, True, expire_ns=row.expire_ns)  # fmt: skip
    return host.move_stop(row, spec, host.link_id(row.order_id))


def _expire_rest(host: PairHost, rows: Sequence[LiveOrder]) -> list[Update]:
    """Cancel every exchange order of a pair with nothing left, as ``expired``."""
    ledger = host.ledger
    updates: list[Update] = []
    for row in rows:
        current = ledger.get(row.client_id) or row
        if current.status is LiveStatus.STAGED:  # a move never sent: never sent now
            why = "oco: the other leg filled before the move was sent"
            ledger.save(current.but(status=LiveStatus.REJECTED, reason=why))
            continue
        if current.status in (LiveStatus.SENDING, LiveStatus.UNKNOWN):
            updates += host._look_up(current)  # placed? then it is cancelled below
            current = ledger.get(row.client_id) or current
        if current.status not in _OPEN:
            continue
        try:
            answer = host.exchange.cancel(current.client_id, current.symbol)
        except OrderCallFailed:
            updates += host._look_up(current)  # it filled or ended meanwhile: the truth
            continue
        if answer.status == "canceled":
            answer = replace(answer, status="expired")
        updates += host._adopt(current, answer)
    return updates


def cancel_legs(
    exchange: Any, ledger: LiveLedger, legs: Sequence[LiveOrder]
) -> list[ExchangeOrder]:
    """Cancel each open leg (a staged move is abandoned: never sent); raise the first
    `OrderCallFailed` after trying them all."""
    answers: list[ExchangeOrder] = []
    failed: OrderCallFailed | None = None
    for leg in legs:
        leg = ledger.get(leg.client_id) or leg
        if leg.status is LiveStatus.STAGED:
            why = "its modification was abandoned: the order was canceled"
            ledger.save(leg.but(status=LiveStatus.REJECTED, reason=why))
            continue
        if leg.status.final:
            continue
        try:
            answers.append(exchange.cancel(leg.client_id, leg.symbol))
        except OrderCallFailed as exc:
            failed = failed or exc
    if failed is not None:
        raise failed
    return answers
