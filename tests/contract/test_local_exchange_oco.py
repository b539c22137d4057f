"""The local exchange's OCO order lists through ccxt's binance (issue 15).

ccxt 4.5.90's binance has no unified OCO method: ``private_post_orderlist_oco`` (POST
/api/v3/orderList/oco), ``private_delete_orderlist`` and ``private_get_orderlist`` reach
the endpoints with Binance's own parameters. Bar 100 (open 18818.05, high 18932, low
18800) is in progress; each ``advance(1)`` closes one bar and opens the next (bar 101:
open 18863.90, high 18970, low 18840.69).
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tests.contract.conftest import btc_rows, ccxt_client


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(
        btc_rows(300), paused=True, history=100, balances={"USDT": 1000.0, "BTC": 0.01}
    )


def oco(client: Any, stop: float, target: float, **extra: str) -> Any:
    params = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01",
              "aboveType": "LIMIT_MAKER", "abovePrice": f"{target:.2f}",
              "aboveClientOrderId": "tp-1", "belowType": "STOP_LOSS",
              "belowStopPrice": f"{stop:.2f}", "belowClientOrderId": "sl-1",
              "listClientOrderId": "list-1", **extra}  # fmt: skip
    return client.private_post_orderlist_oco(params)


def test_an_oco_is_placed_as_two_legs_that_lock_once(local: Any) -> None:
    client = ccxt_client(local)
    answer = oco(client, 18810.0, 18900.0)
    assert (answer["contingencyType"], answer["listStatusType"], answer["listOrderStatus"]) == (
        "OCO", "EXEC_STARTED", "EXECUTING",
    )  # fmt: skip
    assert answer["listClientOrderId"] == "list-1"
    assert [o["clientOrderId"] for o in answer["orders"]] == ["sl-1", "tp-1"]
    reports = answer["orderReports"]
    assert [(r["type"], r["status"], r["orderListId"]) for r in reports] == [
        ("STOP_LOSS", "NEW", 0), ("LIMIT_MAKER", "NEW", 0),
    ]  # fmt: skip
    assert local.venue.locked["BTC"] == pytest.approx(0.01)  # once, not twice
    assert local.venue.free["BTC"] == pytest.approx(0.0)
    # each leg is an order ccxt reads by its client id, with its list id
    leg = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "tp-1"})
    assert (leg["type"], leg["status"], leg["info"]["orderListId"]) == ("limit", "open", 0)
    stored = client.private_get_orderlist({"origClientOrderId": "list-1"})
    assert stored["orderListId"] == 0
    assert "orderReports" not in stored
    assert len(client.private_get_openorderlist()) == 1


def test_the_take_profit_fills_and_the_stop_expires(local: Any) -> None:
    client = ccxt_client(local)
    oco(client, 18700.0, 18900.0)
    local.advance(1)  # bar 100 trades through 18900 (high 18932), not down to 18700
    tp = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "tp-1"})
    sl = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "sl-1"})
    assert (tp["status"], tp["average"], sl["status"]) == ("closed", 18900.0, "expired")
    assert local.venue.locked["BTC"] == 0.0
    assert local.venue.free["BTC"] == pytest.approx(0.0)
    assert local.venue.free["USDT"] == pytest.approx(1000.0 + 189.0 * 0.999)
    assert client.private_get_openorderlist() == []


def test_a_bar_reaching_both_legs_fills_the_stop_only(local: Any) -> None:
    client = ccxt_client(local)
    oco(client, 18810.0, 18900.0)  # bar 100: low 18800 and high 18932 reach both
    local.advance(1)
    statuses = {o["clientOrderId"]: o["status"] for o in client.fetch_orders("BTC/USDT")}
    assert statuses == {"sl-1": "closed", "tp-1": "expired"}
    assert len(local.venue.trades) == 1
    assert local.venue.free["BTC"] == pytest.approx(0.0)  # sold once, never twice


def test_canceling_the_list_or_a_leg_cancels_both(local: Any) -> None:
    client = ccxt_client(local)
    oco(client, 18700.0, 19500.0)
    answer = client.private_delete_orderlist({"symbol": "BTCUSDT", "listClientOrderId": "list-1"})
    assert answer["listOrderStatus"] == "ALL_DONE"
    assert [r["status"] for r in answer["orderReports"]] == ["CANCELED", "CANCELED"]
    assert local.venue.free["BTC"] == pytest.approx(0.01)
    with pytest.raises(ccxt.OrderNotFound):
        client.private_delete_orderlist({"symbol": "BTCUSDT", "listClientOrderId": "list-1"})
    oco(client, 18700.0, 19500.0, listClientOrderId="list-2", aboveClientOrderId="tp-2",
        belowClientOrderId="sl-2")  # fmt: skip
    client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "tp-2"})
    sl = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "sl-2"})
    assert sl["status"] == "canceled"


def test_an_oco_binance_would_refuse_is_refused(local: Any) -> None:
    client = ccxt_client(local)
    with pytest.raises(ccxt.InvalidOrder, match="would trigger immediately"):
        oco(client, 18850.0, 18900.0)  # the price (18818.05) is under the stop already
    with pytest.raises(ccxt.InvalidOrder, match="immediately match and take"):
        oco(client, 18700.0, 18800.0)  # a LIMIT_MAKER under the price would take
    with pytest.raises(ccxt.InsufficientFunds):
        oco(client, 18700.0, 18900.0, quantity="0.02")
    assert local.venue.orders == {}
    assert local.venue.lists == {}


def test_a_list_client_id_is_unique_among_lists_still_executing(local: Any) -> None:
    client = ccxt_client(local)
    oco(client, 18700.0, 19500.0)
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        oco(client, 18600.0, 19600.0, aboveClientOrderId="tp-2", belowClientOrderId="sl-2")
    client.private_delete_orderlist({"symbol": "BTCUSDT", "listClientOrderId": "list-1"})
    # Binance: a list client id (and its legs' ids) may be used again once the list is done
    again = oco(client, 18600.0, 19600.0)
    assert (again["orderListId"], again["listClientOrderId"]) == (1, "list-1")
    found = client.private_get_orderlist({"origClientOrderId": "list-1"})
    assert (found["orderListId"], found["listOrderStatus"]) == (1, "EXECUTING")
    leg = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "tp-1"})
    assert (leg["status"], leg["price"]) == ("open", 19600.0)
