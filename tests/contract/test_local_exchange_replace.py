"""The local exchange's ``POST /api/v3/order/cancelReplace``, on the wire, as Binance answers it.

Raw signed HTTP requests (no ccxt), so the HTTP status and the body are the exchange's own:
200 with both halves, 400 -2022 when the cancel failed (new order NOT_ATTEMPTED), 409 -2021
when the old order was canceled and the new one refused, a plain error for a filter failure
(nothing happens), and -1102 for a mode other than STOP_ON_FAILURE. The paused exchange:
100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05); 10,000 USDT.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tests.contract.conftest import SECRET, btc_rows


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def signed(local: Any, path: str, params: dict[str, str]) -> tuple[int, Any]:
    """POST ``params`` signed to ``/api/v3/<path>``; return the HTTP status and JSON body."""
    query = urllib.parse.urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    url = f"{local.urls['http']}/api/v3/{path}?{query}&signature={signature}"
    request = urllib.request.Request(url, method="POST", headers={"X-MBX-APIKEY": "k"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def rest(local: Any, client_id: str = "old-1", price: str = "18700.00") -> None:
    status, _ = signed(local, "order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                        "timeInForce": "GTC", "quantity": "0.01",
                                        "price": price, "newClientOrderId": client_id})  # fmt: skip
    assert status == 200


def replace(local: Any, **new: str) -> tuple[int, Any]:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01", "price": "18750.00", "cancelReplaceMode": "STOP_ON_FAILURE",
              "cancelOrigClientOrderId": "old-1", "newClientOrderId": "new-1",
              "cancelNewClientOrderId": "cancel-1", **new}  # fmt: skip
    return signed(local, "order/cancelReplace", params)


def test_both_halves_done(local: Any) -> None:
    rest(local)
    status, body = replace(local)
    assert status == 200
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    canceled, new = body["cancelResponse"], body["newOrderResponse"]
    assert (canceled["status"], canceled["origClientOrderId"], canceled["clientOrderId"]) == (
        "CANCELED", "old-1", "cancel-1",
    )  # fmt: skip
    assert (new["status"], new["clientOrderId"], new["price"], new["fills"]) == (
        "NEW", "new-1", "18750.00000000", [],
    )  # fmt: skip
    assert [(o.client_id, o.status) for o in local.venue.orders.values()] == [
        ("old-1", "CANCELED"), ("new-1", "NEW"),
    ]  # fmt: skip
    assert local.venue.locked["USDT"] == pytest.approx(0.01 * 18750.0 * 1.001)  # the new lock


def test_the_cancel_fails_400_2022_and_the_new_order_is_not_attempted(local: Any) -> None:
    status, body = replace(local, cancelOrigClientOrderId="nobody")
    assert status == 400
    assert (body["code"], body["msg"]) == (-2022, "Order cancel-replace failed.")
    assert body["data"] == {
        "cancelResult": "FAILURE",
        "newOrderResult": "NOT_ATTEMPTED",
        "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
        "newOrderResponse": None,
    }
    assert local.venue.orders == {}


def test_the_new_order_is_refused_409_2021_and_the_old_one_stays_canceled(local: Any) -> None:
    rest(local)
    status, body = replace(local, type="LIMIT_MAKER", price="18900.00")  # would take
    assert status == 409
    assert (body["code"], body["msg"]) == (-2021, "Order cancel-replace partially failed.")
    data = body["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert data["cancelResponse"]["status"] == "CANCELED"
    assert data["newOrderResponse"] == {
        "code": -2010,
        "msg": "Order would immediately match and take.",
    }
    assert [(o.client_id, o.status) for o in local.venue.orders.values()] == [("old-1", "CANCELED")]
    assert local.venue.locked["USDT"] == pytest.approx(0.0)


def test_a_filter_failure_is_refused_before_either_half(local: Any) -> None:
    rest(local)
    status, body = replace(local, price="18750.001")  # off the 0.01 tick
    assert status == 400
    assert body["code"] == -1013
    assert "data" not in body
    assert [(o.client_id, o.status) for o in local.venue.orders.values()] == [("old-1", "NEW")]


def test_only_stop_on_failure_is_taken(local: Any) -> None:
    rest(local)
    status, body = replace(local, cancelReplaceMode="ALLOW_FAILURE")
    assert (status, body["code"]) == (400, -1102)
    assert [o.status for o in local.venue.orders.values()] == ["NEW"]
