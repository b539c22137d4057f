"""What the ccxt venue sends for an order's terms: create, OCO and cancel-replace parameters.

In: an `engine.adapters.ccxt.venue.OrderSpec` (an `OcoSpec`; for a replace, the client id
of the order it replaces). Out: ccxt's arguments, and `ReplaceFailed` when Binance answered a
cancel-replace with one of its two failure codes.

Binance spot's cancel-replace (``POST /api/v3/order/cancelReplace``) is what ccxt 4.5.90's
binance ``edit_order`` sends for a spot market (its ``edit_spot_order``): with
``cancelReplaceMode = STOP_ON_FAILURE`` (ccxt sets it), ``cancelOrigClientOrderId`` (the old
order; ccxt then sends no ``cancelOrderId``), ``newClientOrderId`` (ccxt takes it from
``clientOrderId``), the new order's type (``postOnly`` -> LIMIT_MAKER; ``triggerPrice`` makes
a market a STOP_LOSS and a limit a STOP_LOSS_LIMIT, ``stopPrice`` on the wire), quantity,
price and time in force. Its answers:

* 200: both done. ccxt returns the new order (``newOrderResponse``).
* 400, -2022 "Order cancel-replace failed.": the cancel failed (the old order is not open
  any more: filled, canceled, unknown), the new order was NOT_ATTEMPTED.
* 409, -2021 "Order cancel-replace partially failed.": the old order was canceled, the new
  one refused (``newOrderResponse`` holds the refusal: funds, a LIMIT_MAKER that would take,
  a stop that would trigger at once).
* Before either half (bad parameters, filters): a plain error, as for a new order.

ccxt 4.5.90 maps spot -2021 and -2022 to ``BadResponse`` for Binance's own spot URLs (its
``exceptions['spot']``, looked up by URL) and to a plain ``ExchangeError`` elsewhere (the
local exchange's URL): either way the contract's "any other ccxt error", which stops the
node. They are business outcomes here, so `guarded` turns both into `ReplaceFailed`, which
says which half failed and why, for the order manager to resolve.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ReplaceFailed", "guarded", "oco_params", "order_params", "replace_params"]

T = TypeVar("T")


class ReplaceFailed(Exception):  # noqa: N818 - a carrier, not an error kind
    """Binance refused a cancel-replace: ``canceled`` says if the old order was canceled."""

    def __init__(self, canceled: bool, reason: str) -> None:
        """``reason``: the refusal of the half that failed, as Binance worded it."""
        super().__init__(reason)
        self.canceled = canceled
        self.reason = reason


def order_params(spec: Any) -> dict[str, Any]:
    """Return ccxt's ``params`` of ``spec`` for ``create_order`` (`CcxtExchange.create`)."""
    params: dict[str, Any] = {"clientOrderId": spec.client_id}
    if spec.post_only:
        params["postOnly"] = True
    elif spec.order_type == "limit":
        params["timeInForce"] = spec.tif if spec.tif in ("GTC", "IOC", "FOK") else "GTC"
    if spec.stop_price is not None:
        params["stopLossPrice"] = spec.stop_price
    if spec.reduce_only:
        params["reduceOnly"] = True
    return params


def oco_params(exchange: Any, market: Any, spec: Any) -> dict[str, Any]:
    """Return Binance's ``POST /api/v3/orderList/oco`` parameters of the OCO ``spec``
    (see `CcxtExchange.create_oco`): the take-profit a LIMIT_MAKER, the stop a STOP_LOSS
    (or STOP_LOSS_LIMIT with a price); a sell's take-profit is the above leg."""
    stop, target = spec.stop, spec.target
    stop_leg = {
        "Type": "STOP_LOSS_LIMIT" if stop.price is not None else "STOP_LOSS",
        "StopPrice": exchange.price_to_precision(stop.symbol, stop.stop_price),
        "ClientOrderId": stop.client_id,
    }
    if stop.price is not None:
        stop_leg["Price"] = exchange.price_to_precision(stop.symbol, stop.price)
        stop_leg["TimeInForce"] = "GTC"
    target_leg = {
        "Type": "LIMIT_MAKER",
        "Price": exchange.price_to_precision(target.symbol, target.price),
        "ClientOrderId": target.client_id,
    }
    above, below = (target_leg, stop_leg) if stop.side == "sell" else (stop_leg, target_leg)
    return {
        "symbol": market["id"],
        "side": stop.side.upper(),
        "quantity": exchange.amount_to_precision(stop.symbol, stop.quantity),
        "listClientOrderId": spec.list_id,
        "newOrderRespType": "FULL",
        **{f"above{key}": value for key, value in above.items()},
        **{f"below{key}": value for key, value in below.items()},
    }


def replace_params(old_client_id: str, spec: Any) -> dict[str, Any]:
    """Return ccxt's ``params`` of ``edit_order`` replacing ``old_client_id`` by ``spec``."""
    params = order_params(spec)
    params["cancelOrigClientOrderId"] = old_client_id
    stop = params.pop("stopLossPrice", None)
    if stop is not None:  # edit_spot_order reads triggerPrice, not stopLossPrice
        params["triggerPrice"] = stop
    return params


def guarded(call: Callable[[], T]) -> T:
    """Return ``call()``; raise `ReplaceFailed` for Binance's -2021 / -2022 answers."""
    import ccxt

    try:
        return call()
    except ccxt.ExchangeError as exc:  # BadResponse is one
        data = _failure(str(exc))
        if data is None:
            raise
        canceled = data.get("cancelResult") == "SUCCESS"
        half = data.get("newOrderResponse" if canceled else "cancelResponse") or {}
        reason = str(half.get("msg", "")) if isinstance(half, dict) else ""
        raise ReplaceFailed(canceled, reason or str(exc)) from None


def _failure(text: str) -> dict[str, Any] | None:
    """Return the ``data`` of a cancel-replace failure quoted in ccxt's message, if any."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(text[start:])
    except ValueError:
        return None
    data = body.get("data") if isinstance(body, dict) else None
    if body.get("code") in (-2021, -2022) and isinstance(data, dict):
        return data
    return None
