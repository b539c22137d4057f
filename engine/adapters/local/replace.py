"""Cancel-replace on the local exchange: Binance spot's ``POST /api/v3/order/cancelReplace``.

In: the signed request's parameters. Out: Binance's answer, or its error with the halves in
``data``. What Binance does (its REST API docs, "Cancel an Existing Order and Send a New
Order"), and so this does, for ``cancelReplaceMode = STOP_ON_FAILURE`` (the only mode taken
here; ``ALLOW_FAILURE`` is answered -1102):

* The old order is named by ``cancelOrderId`` or ``cancelOrigClientOrderId``; the new one
  takes ``symbol``, ``side``, ``type``, ``quantity``, ``price``, ``stopPrice``,
  ``timeInForce`` and ``newClientOrderId`` as ``POST /api/v3/order`` does.
* The new order's parameters and filters are checked before either half (a bad one is a
  plain error, e.g. -1013, and nothing happens).
* The cancel: an order that does not exist or is no longer open fails it — HTTP 400, -2022
  "Order cancel-replace failed.", ``data``: ``cancelResult`` FAILURE, ``newOrderResult``
  NOT_ATTEMPTED, ``cancelResponse`` the cancel's error (-2011 "Unknown order sent."),
  ``newOrderResponse`` null. The old order is untouched.
* The new order is then placed as ``POST /order`` places one, with the old order's lock
  released: a refusal (a LIMIT_MAKER that would take, a stop that would trigger at once,
  funds, a duplicate client id: -2010) is HTTP 409, -2021 "Order cancel-replace partially
  failed.", ``cancelResult`` SUCCESS with the canceled order in ``cancelResponse``,
  ``newOrderResult`` FAILURE with the refusal in ``newOrderResponse``. The old order stays
  canceled.
* Both done: HTTP 200, ``{"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
  "cancelResponse": {...}, "newOrderResponse": {...}}``: the canceled order (with
  ``origClientOrderId``, and ``clientOrderId`` the cancel's own id,
  ``cancelNewClientOrderId`` or a generated one) and the new order as ``POST /order``
  answers it (``fills`` included). The user-data stream carries both execution reports.
"""

from __future__ import annotations

from typing import Any

from engine.adapters.local.venue import BinanceError, Order, Venue

__all__ = ["ENDPOINT", "cancel_replace"]

#: The signed endpoint (under ``/api/v3``) this module answers.
ENDPOINT = "order/cancelReplace"

_NEW_KEYS = ("symbol", "side", "type", "quantity", "price", "stopPrice", "timeInForce",
             "newClientOrderId", "reduceOnly")  # fmt: skip
_MATCHING = -2010  # the matching engine's refusals: only known when the order is placed


def cancel_replace(venue: Venue, params: dict[str, str]) -> dict[str, Any]:
    """Cancel the old order of ``params`` and place the new one (see the module)."""
    mode = params.get("cancelReplaceMode", "")
    if mode != "STOP_ON_FAILURE":
        raise BinanceError(
            400,
            -1102,
            "Mandatory parameter 'cancelReplaceMode' was not sent, was empty/null, or "
            "malformed (the local exchange takes STOP_ON_FAILURE only).",
        )
    new = {key: params[key] for key in _NEW_KEYS if key in params}
    try:
        venue.validate(new)
    except BinanceError as refused:
        if refused.code != _MATCHING:
            raise  # parameters, filters: refused before either half
    symbol = params.get("symbol", "")
    old_id, old_client = params.get("cancelOrderId"), params.get("cancelOrigClientOrderId")
    try:
        old = venue.cancel(symbol, old_id, old_client)
    except BinanceError as failed:
        data = {
            "cancelResult": "FAILURE",
            "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": {"code": failed.code, "msg": failed.msg},
            "newOrderResponse": None,
        }
        raise BinanceError(400, -2022, "Order cancel-replace failed.", data) from None
    canceled = _canceled(venue, old, params.get("cancelNewClientOrderId"))
    try:
        order, asset, need = venue.validate(new)
    except BinanceError as refused:
        data = {
            "cancelResult": "SUCCESS",
            "newOrderResult": "FAILURE",
            "cancelResponse": canceled,
            "newOrderResponse": {"code": refused.code, "msg": refused.msg},
        }
        raise BinanceError(409, -2021, "Order cancel-replace partially failed.", data) from None
    venue.place(order, asset, need)
    if not order.waiting:
        venue.match_now(order)
    now = venue.replay.now_ms
    return {
        "cancelResult": "SUCCESS",
        "newOrderResult": "SUCCESS",
        "cancelResponse": canceled,
        "newOrderResponse": {**order.as_json(), "transactTime": now, "fills": order.fills},
    }


def _canceled(venue: Venue, old: Order, cancel_client_id: str | None) -> dict[str, Any]:
    """Return the cancel half's answer: the canceled order as ``DELETE /order`` shows it."""
    answer = old.as_json()
    answer.update(
        origClientOrderId=old.client_id,
        clientOrderId=cancel_client_id or f"local-cancel-{old.order_id}",
        transactTime=venue.replay.now_ms,
    )
    return answer
