"""The live order manager: every order sent once, recorded first, and known to the end.

In: order commands of the node (submit, cancel) and polls; the ccxt venue
(`engine.adapters.ccxt.venue.CcxtExchange`); the account's ledger in the run store
(`engine.runtime.live.ledger`). Out: `Update`s (accepted, filled, canceled, rejected,
expired) for the node to publish as order events, in the order they happened.

The rules (issue 15; the error contract is `engine.adapters.ccxt.contract`):

* Client order ids are deterministic: ``kst-`` + 20 hex digits of SHA-256 over the account
  (its name and the random nonce stored with it: no other store's account of that name
  sends the same ids), the node's session (its start number, `LiveLedger.begin_session`)
  and the engine's order id (`engine.runtime.live.clientids`). The same order asked twice
  in a session finds its row and is never sent twice; a restarted node continues its
  strategy's order numbers after the last stored one (`engine.runtime.live.restore`) and
  the session keeps its ids apart from the last run's besides; orders it took over from an
  earlier session are cancelled by their stored client id (``adopted``).
* The row is committed (status ``sending``) *before* the request leaves.
* A timeout, a network error, a 5xx, -1006 or -1007 on create leaves the order UNKNOWN. It
  is then looked up by client id with backoff (``lookup`` policy); found, it is adopted with
  whatever fills it had. Never "rejected" and never re-sent while it may exist.
* "Duplicate order sent" (-2010 as ccxt's InvalidOrder) on create: the id is known to the
  exchange, so the order is looked up the same way. An order found under a row's client id
  is adopted only with the row's symbol, side and quantity; another one is not the node's:
  the row is rejected with what the exchange holds (`clientids.not_the_order`).
* "Order not found" while looking up is not an answer: the exchange briefly forgets new
  orders, so the look-up goes on with backoff. An UNKNOWN order still not found once the
  request's ``recvWindow`` has long passed (``settle_ms`` after it was written) can no
  longer be accepted by the exchange, so it is rejected as never placed; until then it
  stays UNKNOWN and new orders are refused ("outcome unknown") rather than sent.
* Cancel/fill races end in the exchange's truth: a cancel answered "unknown order" (it
  filled meanwhile) or with a partial fill reports the order's fills, then its end.
* Fills come from the exchange's trades of the order (``myTrades`` with its order id, or the
  trades the user-data stream carried: `OrderManager.apply`), each reported once (the ledger
  keys them by trade id, whichever path saw it first).
* An OCO pair (`submit_oco`) is one exchange order list, its client id derived from the
  stop leg's order id, both legs' rows (``list_id``) committed together before the request;
  a cancel of either leg cancels the list (`cancel_record`). On a perpetual (no order
  lists): two reduce-only orders the node pairs, a partial fill of one reducing the other
  to what is left (`engine.runtime.live.pairs`).
* A trailing stop's later links go under client ids its trailer stored beforehand
  (``submit(client_id=...)``, `engine.runtime.live.trailing`): a restart reads them back.
* A modification (`replace`) is Binance's cancel-replace of the order's current exchange
  order (its "link") by a new one, under a client id the venue derives from
  ``"<order id>~<n>"`` (`engine.runtime.live.modify`); the new row (``replaces`` = the old
  client id) is committed before the request. Refused with the old order canceled, or not
  canceled, it is rejected with why; an ambiguous answer leaves the new row UNKNOWN and
  both client ids are looked up (`settle_replace`): the new one found is the order, not
  found (past ``settle_ms``) it was never placed. A cancel reaches the current link.
* A stop the exchange refuses as already triggered (the contract's ``TRIGGERED``) is sent
  as its market (a stop-limit: limit) order under a client id derived from the refused
  one, committed with the refusal first (`engine.runtime.live.triggered`); never for a
  trailing stop's links (``submit(fallback=False)``: its trailer sends the next link).
* A perpetual's limit is modified in place (Binance USDⓈ-M's ``PUT /fapi/v1/order``), the
  new terms committed to its row first, an unknown answer settled by looking the order
  up (`engine.runtime.live.amend`); its stop is canceled, then placed anew (`move_stop`,
  the new row ``staged`` first: `engine.runtime.live.stopmove`).
* An IP ban, a second clock error or bad keys stop the manager: it records why
  (``halted``) and raises the contract's engine error; nothing is sent after that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from engine.adapters.ccxt.contract import Action, would_trigger
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.replace import ReplaceFailed
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    ExchangeOrder,
    ExchangeTrade,
    OcoSpec,
    OrderCallFailed,
    OrderSpec,
)
from engine.errors import ExchangeFatalError
from engine.runtime.live import amend as amend_rules
from engine.runtime.live import stopmove
from engine.runtime.live.clientids import client_order_id, not_the_order
from engine.runtime.live.ledger import LiveFill, LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.pairs import cancel_legs, node_managed, settle_pair
from engine.runtime.live.triggered import fallback_client_id, fallback_spec, respec, triggered
from engine.runtime.live.updates import Update

__all__ = ["OrderManager", "Update", "client_order_id"]

_OPEN = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED)
_STATUS = {"open": LiveStatus.OPEN, "closed": LiveStatus.FILLED, "canceled": LiveStatus.CANCELED,
           "cancelled": LiveStatus.CANCELED, "expired": LiveStatus.EXPIRED,
           "rejected": LiveStatus.REJECTED}  # fmt: skip


class OrderManager:
    """Send, track and cancel one account's orders (see the module docstring)."""

    def __init__(
        self,
        exchange: CcxtExchange,
        ledger: LiveLedger,
        lookup: RetryPolicy | None = None,
        now_ms: Callable[[], int] | None = None,
        settle_ms: int = 60_000,
        session: int = 0,
    ) -> None:
        """Trade through ``exchange``, remember in ``ledger``.

        Args:
            exchange: The ccxt venue.
            ledger: The account's orders and fills in the run store.
            lookup: Backoff of the look-ups by client id (default 6 tries from 0.25 s).
            now_ms: Wall clock in ms (when rows are written; what ``settle_ms`` counts on).
            settle_ms: How long after sending a never-found order counts as never placed:
                past the exchange's ``recvWindow`` (at most 60 s on Binance) a request
                that has not arrived is refused on arrival.
            session: The node's start number (part of the client ids; see the module).
        """
        self.exchange = exchange
        self.ledger = ledger
        self.lookup = lookup or RetryPolicy(attempts=6, backoff_s=0.25)
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.settle_ms = settle_ms
        self.session = session
        self.halted = ""
        # engine order id -> client id of orders of an earlier session this node took over
        # on a restart (`engine.runtime.live.restore`): a cancel must reach them
        self.adopted: dict[str, str] = {}
        self.settling: set[str] = set()  # pairs being settled (`.pairs.settle_pair`)

    def client_id(self, order_id: str) -> str:
        """Return the client id of engine order ``order_id`` in this session (the module)."""
        return client_order_id(self.ledger.account, order_id, self.session,
                               self.ledger.client_nonce())  # fmt: skip

    def submit(
        self,
        order_id: str,
        strategy_id: str,
        spec: OrderSpec,
        client_id: str | None = None,
        fallback: bool = True,
    ) -> list[Update]:
        """Send a new order (``spec.client_id`` is ignored: the id is derived here).

        Returns the updates the exchange's answer implies (accepted and fills, or rejected).
        An order already recorded under the same id is not sent again: its state is read.
        ``client_id``: the id to send it under instead of the derived one (a trailing
        stop's next link, named in the store before it is sent:
        `engine.runtime.live.trailing`). ``fallback``: a stop the exchange refuses as
        already triggered is sent as its market or limit order (see the module); False
        (a trailing stop's link): it is rejected.

        Raises:
            ExchangeError: The contract says stop (ban, keys, clock) — see ``halted``.
        """
        client_id = client_id or self.client_id(order_id)
        known = self.ledger.get(client_id)
        if known is not None:
            return self.refresh(known)
        record = self._record(client_id, order_id, strategy_id, spec)
        sent = replace(spec, client_id=client_id)  # every field, reduce_only too
        specs = [spec] if fallback else []
        return self._send([record], lambda: [self.exchange.create(sent)], specs)

    def submit_oco(
        self, strategy_id: str, stop: tuple[str, OrderSpec], target: tuple[str, OrderSpec]
    ) -> list[Update]:
        """Send a one-cancels-the-other pair as one exchange order list (Binance's OCO).

        ``stop`` and ``target`` are ``(engine order id, spec)`` of the two legs. Both rows
        are written (with the list's client id, derived from the stop's order id) in one
        transaction before the request leaves; the answer is applied leg by leg as
        `submit`'s. A pair already recorded is read, not sent again.
        """
        list_id = self.client_id(f"oco:{stop[0]}")
        legs = []
        for order_id, spec in (stop, target):
            client_id = self.client_id(order_id)
            record = self._record(client_id, order_id, strategy_id, spec).but(list_id=list_id)
            legs.append((record, replace(spec, client_id=client_id)))
        known = [self.ledger.get(record.client_id) for record, _ in legs]
        if any(k is not None for k in known):
            return [u for k in known if k is not None for u in self.refresh(k)]
        pair = OcoSpec(list_id, legs[0][1], legs[1][1])
        return self._send(
            [r for r, _ in legs], lambda: self.exchange.create_oco(pair), [s for _, s in legs]
        )

    def cancel(self, order_id: str) -> list[Update]:
        """Cancel engine order ``order_id``; return what happened (the exchange's truth)."""
        record = self.current(order_id)
        return [] if record is None else self.cancel_record(record)

    def current(self, order_id: str) -> LiveOrder | None:
        """Return engine order ``order_id``'s current exchange order: the first one, or the
        newest modification of it that was not rejected (`replace`)."""
        client_id = self.adopted.get(order_id) or self.client_id(order_id)
        record = self.ledger.get(client_id)
        if record is None:
            return None
        newer: dict[str, LiveOrder] = {}
        for later in self.ledger.orders(order_id=order_id):  # a modification's, a stand-in
            if later.status is not LiveStatus.REJECTED:
                for older in (later.replaces, later.triggered_from):
                    if older:
                        newer[older] = later
        while record.client_id in newer:
            record = newer[record.client_id]
        return record

    def replace(self, old: LiveOrder, spec: OrderSpec, client_id: str) -> list[Update]:
        """Replace the open order ``old`` by ``spec`` under ``client_id`` (cancel-replace).

        The new row (``replaces`` = ``old``'s client id) is committed before the request.
        Returns the old order's updates (fills, canceled) then the new one's (accepted,
        fills; rejected with why). A row already recorded under ``client_id`` is settled
        (`settle_replace`), never sent again.

        Raises:
            ExchangeError: The contract says stop (ban, keys, clock) — see ``halted``.
        """
        known = self.ledger.get(client_id)
        if known is not None:
            return self.settle_replace(known)
        self._check_halted()
        old = self.ledger.get(old.client_id) or old
        record = self._record(client_id, old.order_id, old.strategy_id, spec)
        record = record.but(replaces=old.client_id)
        self.ledger.insert_many([record])  # committed before the request leaves
        try:
            answer = self.exchange.cancel_replace(old.client_id, replace(spec, client_id=client_id))
        except ReplaceFailed as failed:
            half = "the new order" if failed.canceled else "the cancel of the old one"
            reason = f"modification refused ({half}): {failed.reason}"
            stop = spec.stop_price is not None
            if failed.canceled and stop and would_trigger(failed.reason):
                instead = self._instead(record, spec, reason, replaces=old.client_id)
                return [*self._look_up(old), *instead]
            rejected = record.but(status=LiveStatus.REJECTED, reason=reason)
            self.ledger.save(rejected)
            return [*self._look_up(old), Update("rejected", rejected)]
        except OrderCallFailed as failed:
            if failed.verdict.action is Action.REJECT:  # refused before either half
                rejected = record.but(status=LiveStatus.REJECTED, reason=failed.verdict.detail)
                self.ledger.save(rejected)
                return [Update("rejected", rejected)]
            if failed.verdict.action in (Action.HALT, Action.STOP, Action.RESYNC):
                self.ledger.save(record.but(status=LiveStatus.UNKNOWN))
                self._stop(failed)
            unknown = record.but(status=LiveStatus.UNKNOWN, reason=failed.verdict.detail)
            self.ledger.save(unknown)
            return self.settle_replace(unknown)
        return [*self._look_up(old), *self._adopt(record, answer)]

    def link_id(self, order_id: str) -> str:
        """Return the client id of ``order_id``'s next exchange order: ``"<order id>~<n>"``."""
        links = sum(1 for o in self.ledger.orders(order_id=order_id) if o.replaces)
        return self.client_id(f"{order_id}~{links + 1}")

    def amend(self, record: LiveOrder, spec: OrderSpec, reduction: bool = False) -> list[Update]:
        """Modify the open perpetual limit ``record`` in place to ``spec``'s whole quantity
        and price (``reduction``: a pair's own, `.pairs`); return its updates, then
        ``amended`` or ``amend_rejected`` (why) while it works (`.amend.send`).

        Raises:
            ExchangeError: The contract says stop (ban, keys, clock) — see ``halted``.
        """
        self._check_halted()
        return amend_rules.send(self, record, spec, reduction)

    def move_stop(self, old: LiveOrder, spec: OrderSpec, client_id: str) -> list[Update]:
        """Move the open perpetual stop ``old`` to ``spec`` (the order's whole new
        quantity) under ``client_id``: cancel, then a new order (`.stopmove.stage`)."""
        return stopmove.stage(self, old, spec, client_id)

    def settle_amend(self, record: LiveOrder) -> list[Update]:
        """Bring the modification in flight of ``record`` to the exchange's truth: the
        order looked up, its terms compared with the ones sent (`.amend.settle`)."""
        return amend_rules.settle(self, record)

    def settle_replace(self, record: LiveOrder) -> list[Update]:
        """Bring a modification's new order ``record`` and the order it replaces to the
        exchange's truth: both looked up by client id (see `replace`)."""
        old = self.ledger.get(record.replaces or "")
        updates = self._look_up(old) if old is not None and not old.status.final else []
        return [*updates, *self.refresh(self.ledger.get(record.client_id) or record)]

    def cancel_record(self, record: LiveOrder) -> list[Update]:
        """Cancel the recorded order ``record`` (of any session); return what happened.

        A leg of an order list cancels the list: both legs end (Binance cancels a list
        whichever leg is named), and both are brought to the exchange's answer.
        """
        record = self.ledger.get(record.client_id) or record  # a list's leg: maybe ended
        if record.status.final:
            return []
        self._check_halted()
        if record.status is LiveStatus.STAGED:  # a stop's move not sent: given up
            return stopmove.abandon(self, record)
        if record.status in (LiveStatus.UNKNOWN, LiveStatus.SENDING):
            updates = self._look_up(record)
            record = self.ledger.get(record.client_id) or record
            if record.status not in _OPEN:
                return updates
        else:
            updates = []
        legs = self._legs(record)
        try:
            if node_managed(self.exchange, record):  # a perpetual's pair: leg by leg
                answers = cancel_legs(self.exchange, self.ledger, legs)
            elif record.list_id:
                answers = self.exchange.cancel_list(record.list_id, record.symbol)
            else:
                answers = [self.exchange.cancel(record.client_id, record.symbol)]
        except OrderCallFailed as failed:
            if failed.verdict.action in (Action.HALT, Action.STOP, Action.RESYNC):
                self._stop(failed)
            # Unknown order (it filled meanwhile), a timeout, a network error: ask for the
            # truth instead of guessing.
            return [*updates, *(u for leg in legs for u in self._look_up(leg))]
        return [*updates, *self._adopt_all(legs, answers)]

    def refresh(self, record: LiveOrder) -> list[Update]:
        """Read ``record``'s state and new fills from the exchange; return the updates."""
        if record.status is LiveStatus.STAGED:  # a stop's move a crash or a failed cancel
            return stopmove.finish(self, record)  # left half done: carried on
        return [] if record.status.final else self._look_up(record)

    def refresh_open(self) -> list[Update]:
        """Refresh every order that is open, unknown or being sent."""
        updates: list[Update] = []
        for listed in self.working():
            record = self.ledger.get(listed.client_id) or listed  # a pair's leg: maybe ended
            if record.amending:
                updates += self.settle_amend(record)
            elif record.status is LiveStatus.STAGED:
                updates += self.refresh(record)
            elif not record.status.final:
                updates += self._look_up(record, patient=False)
        return updates

    def apply(self, answer: ExchangeOrder, trades: Sequence[ExchangeTrade] = ()) -> list[Update]:
        """Bring an order up to a report of the user-data stream; return the updates.

        ``answer`` is the order as the stream pushed it, ``trades`` the trades of it the
        stream carried. It goes the way of a REST answer (`_adopt`): fills keyed by trade
        id, so a trade also read over REST (a poll, a cancel's answer) counts once; when the
        carried trades do not add up to the order's filled quantity the rest is read over
        REST. An order the ledger does not hold as the node's (external, or not ours) is
        left to reconciliation; a report older than the ledger (fewer fills than recorded,
        or the order already final) changes nothing.
        """
        record = self.owns(answer)
        if record is None or record.status.final:
            return []
        if answer.filled + 1e-12 < record.filled_quantity:
            return []  # pushed before the state the ledger already has
        return self._adopt(record, answer, trades)

    def owns(self, answer: ExchangeOrder) -> LiveOrder | None:
        """Return the node's row of exchange order ``answer`` (by its client id), None if
        it has none: a row bound to another exchange order and of other terms is not it."""
        record = self.ledger.get(answer.client_id) if answer.client_id else None
        if record is None or record.origin != "node":
            return None
        bound = record.exchange_order_id in (None, answer.exchange_id)
        return record if bound or not not_the_order(record, answer, self.exchange) else None

    def resolve_unknown(self) -> list[Update]:
        """Look up every UNKNOWN (or never answered) order once more; return the updates."""
        updates: list[Update] = []
        for record in self.ledger.orders([LiveStatus.UNKNOWN, LiveStatus.SENDING]):
            updates += self._look_up(record, patient=False)
        return updates

    def working(self) -> list[LiveOrder]:
        """Return the orders that are open, whose outcome is not known yet, or staged."""
        return self.ledger.orders([*_OPEN, LiveStatus.UNKNOWN, LiveStatus.SENDING,
                                   LiveStatus.STAGED])  # fmt: skip

    def _record(
        self, client_id: str, order_id: str, strategy_id: str, spec: OrderSpec
    ) -> LiveOrder:
        now = self.now_ms()
        return LiveOrder(client_id=client_id, order_id=order_id, strategy_id=strategy_id,
                         symbol=spec.symbol, side=spec.side, order_type=spec.order_type,
                         quantity=spec.quantity, limit_price=spec.price,
                         stop_price=spec.stop_price, time_in_force=spec.tif,
                         post_only=spec.post_only, reduce_only=spec.reduce_only,
                         expire_ns=spec.expire_ns,
                         status=LiveStatus.SENDING, ts_created=now, ts_last=now)  # fmt: skip

    def _send(
        self,
        records: list[LiveOrder],
        create: Callable[[], list[ExchangeOrder]],
        specs: Sequence[OrderSpec] = (),
    ) -> list[Update]:
        """Record ``records`` (committed), then send them with ``create``; return updates.

        ``specs``: the records' specs, for a stop refused as already triggered to be sent
        as its market or limit order (`_triggered`); empty: such a stop is rejected.
        """
        self._check_halted()
        updates = self.resolve_unknown()
        pending = self.ledger.orders([LiveStatus.UNKNOWN, LiveStatus.SENDING])
        if pending:
            reason = f"order {pending[0].order_id}'s outcome at the exchange is still unknown"
            rejected = [r.but(status=LiveStatus.REJECTED, reason=reason) for r in records]
            self.ledger.insert_many(rejected)
            return [*updates, *(Update("rejected", r) for r in rejected)]
        self.ledger.insert_many(records)  # committed before the request leaves
        try:
            answers = create()
        except OrderCallFailed as failed:
            if failed.verdict.action is Action.TRIGGERED and specs:
                return [*updates, *triggered(self, records, specs, failed.verdict.detail)]
            return [*updates, *self._create_failed(records, failed)]
        return [*updates, *self._adopt_all(records, answers)]

    def _instead(
        self,
        refused: LiveOrder,
        spec: OrderSpec,
        reason: str,
        replaces: str | None,
        others: Sequence[LiveOrder] = (),
    ) -> list[Update]:
        """Send ``spec`` as its market or limit order in place of ``refused`` (a stop the
        exchange refused as triggered, or a stand-in never placed): the refused row, the
        ``others`` ended with it and the new row are committed together before the request.
        ``replaces``: the order a modification's refused stop was to replace."""
        sent = fallback_spec(spec)
        client_id = fallback_client_id(self.ledger.account, refused.client_id)
        instead = f"{reason} (sent as its {sent.order_type} order instead)"
        ended = refused.but(status=LiveStatus.REJECTED, reason=instead)
        paired = refused.list_id if self.exchange.perpetual(refused.symbol) else None
        # a perpetual pair's leg stays in its pair (`.pairs`)
        record = self._record(client_id, refused.order_id, refused.strategy_id, sent).but(
            replaces=replaces, triggered_from=refused.triggered_from or refused.client_id,
            list_id=paired)  # fmt: skip
        self.ledger.insert_many([record], ended=[ended, *others])  # before the request
        try:
            answer = self.exchange.create(replace(sent, client_id=client_id))
        except OrderCallFailed as failed:
            return self._create_failed([record], failed)
        return self._adopt_all([record], [answer])

    def _legs(self, record: LiveOrder) -> list[LiveOrder]:
        """Return ``record`` and, for a leg of an order list, the list's other legs."""
        if not record.list_id:
            return [record]
        same = record.list_id
        return [record, *(o for o in self.ledger.orders(list_id=same)
                          if o.client_id != record.client_id)]  # fmt: skip

    def _adopt_all(
        self, records: Sequence[LiveOrder], answers: Sequence[ExchangeOrder]
    ) -> list[Update]:
        """Bring each of ``records`` to its answer (by client id); look up those missing."""
        by_client = {a.client_id: a for a in answers}
        updates: list[Update] = []
        for record in records:
            answer = by_client.get(record.client_id)
            current = self.ledger.get(record.client_id) or record
            updates += self._adopt(current, answer) if answer else self._look_up(current)
        return updates

    def _check_halted(self) -> None:
        if self.halted:
            raise ExchangeFatalError(f"live trading is halted: {self.halted}")

    def _stop(self, failed: OrderCallFailed) -> None:
        error = failed.verdict.error(self.exchange.exchange_id, "an order call")
        self.halted = str(error)
        raise error from None

    def _create_failed(self, records: list[LiveOrder], failed: OrderCallFailed) -> list[Update]:
        action = failed.verdict.action
        if action in (Action.UNKNOWN, Action.RETRY, Action.LOOK_UP, Action.NOT_FOUND):
            unknown = [r.but(status=LiveStatus.UNKNOWN, reason=failed.verdict.detail)
                       for r in records]  # fmt: skip
            for record in unknown:
                self.ledger.save(record)
            return [u for record in unknown for u in self._look_up(record)]
        # Refused before it was processed: a 429 that outlasted the retries, a ban, a clock
        # error, bad keys, or a plain rejection (funds, filters). The order does not exist.
        rejected = [r.but(status=LiveStatus.REJECTED, reason=failed.verdict.detail)
                    for r in records]  # fmt: skip
        for record in rejected:
            self.ledger.save(record)
        if action in (Action.HALT, Action.STOP, Action.RESYNC):
            self._stop(failed)
        return [Update("rejected", r) for r in rejected]

    def _look_up(self, record: LiveOrder, patient: bool = True) -> list[Update]:
        """Find ``record`` at the exchange by client id (with backoff when ``patient``)."""
        attempts = self.lookup.attempts if patient else 1
        for attempt in range(attempts):
            try:
                answer = self.exchange.fetch(record.client_id, record.symbol)
            except OrderCallFailed as failed:
                if failed.verdict.action in (Action.HALT, Action.STOP, Action.RESYNC):
                    self._stop(failed)
                if attempt + 1 < attempts:
                    self.lookup.sleep(self.lookup.pause_s(attempt, None))
                continue
            return self._adopt(record, answer)
        return self._not_found(record)

    def _not_found(self, record: LiveOrder) -> list[Update]:
        """An order the exchange did not show: UNKNOWN until it cannot exist any more."""
        if record.status not in (LiveStatus.UNKNOWN, LiveStatus.SENDING):
            return []  # an acknowledged order is never "lost": try again at the next poll
        if self.now_ms() - record.ts_created < self.settle_ms:
            if record.status is LiveStatus.SENDING:
                self.ledger.save(record.but(status=LiveStatus.UNKNOWN))
            return []
        seconds = self.settle_ms / 1000
        reason = f"never placed: not found at the exchange {seconds:g} s after sending"
        if record.triggered_from:  # a refused stop's stand-in: sent again, never rejected
            return self._instead(record, respec(record, self.exchange), reason, record.replaces)
        if record.replaces and self.exchange.perpetual(record.symbol):  # a stop's move's
            return stopmove.resend(self, record, reason)  # new order: the old one is gone
        rejected = record.but(status=LiveStatus.REJECTED, reason=reason, ts_last=self.now_ms())
        self.ledger.save(rejected)
        return [Update("rejected", rejected)]

    def _adopt(
        self, record: LiveOrder, answer: ExchangeOrder, carried: Sequence[ExchangeTrade] = ()
    ) -> list[Update]:
        """Bring ``record`` to the exchange's ``answer``: accepted, fills, final state.

        ``carried``: trades of the order already in hand (the user-data stream's); REST's
        ``myTrades`` is read only when they do not cover ``answer.filled``.
        """
        updates: list[Update] = []
        if record.status in (LiveStatus.SENDING, LiveStatus.UNKNOWN):
            foreign = not_the_order(record, answer, self.exchange)
            if foreign:  # someone else's order under this client id: never the node's
                rejected = record.but(status=LiveStatus.REJECTED, reason=foreign)
                self.ledger.save(rejected)
                return [Update("rejected", rejected)]
            record = record.but(status=LiveStatus.OPEN, exchange_order_id=answer.exchange_id)
            self.ledger.save(record)
            updates.append(Update("accepted", record))
        known = self.ledger.fills(record.client_id)
        recorded = sum(f.quantity for f in known)
        if answer.filled > recorded + 1e-12:
            ids = {f.trade_id for f in known}
            trades = [t for t in carried if t.exchange_order_id == answer.exchange_id]
            covered = recorded + sum(t.quantity for t in trades if t.trade_id not in ids)
            if covered < answer.filled * (1 - 1e-9):
                trades = self.exchange.my_trades(
                    record.symbol, exchange_order_id=answer.exchange_id
                )
            fills = [
                LiveFill(
                    trade_id=t.trade_id,
                    client_id=record.client_id,
                    exchange_order_id=answer.exchange_id,
                    symbol=record.symbol,
                    side=record.side,
                    quantity=t.quantity,
                    price=t.price,
                    fee=t.fee,
                    fee_asset=t.fee_asset,
                    liquidity="maker" if t.maker else "taker",
                    ts_event=t.ts_ms,
                )
                for t in trades
                if t.exchange_order_id == answer.exchange_id
            ]
            for fill in self.ledger.add_fills(fills):
                recorded += fill.quantity
                updates.append(Update("filled", record.but(filled_quantity=recorded), fill))
        status = _STATUS.get(answer.status, record.status)
        if status is LiveStatus.OPEN and answer.filled > 0:
            status = LiveStatus.PARTIALLY_FILLED
        final = record.but(
            status=status,
            filled_quantity=answer.filled,
            average_price=answer.average,
            exchange_order_id=answer.exchange_id,
            ts_last=answer.ts_ms or record.ts_last,
        )
        if final != record:
            self.ledger.save(final)
        if status is not record.status and status in (
            LiveStatus.CANCELED,
            LiveStatus.EXPIRED,
            LiveStatus.REJECTED,
        ):
            updates.append(Update(str(status), final))
        if node_managed(self.exchange, final):  # a leg traded: the other reduced or canceled
            updates += settle_pair(self, final)
        return updates
