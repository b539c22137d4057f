"""The local exchange's account history as Binance spot answers it (audit F8).

``GET /api/v3/myTrades`` and ``GET /api/v3/allOrders`` with their parameters (``limit``
default 500, at most 1000; ``fromId`` / ``orderId`` from an id on; ``startTime`` /
``endTime``, at most 24 h apart; only the documented combinations), and
``newClientOrderId`` unique among *open* orders only. Requests go through ccxt's implicit
binance methods (signed as ccxt signs them); an error is ccxt's exception carrying
Binance's ``{"code": ..., "msg": ...}``.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05 at
1607140800000 = ``HOUR_A``). `traded` makes six market buys of 0.001 BTC: orders and trades
1-2 in row 100, 3-4 an hour later (``HOUR_B``), 5-6 a day after that (``HOUR_C``).
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tests.contract.conftest import btc_rows, ccxt_client

HOUR_A = 1607140800000
HOUR_B = HOUR_A + 3_600_000
HOUR_C = HOUR_B + 24 * 3_600_000
DAY_MS = 24 * 3_600_000


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 1e6})


@pytest.fixture
def client(local: Any) -> Any:
    made = ccxt_client(local)
    made.load_markets()
    return made


def buy(local: Any, count: int = 1, **extra: str) -> None:
    """Market-buy 0.001 BTC ``count`` times at the replay's clock (in-process: fast)."""
    for _ in range(count):
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        local.venue.create({**params, **extra})


@pytest.fixture
def traded(local: Any) -> Any:
    buy(local, 2)
    local.advance(1)
    buy(local, 2)
    local.advance(24)
    buy(local, 2)
    return local


def trades(client: Any, **params: Any) -> list[int]:
    """Return the trade ids ``myTrades`` answers for ``params`` (symbol BTCUSDT)."""
    return [row["id"] for row in client.private_get_mytrades({"symbol": "BTCUSDT", **params})]


def orders(client: Any, **params: Any) -> list[int]:
    """Return the order ids ``allOrders`` answers for ``params`` (symbol BTCUSDT)."""
    return [row["orderId"] for row in client.private_get_allorders({"symbol": "BTCUSDT", **params})]


def refused(call: Any, **params: Any) -> str:
    """Return the Binance error body of a refused request."""
    with pytest.raises(ccxt.BaseError) as error:
        call(params)
    return str(error.value)


# -- myTrades -------------------------------------------------------------------------------


def test_my_trades_times_are_the_bars_the_fills_were_made_in(traded: Any, client: Any) -> None:
    rows = client.private_get_mytrades({"symbol": "BTCUSDT"})
    assert [row["time"] for row in rows] == [HOUR_A] * 2 + [HOUR_B] * 2 + [HOUR_C] * 2


def test_my_trades_without_an_id_or_time_are_the_most_recent_oldest_first(
    traded: Any, client: Any
) -> None:
    assert trades(client) == [1, 2, 3, 4, 5, 6]
    assert trades(client, limit=2) == [5, 6]  # was 1..6: limit ignored


def test_my_trades_from_an_id_on(traded: Any, client: Any) -> None:
    assert trades(client, fromId=3, limit=2) == [3, 4]  # was 1..6: fromId ignored
    assert trades(client, fromId=5) == [5, 6]
    assert trades(client, fromId=7) == []


def test_my_trades_from_a_start_time_are_the_oldest_from_there(traded: Any, client: Any) -> None:
    assert trades(client, startTime=HOUR_B) == [3, 4, 5, 6]
    assert trades(client, startTime=HOUR_B, limit=1) == [3]
    assert trades(client, startTime=HOUR_A + 1) == [3, 4, 5, 6]


def test_my_trades_up_to_an_end_time_are_the_most_recent_before_it(
    traded: Any, client: Any
) -> None:
    assert trades(client, endTime=HOUR_B) == [1, 2, 3, 4]
    assert trades(client, endTime=HOUR_B, limit=1) == [4]
    assert trades(client, endTime=HOUR_A - 1) == []


def test_my_trades_between_two_times_at_most_a_day_apart(traded: Any, client: Any) -> None:
    assert trades(client, startTime=HOUR_A, endTime=HOUR_B) == [1, 2, 3, 4]
    assert trades(client, startTime=HOUR_B, endTime=HOUR_B + DAY_MS) == [3, 4, 5, 6]
    assert trades(client, startTime=HOUR_A, endTime=HOUR_B, limit=3) == [1, 2, 3]
    body = refused(client.private_get_mytrades, symbol="BTCUSDT", startTime=HOUR_A,
                   endTime=HOUR_A + DAY_MS + 1)  # fmt: skip
    assert '"code":-1127' in body
    assert "More than 24 hours between startTime and endTime." in body


def test_my_trades_of_one_order(traded: Any, client: Any) -> None:
    assert trades(client, orderId=3) == [3]
    assert trades(client, orderId=3, fromId=3) == [3]
    assert trades(client, orderId=3, fromId=4) == []


