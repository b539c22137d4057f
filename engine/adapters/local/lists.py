"""Order lists on the local exchange: Binance spot's OCO (one-cancels-the-other).

Endpoints (signed, as Binance's): ``POST /api/v3/orderList/oco`` places a list of two legs,
``DELETE /api/v3/orderList`` cancels one, ``GET /api/v3/orderList`` reads one (by
``orderListId`` or ``origClientOrderId``: its ``listClientOrderId``) and
``GET /api/v3/openOrderList`` reads the lists still executing.

What Binance does, and so the local exchange does:

* ``POST orderList/oco`` takes ``symbol``, ``side``, ``quantity`` and per leg ``aboveType`` /
  ``belowType``, ``abovePrice`` / ``belowPrice``, ``aboveStopPrice`` / ``belowStopPrice``,
  ``aboveTimeInForce`` / ``belowTimeInForce`` and ``aboveClientOrderId`` /
  ``belowClientOrderId``, and the list's ``listClientOrderId``. A sell's above leg is a
  LIMIT_MAKER (or TAKE_PROFIT[_LIMIT]) and its below leg a STOP_LOSS[_LIMIT]; a buy the
  other way round (-1102 otherwise). The above leg's price must be above the below leg's
  (-2010 "The relationship of the prices for the orders is not correct."). Each leg is
  checked as a single order would be (filters, a stop that would trigger at once, a
  LIMIT_MAKER that would take: -2010), a client id an open order has or a list client id
  a list still executing has is -2010 "Duplicate order sent." (once the order or list is
  done its id may be used again; a look-up by it finds the newest). Both legs or neither
  are placed.
* The list locks its funds once (a sell: ``quantity`` of the base asset).
* The answer is the list: ``orderListId`` (counted from 0), ``contingencyType`` ``OCO``,
  ``listStatusType`` / ``listOrderStatus``, ``listClientOrderId``, ``orders`` (symbol,
  ``orderId``, ``clientOrderId``) and ``orderReports`` (each leg as GET /order shows it,
  with ``orderListId``), below leg first.
* Legs match as single orders do (`engine.adapters.local.venue`). When a leg trades (also
  partly), the other leg EXPIRES at once: on one bar that reaches both legs the first leg
  checked fills — the below leg (a sell's stop) is checked first at a bar's close, the
  pessimistic ``bracket_conflict = "stop_first"`` of the backtest; a bar opening beyond a
  leg fills that leg at the open, before the bar's range is known.
* Canceling a leg (``DELETE /order``) or the list cancels both legs. The user-data stream
  carries each leg's ``executionReport`` (``g`` = ``orderListId``) and a ``listStatus``
  event when the list is placed and when it is canceled.
"""

from __future__ import annotations

from typing import Any

from engine.adapters.local.venue import BinanceError, Order, OrderList, Venue

__all__ = [
    "ENDPOINTS",
    "cancel_list",
    "create_oco",
    "find_list",
    "list_json",
    "open_lists",
    "private",
]

#: The signed endpoints (under ``/api/v3``) this module answers.
ENDPOINTS = ("orderList/oco", "orderList", "openOrderList")

_ABOVE = {"SELL": ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"),
          "BUY": ("STOP_LOSS", "STOP_LOSS_LIMIT")}  # fmt: skip
