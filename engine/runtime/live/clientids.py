"""Client order ids, and whether an exchange order found under one is the row's order.

In: the account (its name and client-id nonce: `engine.runtime.live.ledger`), the node's
session and an engine order id; a recorded order and the exchange's answer found under its
client id. Out: the client id (`client_order_id`) and why the answer is not the recorded
order (`not_the_order`; "" when it is).

Ids: ``kst-`` + 20 hex digits of SHA-256 over the account's name, its nonce (a random number
drawn when the account was created and stored with it), the session and the order id.
The nonce keeps the ids of two stores apart that hold an account of the same name (audit
F3: a fresh store's session 1 sent the other store's ids); an account created before the
nonce existed (None) hashes name, session and order id, as before. Binance allows 36
characters of ``[.A-Za-z0-9:/_-]``: 24 here.

Adoption: an order found under a row's client id (a create answered "Duplicate order
sent", a look-up after a timeout, a stream report) is taken as the row's order only if it
has the row's symbol, side and quantity — the quantity as sent (ccxt truncates it to the
market's amount precision) or as recorded. Binance keeps a client id unique among *open*
orders only, so a closed order under the same id, or another program's order, must not be
adopted: the node would book someone else's fills (the audit recorded a buy of 1e-05 as
filled 0.0547 on a sell).
"""

from __future__ import annotations

import hashlib
import math

from engine.adapters.ccxt.venue import CcxtExchange, ExchangeOrder
from engine.runtime.live.rows import LiveOrder

__all__ = ["client_order_id", "not_the_order"]


def client_order_id(account: str, order_id: str, session: int = 0, nonce: int | None = None) -> str:
    """Return the client order id of engine order ``order_id`` in ``account``'s ``session``
    (``nonce``: the account's client-id nonce; None for an account without one)."""
    salt = f"{account}\x00{nonce:x}" if nonce else account
    digest = hashlib.sha256(f"{salt}\x00{session}\x00{order_id}".encode()).hexdigest()
    return f"kst-{digest[:20]}"


def _sent_quantity(exchange: CcxtExchange, symbol: str, quantity: float) -> float:
    """Return ``quantity`` as ccxt sends it (truncated to the amount precision), else itself."""
    import ccxt

    try:
        market = exchange.market_symbol(symbol)
        return float(exchange.exchange.amount_to_precision(market, quantity))
    except (ccxt.BaseError, KeyError, TypeError, ValueError):
        return quantity  # markets not loaded, or below the precision: compare as recorded


def not_the_order(record: LiveOrder, answer: ExchangeOrder, exchange: CcxtExchange) -> str:
    """Return why ``answer`` (found under ``record``'s client id) is not ``record``'s order
    ("" if it is: same symbol, side and quantity; see the module)."""
    sent = _sent_quantity(exchange, record.symbol, record.quantity)
    same_quantity = any(
        math.isclose(answer.quantity, q, rel_tol=1e-9, abs_tol=1e-12)
        for q in (sent, record.quantity)
    )
    if answer.symbol == record.symbol and answer.side == record.side and same_quantity:
        return ""
    return (
        f"the exchange holds client id {record.client_id} as another order: a {answer.side} of "
        f"{answer.quantity:.10g} {answer.symbol} ({answer.order_type}, exchange order "
        f"{answer.exchange_id}), not this {record.side} of {record.quantity:.10g} "
        f"({record.order_type}); not adopted, and this order was not placed"
    )
