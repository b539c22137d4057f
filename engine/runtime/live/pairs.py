"""One-cancels-other pairs on USDⓈ-M perpetuals: two reduce-only exits the node pairs.

Binance USDⓈ-M has no order list. A pair (a bracket's exits, or a stop and a limit in one
``oco_group``: `engine.runtime.live.groups`) goes as two orders: the stop as an algo order
(`engine.adapters.ccxt.algo`), then the take-profit as a plain limit, both ``reduceOnly``
(each closes the position, the venue's rule), sent by `engine.adapters.ccxt.algo.
AlgoExchange.create_oco`. Their rows carry a ``list_id`` (the manager's deterministic id
of the stop's order id, as spot's lists) committed before either is sent, so the pairing
survives a crash. The node does what the exchange does for a spot list:

* once either leg has traded (`OrderManager._adopt` brings a fill), every other leg of
  its pair still open is cancelled at the exchange and reported ``expired`` — the kernel
  hears ``OrderCanceled("oco: the other leg filled")``, as with a spot list;
* this is checked whenever a leg is brought to the exchange's state — a poll, a stream
  report, a restart's refresh of the open orders — so a restarted node whose pair had one
  leg fill while it was down (or after the fill was recorded, before the cancel) cancels
  the other at its first look;
* a cancel of either leg cancels both (`cancel_legs`: Binance's rule for a list, kept).

Between a fill and the node's cancel the other leg is still live. Both being reduce-only,
a late fill of it is cut to what is left of the position, and none at all once it is flat
(the exchange rejects a triggered reduce-only stop, expires a reduce-only limit): never a
reverse position. The local exchange enforces that (`engine.adapters.local.algo`,
`engine.adapters.local.futures`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from engine.adapters.ccxt.venue import CcxtExchange, ExchangeOrder, OrderCallFailed
from engine.runtime.live.ledger import LiveLedger, LiveOrder

__all__ = ["cancel_legs", "expire_others", "node_managed", "other_legs_to_cancel"]

U = TypeVar("U")


def node_managed(exchange: CcxtExchange, record: LiveOrder) -> bool:
    """True if ``record`` is a leg of a pair the node manages (a perpetual's)."""
    return bool(record.list_id) and exchange.perpetual(record.symbol)


def other_legs_to_cancel(ledger: LiveLedger, legs: Sequence[LiveOrder]) -> list[LiveOrder]:
    """Return the legs of a pair still to cancel: all open ones once any leg traded."""
    current = [ledger.get(leg.client_id) or leg for leg in legs]
    if not any(leg.filled_quantity > 0 for leg in current):
        return []
    return [leg for leg in current if leg.filled_quantity == 0 and not leg.status.final]


def cancel_legs(exchange: CcxtExchange, legs: Sequence[LiveOrder]) -> list[ExchangeOrder]:
    """Cancel each open leg; raise the first `OrderCallFailed` after trying them all."""
    answers: list[ExchangeOrder] = []
    failed: OrderCallFailed | None = None
    for leg in legs:
        if leg.status.final:
            continue
        try:
            answers.append(exchange.cancel(leg.client_id, leg.symbol))
        except OrderCallFailed as exc:
            failed = failed or exc
    if failed is not None:
        raise failed
    return answers


def expire_others(
    exchange: CcxtExchange,
    ledger: LiveLedger,
    legs: Sequence[LiveOrder],
    adopt: Callable[[LiveOrder, ExchangeOrder], list[U]],
    look_up: Callable[[LiveOrder], list[U]],
) -> list[U]:
    """Cancel the open legs of a pair one of whose legs traded; ``adopt`` each answer as
    ``expired`` (the other leg filled), ``look_up`` a leg whose cancel failed."""
    updates: list[U] = []
    for leg in other_legs_to_cancel(ledger, legs):
        try:
            answer = exchange.cancel(leg.client_id, leg.symbol)
        except OrderCallFailed:
            updates += look_up(leg)  # it filled or ended meanwhile: the exchange's truth
            continue
        if answer.status == "canceled":
            answer = replace(answer, status="expired")
        updates += adopt(leg, answer)
    return updates
