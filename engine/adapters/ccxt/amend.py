"""What the ccxt venue sends to modify a perpetual's resting limit in place, and its refusals.

In: the order's exchange id and client id, its new terms (an `OrderSpec`: side, the whole
new quantity, the new price). Out: ccxt's ``edit_order`` arguments, and `AmendRefused`
when Binance answered that the order stays as it was (or was canceled by the amendment).

Binance USDⓈ-M modifies a resting LIMIT order in place with ``PUT /fapi/v1/order``
(``symbol``, ``side``, ``quantity``, ``price``; ``orderId`` or ``origClientOrderId``, the
``orderId`` prevailing): the order keeps its ``orderId`` and ``clientOrderId``. ccxt 4.5.90's
binance ``edit_order`` sends it for a swap market (``edit_contract_order``: ``orderId`` is
the ``id`` argument, ccxt sends the string ``None`` without one, so the exchange id is
always given; ``origClientOrderId`` is taken from ``params``). Its refusals (Binance's
"Order Execution Issues"), which leave the order as it was unless said otherwise:

* -2013 "Order does not exist." (ccxt ``OrderNotFound``): unknown, or no longer open.
* -5025 "Only limit order is supported.", -5026 (too many modifications), -5027 "No need
  to modify the order." (ccxt ``OperationRejected``, which the error contract would treat
  as "any other error" and stop the node on), -1013 filters (``InvalidOrder``), -2022
  reduce-only, -2019 margin.
* -5022 (ccxt ``OrderNotFillable``): a GTX (post-only) order whose new price would take;
  Binance cancels the order.

These are business outcomes of a modification, translated here (`guarded_amend`) into
`AmendRefused` carrying Binance's words, for the order manager to resolve by looking the
order up (`engine.runtime.live.amend`). Timeouts, 5xx and network errors are not caught:
the contract makes them UNKNOWN, and the manager looks the order up before anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["AmendRefused", "amend_call", "guarded_amend"]

T = TypeVar("T")


class AmendRefused(Exception):  # noqa: N818 - a carrier, not an error kind
    """Binance refused to modify an order in place; ``reason`` is its answer."""

    def __init__(self, reason: str) -> None:
        """``reason``: the ccxt error's class and Binance's message, on one line."""
        super().__init__(reason)
        self.reason = reason


def guarded_amend(call: Callable[[], T]) -> T:
    """Return ``call()``; raise `AmendRefused` for Binance's refusals of a modification."""
    import ccxt

    refusals = (ccxt.InvalidOrder, ccxt.OperationRejected, ccxt.BadRequest,
                ccxt.InsufficientFunds)  # fmt: skip
    try:
        return call()
    except refusals as exc:  # OrderNotFound, OrderNotFillable are InvalidOrders
        detail = " ".join(str(exc).split())[:300]
        raise AmendRefused(f"{type(exc).__name__}: {detail}") from None


def amend_call(venue: Any, exchange_order_id: str, client_id: str, spec: Any) -> Callable[[], Any]:
    """Return the guarded ``edit_order`` call of ``venue`` (a `CcxtExchange`) that modifies
    order ``exchange_order_id`` (client id ``client_id``) to ``spec``'s quantity and price."""
    market = venue.market_symbol(spec.symbol)
    params = {"origClientOrderId": client_id}

    def edit() -> Any:
        side, quantity, price = spec.side, spec.quantity, spec.price
        return venue.exchange.edit_order(exchange_order_id, market, "limit", side, quantity,
                                         price, params)  # fmt: skip

    return lambda: guarded_amend(edit)
