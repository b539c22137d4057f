"""Stops the exchange refuses as already triggered: sent as the order the backtest fills.

In: a stop (or stop-limit) exchange order the exchange refused because its own price is
already through the stop (`engine.adapters.ccxt.contract`'s ``Action.TRIGGERED``: Binance
spot -2010 "Stop price would trigger immediately.", USDⓈ-M algo orders -2021 "Order would
immediately trigger."), found by the order manager (`engine.runtime.live.orders`) on a
create, an OCO's stop leg or a cancel-replace's new order. Out: the row and spec of the
order sent instead — a stop-market as a market order, a stop-limit as its limit order —
which is what the backtest's broker does with such a stop: it triggers at the next bar's
open and fills there (a stop-limit: there, or it rests as a limit). The node's own check
(the last price it saw is through: `engine.runtime.live.venue`) sends the same orders; this
covers the stops only the exchange's newer price is through.

The order sent instead ("the fallback") gets a deterministic client id derived from the
refused one (`fallback_client_id`) and a row naming the refused stop (``triggered_from``),
committed before the request as every order's row. What a crash leaves:

* before the refusal is recorded (the answer came, the process died): the stop's row is
  ``sending``, looked up on restart, not found, and after ``settle_ms`` rejected as never
  placed — the node cannot tell a refusal from a request that never arrived (a difference
  the README lists).
* the refusal recorded: the refused row (REJECTED) and the fallback's row (``sending``) are
  written in one transaction (`LiveLedger.insert_many` with ``ended``) before the request,
  so a restart finds the fallback; sent or not, its answer lost, it is UNKNOWN and looked
  up by client id like any order's. Found, it is the order (accepted, its fills). Not
  found once it can no longer arrive (the manager's ``settle_ms``), it was never placed:
  it is sent again under the next derived id (a fallback of the fallback, the same
  ``triggered_from``), never rejected — so the kernel sees one order that triggered and
  filled, never a rejection followed by a fill, and the exchange holds one order.

The kernel sees the order of its own id: `OrderAccepted` (for a modification
`OrderModified`), for a stop-limit `OrderTriggered` (the backtest's event when a stop-limit's
stop is reached), then the fills. The refused exchange order is not published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from engine.adapters.ccxt.venue import CcxtExchange, OrderSpec
from engine.runtime.live.ledger import LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.updates import Update

__all__ = ["fallback_client_id", "fallback_spec", "respec", "split", "triggered"]

_ALONE = "oco: the stop was sent alone, the exchange's price is through it"


def fallback_client_id(account: str, refused_client_id: str) -> str:
    """Return the client id of the order sent in place of refused stop ``refused_client_id``.

    Derived from the refused id alone (not from the session), so a restarted node names the
    same order: 24 characters, as `engine.runtime.live.orders.client_order_id`'s.
    """
    digest = hashlib.sha256(f"{account}\x00triggered\x00{refused_client_id}".encode())
    return f"kst-{digest.hexdigest()[:20]}"


def fallback_spec(spec: OrderSpec) -> OrderSpec:
    """Return stop ``spec`` as the order it triggers into: its market or limit order."""
    return replace(spec, client_id="", stop_price=None)


def respec(record: LiveOrder, exchange: CcxtExchange) -> OrderSpec:
    """Return the spec of fallback ``record`` rebuilt from its row (a resend after it was
    never placed). ``reduce_only``: as the row went out (the stop's flag), or, for a row
    from before the store kept it (version 16), as the venue sets it on a perpetual
    (`engine.runtime.live.wallet.Wallet.reducing`): when the order closes (part of) the
    exchange's position and is no larger than it."""
    reduce_only = record.reduce_only
    if exchange.perpetual(record.symbol) and not reduce_only:
        held = exchange.positions([record.symbol])[record.symbol].quantity
        closing = held != 0.0 and (held > 0) != (record.side == "buy")
        reduce_only = closing and record.quantity <= abs(held) * (1 + 1e-9)
    return OrderSpec("", record.symbol, record.side, record.order_type, record.quantity,
                     record.limit_price, record.time_in_force, None, reduce_only,
                     expire_ns=record.expire_ns)  # fmt: skip


def split(
    records: Sequence[LiveOrder], specs: Sequence[OrderSpec]
) -> tuple[tuple[LiveOrder, OrderSpec] | None, list[LiveOrder]]:
    """Return the refused stop among ``records`` (with its spec; None unless exactly one is
    a stop) and the others, ended as EXPIRED: an OCO's other leg, never placed, which the
    backtest cancels when the stop fills ("oco: the other leg filled" to the kernel)."""
    stops = [(r, s) for r, s in zip(records, specs, strict=True) if s.stop_price is not None]
    if len(stops) != 1:
        return None, []
    refused = stops[0][0]
    others = [r.but(status=LiveStatus.EXPIRED, reason=_ALONE) for r in records if r is not refused]
    return stops[0], others


class InsteadHost(Protocol):
    """What `triggered` uses of `engine.runtime.live.orders.OrderManager`."""

    ledger: LiveLedger

    def _instead(
        self,
        refused: LiveOrder,
        spec: OrderSpec,
        reason: str,
        replaces: str | None,
        others: Sequence[LiveOrder] = (),
    ) -> list[Update]: ...


def triggered(
    manager: InsteadHost, records: list[LiveOrder], specs: Sequence[OrderSpec], reason: str
) -> list[Update]:
    """Send the stop among ``records`` refused as already triggered as its market or limit
    order (``manager._instead``); an OCO's other leg expires (`split`). Without exactly one
    stop among them it is a plain refusal: every row rejected with ``reason``."""
    stop, others = split(records, specs)
    if stop is None:  # nothing to trigger: a plain refusal
        rejected = [r.but(status=LiveStatus.REJECTED, reason=reason) for r in records]
        for record in rejected:
            manager.ledger.save(record)
        return [Update("rejected", r) for r in rejected]
    updates = manager._instead(*stop, reason, replaces=None, others=others)
    return [*updates, *(Update("expired", o) for o in others)]
