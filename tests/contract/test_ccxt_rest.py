"""Real ccxt (REST) against the local exchange: market data, orders, Binance's error codes.

Replay state in every test: 100 closed hourly bars of the BTC/USDT sample (rows 0..99; row
99: 18789.65 / 18880 / 18738.34 / 18818.85) and row 100 in progress (open 18818.05 at
2020-12-05T04:00Z); row 100 then has high 18932, low 18800, close 18863.9, volume
1551.894666; row 101 opens at 18863.9.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest
import requests

from tests.contract.conftest import btc_rows, ccxt_client

ROW100_OPEN_MS = 1607140800000


@pytest.fixture
def venue(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


@pytest.fixture
def client(venue: Any) -> Any:
    c = ccxt_client(venue)
    c.load_markets()
    return c


def test_load_markets_reads_the_instrument_rules(client: Any) -> None:
    market = client.market("BTC/USDT")
    assert (market["id"], market["base"], market["quote"]) == ("BTCUSDT", "BTC", "USDT")
    assert market["precision"]["amount"] == 0.00001
    assert market["precision"]["price"] == 0.01
    assert market["limits"]["cost"]["min"] == 10.0
    assert market["spot"]
    assert market["active"]


def test_fetch_ohlcv_pages_end_with_the_in_progress_candle(client: Any) -> None:
    candles: list[list[float]] = []
    since = 1606780800000  # row 0
    while True:
        page = client.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=40)
        if not page:
            break
        candles += page
        since = page[-1][0] + 3_600_000
    assert len(candles) == 101  # 100 closed + the one in progress
    assert candles[0] == [1606780800000, 19695.87, 19720.0, 19479.8, 19565.47, 4570.361518]
    assert candles[99][0] == ROW100_OPEN_MS - 3_600_000
    assert candles[99][1:5] == [18789.65, 18880.0, 18738.34, 18818.85]  # row 99, closed
    # Only the open of the in-progress bar is known: open = high = low = close, no volume.
    assert candles[100] == [ROW100_OPEN_MS, 18818.05, 18818.05, 18818.05, 18818.05, 0.0]
    assert client.fetch_time() == ROW100_OPEN_MS


def test_advancing_closes_the_bar_with_its_full_values(venue: Any, client: Any) -> None:
    venue.advance(1)  # row 100 closes, row 101 opens at the same instant
    last_two = client.fetch_ohlcv("BTC/USDT", "1h", limit=2)
    assert last_two[0] == [ROW100_OPEN_MS, 18818.05, 18932.0, 18800.0, 18863.9, 1551.894666]
    assert last_two[1][:5] == [ROW100_OPEN_MS + 3_600_000, 18863.9, 18863.9, 18863.9, 18863.9]


def test_ticker_book_and_balance(client: Any) -> None:
    ticker = client.fetch_ticker("BTC/USDT")
    assert ticker["last"] == 18818.05
    book = client.fetch_order_book("BTC/USDT", 5)
    assert book["asks"][0][0] == 18818.05  # best ask at the market price: market buys pay it
    assert book["bids"][0][0] == 18818.04  # one tick below
    assert len(book["asks"]) == 5
    assert client.fetch_balance()["USDT"] == {"free": 10000.0, "used": 0.0, "total": 10000.0}


def test_market_buy_fills_at_the_open_of_the_bar_in_progress(client: Any) -> None:
    order = client.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "k-1"})
    assert order["clientOrderId"] == "k-1"
    assert order["status"] == "closed"
    assert order["average"] == 18818.05
    assert order["fee"]["cost"] == pytest.approx(0.1881805)  # 0.1 % of 188.1805 USDT
    balance = client.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.01)
    assert balance["USDT"]["free"] == pytest.approx(10000 - 188.1805 - 0.1881805)
    fetched = client.fetch_order(order["id"], "BTC/USDT")
    assert (fetched["status"], fetched["filled"], fetched["clientOrderId"]) == (
        "closed",
        0.01,
        "k-1",
    )
    trades = client.fetch_my_trades("BTC/USDT")
    assert [(t["price"], t["amount"], t["takerOrMaker"]) for t in trades] == [
        (18818.05, 0.01, "taker")
    ]


def test_resting_limit_fills_at_its_price_when_the_bar_trades_through(
    venue: Any, client: Any
) -> None:
    order = client.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 18810, params={"clientOrderId": "k-2"}
    )
    assert order["status"] == "open"
    # 18810 * 0.01 * 1.001 is locked while it rests.
    assert client.fetch_balance()["USDT"]["used"] == pytest.approx(188.2881)
    venue.advance(1)  # row 100 closes: low 18800 < 18810 -> filled at the limit, as maker
    fetched = client.fetch_order(order["id"], "BTC/USDT")
    assert (fetched["status"], fetched["average"]) == ("closed", 18810.0)
    assert client.fetch_my_trades("BTC/USDT")[0]["takerOrMaker"] == "maker"
    balance = client.fetch_balance()["USDT"]
    assert (balance["free"], balance["used"]) == (pytest.approx(10000 - 188.1 - 0.1881), 0.0)


def test_a_limit_only_touched_does_not_fill(venue: Any, client: Any) -> None:
    order = client.create_order("BTC/USDT", "limit", "buy", 0.01, 18800)
    venue.advance(1)  # row 100 closes with low 18800 exactly
    assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "open"  # low == limit


def test_cancel_by_client_order_id_and_unknown_order_codes(client: Any) -> None:
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18000, params={"clientOrderId": "k-3"})
    assert [o["clientOrderId"] for o in client.fetch_open_orders("BTC/USDT")] == ["k-3"]
    canceled = client.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "k-3"})
    assert canceled["status"] == "canceled"
    assert client.fetch_open_orders("BTC/USDT") == []
    assert client.fetch_balance()["USDT"]["used"] == 0.0
    with pytest.raises(ccxt.OrderNotFound):  # -2011 on a second cancel
        client.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "k-3"})
    with pytest.raises(ccxt.OrderNotFound):  # -2013
        client.fetch_order("999", "BTC/USDT")
    assert [o["clientOrderId"] for o in client.fetch_orders("BTC/USDT")] == ["k-3"]


def test_signatures_cover_the_percent_encoded_query(client: Any) -> None:
    odd = "a:b/c d"  # ':' '/' ' ' are percent-encoded in the signed query
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18000, params={"clientOrderId": odd})
    found = client.fetch_order(None, "BTC/USDT", params={"origClientOrderId": odd})
    assert found["clientOrderId"] == odd


def test_duplicate_client_order_id_is_invalid_order(client: Any) -> None:
    # open: the id is in use (once it is filled or canceled it is free again, as on Binance)
    client.create_order("BTC/USDT", "limit", "buy", 0.001, 18000, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        client.create_order("BTC/USDT", "market", "buy", 0.001, params={"clientOrderId": "dup"})


def test_binance_error_codes_reach_ccxt_classes(client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):  # 1 BTC costs ~18,790 USDT > 10,000
        client.create_order("BTC/USDT", "market", "buy", 1.0)
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # 0.0001 BTC ~ 1.88 USDT < 10
        client.create_order("BTC/USDT", "market", "buy", 0.0001)
    raw = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):  # off the 0.01 tick
        client.private_post_order({**raw, "quantity": "0.01", "price": "18000.005"})
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # off the 0.00001 lot
        client.private_post_order({**raw, "quantity": "0.010005", "price": "18000"})
    with pytest.raises(ccxt.BadSymbol):  # -1121
        client.public_get_ticker_price({"symbol": "NOPEUSDT"})


def test_a_wrong_secret_is_refused_with_1022(venue: Any) -> None:
    intruder = ccxt_client(venue, secret="not-the-secret")
    intruder.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="Signature for this request"):
        intruder.fetch_balance()


def test_a_stale_timestamp_is_refused_with_1021(venue: Any) -> None:
    late = ccxt_client(venue)
    late.load_markets()
    late.nonce = lambda: late.milliseconds() - 120_000  # two minutes old
    with pytest.raises(ccxt.InvalidNonce):
        late.fetch_balance()


def test_rate_limit_ban_and_server_error_faults(venue: Any, client: Any) -> None:
    venue.inject("rate_limit", count=1, retry_after_s=7)
    with pytest.raises(ccxt.DDoSProtection, match="429"):
        client.fetch_ticker("BTC/USDT")
    assert client.last_response_headers["Retry-After"] == "7"
    venue.inject("ban", count=1)
    with pytest.raises(ccxt.DDoSProtection, match="418"):
        client.fetch_ticker("BTC/USDT")
    venue.inject("server_error", count=1, status=503)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client.fetch_ticker("BTC/USDT")
    assert client.fetch_ticker("BTC/USDT")["last"] == 18818.05  # every fault was used up


def test_a_timeout_after_acceptance_leaves_the_order_on_the_server(venue: Any) -> None:
    slow = ccxt_client(venue, timeout=300)
    slow.load_markets()
    venue.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    with pytest.raises(ccxt.RequestTimeout):
        slow.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "t-1"})
    found = slow.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "t-1"})
    assert (found["status"], found["filled"], found["average"]) == ("closed", 0.01, 18818.05)


def test_not_found_for_the_first_queries_then_found(venue: Any, client: Any) -> None:
    venue.inject("not_found", queries=2)
    order = client.create_order("BTC/USDT", "market", "buy", 0.01)
    for _ in range(2):
        with pytest.raises(ccxt.OrderNotFound):
            client.fetch_order(order["id"], "BTC/USDT")
    assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "closed"


def test_reject_and_partial_fill_faults(venue: Any, client: Any) -> None:
    venue.inject("reject", count=1)
    with pytest.raises(ccxt.InvalidOrder):
        client.create_order("BTC/USDT", "market", "buy", 0.01)
    venue.inject("partial", count=1, fraction=0.25)
    order = client.create_order("BTC/USDT", "market", "buy", 0.02)
    assert (order["status"], order["filled"], order["remaining"]) == ("open", 0.005, 0.015)
    venue.advance(1)  # row 100 closes, row 101 opens: the rest fills at its open 18863.9
    done = client.fetch_order(order["id"], "BTC/USDT")
    assert (done["status"], done["filled"]) == ("closed", 0.02)
    assert done["cost"] == pytest.approx(0.005 * 18818.05 + 0.015 * 18863.9)


def test_the_admin_endpoint_arms_faults_and_moves_the_clock(venue: Any, client: Any) -> None:
    base = venue.urls["http"]
    assert requests.post(f"{base}/_admin/fault", json={"kind": "ban"}, timeout=5).ok
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_time()
    answer = requests.post(f"{base}/_admin/advance", json={"bars": 2}, timeout=5).json()
    assert answer["now"] == ROW100_OPEN_MS + 2 * 3_600_000  # two bar boundaries later
    assert (
        requests.post(f"{base}/_admin/fault", json={"kind": "nope"}, timeout=5).status_code == 400
    )