_BELOW = {"SELL": ("STOP_LOSS", "STOP_LOSS_LIMIT"),
          "BUY": ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")}  # fmt: skip


_LEG_KEYS = (
    ("Price", "price"),
    ("StopPrice", "stopPrice"),
    ("TimeInForce", "timeInForce"),
    ("ClientOrderId", "newClientOrderId"),
)


def private(venue: Venue, method: str, endpoint: str, params: dict[str, str]) -> Any:
    """Answer a signed order-list request (one of `ENDPOINTS`)."""
    if endpoint == "orderList/oco":
        if method != "POST":
            raise BinanceError(405, -1, f"{method} is not allowed on orderList/oco.")
        return create_oco(venue, params)
    if endpoint == "openOrderList":
        return open_lists(venue)
    if method == "DELETE":
        return cancel_list(venue, params)
    return list_json(venue, find_list(venue, params))


def _leg(params: dict[str, str], which: str) -> dict[str, str]:
    """Return the single-order parameters of leg ``which`` (``above`` / ``below``)."""
    leg = {key: params.get(key, "") for key in ("symbol", "side", "quantity")}
    leg["type"] = params.get(f"{which}Type", "")
    for name, key in _LEG_KEYS:
        value = params.get(which + name)
        if value:
            leg[key] = value
    return leg


def create_oco(venue: Venue, params: dict[str, str]) -> dict[str, Any]:
    """Place the OCO of ``params`` (POST /api/v3/orderList/oco); return Binance's answer."""
    side = params.get("side", "")
    above, below = _leg(params, "above"), _leg(params, "below")
    if side not in _ABOVE or above["type"] not in _ABOVE[side]:
        raise BinanceError(400, -1102, "Mandatory parameter 'aboveType' was not sent or invalid.")
    if below["type"] not in _BELOW[side]:
        raise BinanceError(400, -1102, "Mandatory parameter 'belowType' was not sent or invalid.")
    list_client = params.get("listClientOrderId") or f"local-list-{len(venue.lists)}"
    if any(lst.client_id == list_client and not lst.done for lst in venue.lists.values()):
        raise BinanceError(400, -2010, "Duplicate order sent.")
    number = len(venue.orders) + 1
    first, asset, need = venue.validate(below, number)
    second, _, _ = venue.validate(above, number + 1)
    if first.client_id == second.client_id:
        raise BinanceError(400, -2010, "Duplicate order sent.")
    if _level(second) <= _level(first):
        raise BinanceError(
            400, -2010, "The relationship of the prices for the orders is not correct."
        )
    order_list = OrderList(
        len(venue.lists), list_client, first.symbol, [first.order_id, second.order_id],
        venue.replay.now_ms,
    )  # fmt: skip
    venue.lists[order_list.list_id] = order_list
    first.list_id = second.list_id = order_list.list_id
    venue.place(first, asset, need)  # the list's one lock
    venue.place(second, asset, 0.0)
    _list_status(venue, order_list)
    return list_json(venue, order_list, reports=True)


def _level(order: Order) -> float:
    """Where a leg stands: a stop's trigger, a limit's price."""
    return order.stop_price or order.price


def find_list(venue: Venue, params: dict[str, str]) -> OrderList:
    """Return the list of ``orderListId`` or ``listClientOrderId`` / ``origClientOrderId``."""
    number = params.get("orderListId")
    client = params.get("listClientOrderId") or params.get("origClientOrderId")
    for order_list in reversed(venue.lists.values()):  # a reused client id: the newest list
        if (number and str(order_list.list_id) == number) or (
            client and order_list.client_id == client
        ):
            symbol = params.get("symbol")
            if symbol and order_list.symbol.replace("/", "") != symbol:
                break
            return order_list
    raise BinanceError(400, -2011, "Order list does not exist.")


def cancel_list(venue: Venue, params: dict[str, str]) -> dict[str, Any]:
    """Cancel a list's open legs (DELETE /api/v3/orderList); return the list, with reports."""
    order_list = find_list(venue, params)
    legs = [venue.orders[n] for n in order_list.orders]
    open_legs = [leg for leg in legs if leg.open]
    if order_list.done or not open_legs:
        raise BinanceError(400, -2011, "Unknown order sent.")
    venue.cancel(order_list.symbol.replace("/", ""), str(open_legs[0].order_id), None)
    _list_status(venue, order_list)
    return list_json(venue, order_list, reports=True)


def open_lists(venue: Venue) -> list[dict[str, Any]]:
    """Return the lists still executing (GET /api/v3/openOrderList)."""
    return [list_json(venue, lst) for lst in venue.lists.values() if not lst.done]


def list_json(venue: Venue, order_list: OrderList, reports: bool = False) -> dict[str, Any]:
    """Return ``order_list`` as Binance shows it (with ``orderReports`` when ``reports``)."""
    legs = [venue.orders[n] for n in order_list.orders]
    done = order_list.done or not any(leg.open for leg in legs)
    answer: dict[str, Any] = {
        "orderListId": order_list.list_id,
        "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": order_list.client_id,
        "transactionTime": venue.replay.now_ms,
        "symbol": order_list.symbol.replace("/", ""),
        "orders": [
            {
                "symbol": leg.symbol.replace("/", ""),
                "orderId": leg.order_id,
                "clientOrderId": leg.client_id,
            }
            for leg in legs
        ],
    }
    if reports:
        answer["orderReports"] = [
            {**leg.as_json(), "transactTime": venue.replay.now_ms} for leg in legs
        ]
    return answer


def _list_status(venue: Venue, order_list: OrderList) -> None:
    """Queue the user-data stream's ``listStatus`` event of ``order_list``."""
    state = list_json(venue, order_list)
    venue.events.append(
        {
            "e": "listStatus",
            "E": venue.replay.now_ms,
            "s": state["symbol"],
            "g": order_list.list_id,
            "c": "OCO",
            "l": state["listStatusType"],
            "L": state["listOrderStatus"],
            "r": "NONE",
            "C": order_list.client_id,
            "T": venue.replay.now_ms,
            "O": [{"s": o["symbol"], "i": o["orderId"], "c": o["clientOrderId"]}
                  for o in state["orders"]],
        }
    )  # fmt: skip