@pytest.mark.parametrize(
    "params",
    [
        {"fromId": 1, "startTime": HOUR_A},
        {"fromId": 1, "endTime": HOUR_B},
        {"fromId": 1, "startTime": HOUR_A, "endTime": HOUR_B},
        {"orderId": 3, "startTime": HOUR_A},
        {"orderId": 3, "endTime": HOUR_B},
    ],
)
def test_my_trades_combinations_binance_does_not_take_are_refused(
    traded: Any, client: Any, params: dict[str, int]
) -> None:
    body = refused(client.private_get_mytrades, symbol="BTCUSDT", **params)
    assert '"code":-1128' in body
    assert "Combination of optional parameters invalid." in body


def test_my_trades_and_all_orders_need_a_symbol(traded: Any, client: Any) -> None:
    for call in (client.private_get_mytrades, client.private_get_allorders):
        body = refused(call)
        assert '"code":-1102' in body
        assert "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." in body


def test_the_default_page_is_500_and_the_largest_1000(local: Any, client: Any) -> None:
    buy(local, 1005)
    assert trades(client) == list(range(506, 1006))
    assert trades(client, limit=1000) == list(range(6, 1006))
    assert trades(client, limit=5000) == list(range(6, 1006))  # taken as 1000
    assert trades(client, fromId=1) == list(range(1, 501))
    assert trades(client, startTime=HOUR_A) == list(range(1, 501))
    assert orders(client) == list(range(506, 1006))
    assert orders(client, limit=5000) == list(range(6, 1006))
    for call in (client.private_get_mytrades, client.private_get_allorders):
        body = refused(call, symbol="BTCUSDT", limit=0)
        assert '"code":-1130' in body
        assert "Data sent for parameter 'limit' is not valid." in body


def test_a_parameter_that_is_no_number_is_refused(traded: Any, client: Any) -> None:
    body = refused(client.private_get_mytrades, symbol="BTCUSDT", fromId="x")
    assert '"code":-1100' in body


# -- allOrders ------------------------------------------------------------------------------


def test_all_orders_most_recent_from_an_order_id_and_between_times(
    traded: Any, client: Any
) -> None:
    assert orders(client) == [1, 2, 3, 4, 5, 6]
    assert orders(client, limit=2) == [5, 6]  # was 1..6: limit ignored
    assert orders(client, orderId=2, limit=2) == [2, 3]  # was 1..6: orderId ignored
    assert orders(client, startTime=HOUR_B) == [3, 4, 5, 6]
    assert orders(client, startTime=HOUR_B, limit=1) == [3]
    assert orders(client, endTime=HOUR_B, limit=1) == [4]
    assert orders(client, startTime=HOUR_A, endTime=HOUR_B) == [1, 2, 3, 4]
    body = refused(client.private_get_allorders, symbol="BTCUSDT", startTime=HOUR_A,
                   endTime=HOUR_A + DAY_MS + 1)  # fmt: skip
    assert '"code":-1127' in body


def test_all_orders_holds_open_canceled_and_filled_orders(traded: Any, client: Any) -> None:
    resting = client.create_order("BTC/USDT", "limit", "buy", 0.001, 18000.0)
    gone = client.create_order("BTC/USDT", "limit", "buy", 0.001, 18100.0)
    client.cancel_order(gone["id"], "BTC/USDT")
    statuses = {int(o["id"]): o["status"] for o in client.fetch_orders("BTC/USDT")}
    assert statuses == {
        **dict.fromkeys(range(1, 7), "closed"),
        int(resting["id"]): "open",
        int(gone["id"]): "canceled",
    }


# -- newClientOrderId: unique among open orders ---------------------------------------------


def test_a_client_id_in_use_by_an_open_order_is_a_duplicate(client: Any) -> None:
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18000, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "dup"})


def test_a_client_id_is_free_again_once_its_order_is_filled(local: Any, client: Any) -> None:
    first = client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "m"})
    assert first["status"] == "closed"
    again = client.create_order("BTC/USDT", "market", "buy", 0.002, params={"clientOrderId": "m"})
    assert (again["status"], again["id"]) == ("closed", "2")  # was -2010 Duplicate order sent
    found = client.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "m"})
    assert (found["id"], found["amount"]) == ("2", 0.002)  # the newest under that id
    assert [o["clientOrderId"] for o in client.fetch_orders("BTC/USDT")] == ["m", "m"]


def test_a_client_id_is_free_again_once_its_order_is_canceled(client: Any) -> None:
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18000, params={"clientOrderId": "c"})
    client.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "c"})
    again = client.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 18100, params={"clientOrderId": "c"}
    )
    assert again["status"] == "open"
    open_now = client.fetch_open_orders("BTC/USDT")
    assert [(o["clientOrderId"], o["price"]) for o in open_now] == [("c", 18100.0)]
    canceled = client.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "c"})
    assert canceled["id"] == again["id"]  # the open one, not the canceled one
