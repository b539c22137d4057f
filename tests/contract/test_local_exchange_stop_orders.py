"""The local exchange's stop orders (STOP_LOSS[_LIMIT]) through a real ccxt binance client.

With ``history=100`` bar 100 (open 18818.05, high 18932, low 18800) is in progress; each
``advance(1)`` closes one bar and opens the next (bar 101: open 18863.90, high 18970, low
18840.69). Fees are 0.1 % in USDT.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tests.contract.conftest import btc_rows, ccxt_client


@pytest.fixture
def rig(exchange_factory: Any) -> Any:
    return rig_of(exchange_factory, btc_rows(300))


def rig_of(factory: Any, rows: Any) -> tuple[Any, Any]:
    local = factory(rows, paused=True, history=100, balances={"USDT": 10_000.0, "BTC": 0.02})
    client = ccxt_client(local)
    client.load_markets()
    return local, client


def test_a_sell_stop_market_triggers_on_the_fall_and_fills_at_the_stop(rig: Any) -> None:
    local, client = rig
    params = {"stopLossPrice": 18810.0, "clientOrderId": "stop-1"}
    placed = client.create_order("BTC/USDT", "market", "sell", 0.01, None, params)
    assert (placed["status"], placed["triggerPrice"], placed["info"]["type"]) == (
        "open",
        18810.0,
        "STOP_LOSS",
    )
    assert placed["info"]["isWorking"] is False
    balance = client.fetch_balance()
    assert (balance["BTC"]["free"], balance["BTC"]["used"]) == (0.01, 0.01)  # locked at once
    local.advance(1)  # bar 100 closes: its low 18800 went through 18810
    order = client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "stop-1"})
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, 18810.0)
    (trade,) = client.fetch_my_trades("BTC/USDT")
    assert (trade["price"], trade["amount"], trade["takerOrMaker"]) == (18810.0, 0.01, "taker")
    assert trade["fee"]["cost"] == pytest.approx(0.1881)
    balance = client.fetch_balance()
    assert balance["BTC"]["total"] == pytest.approx(0.01)
    assert balance["USDT"]["total"] == pytest.approx(10_000.0 + 188.1 - 0.1881)


def test_a_gap_through_the_stop_fills_at_the_open(exchange_factory: Any) -> None:
    rows = btc_rows(300)
    rows.loc[101, ["open", "low"]] = 18700.0  # bar 101 opens below the stop
    local, client = rig_of(exchange_factory, rows)
    client.create_order("BTC/USDT", "market", "sell", 0.01, None, {"stopLossPrice": 18790.0})
    local.advance(1)
    (trade,) = client.fetch_my_trades("BTC/USDT")
    assert (trade["price"], trade["takerOrMaker"]) == (18700.0, "taker")


def test_a_buy_stop_limit_triggers_then_rests_as_a_limit(rig: Any) -> None:
    local, client = rig
    params = {"stopLossPrice": 18900.0, "timeInForce": "GTC", "clientOrderId": "sl-1"}
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18850.0, params)
    assert client.fetch_balance()["USDT"]["used"] == pytest.approx(0.01 * 18850.0 * 1.001)
    local.advance(1)  # bar 100's high 18932 triggers it; not marketable at 18900
    (order,) = client.fetch_open_orders("BTC/USDT")
    assert (order["status"], order["filled"], order["info"]["type"]) == (
        "open",
        0.0,
        "STOP_LOSS_LIMIT",
    )
    assert order["info"]["isWorking"] is True
    local.advance(1)  # bar 101 (open 18863.90) trades down to 18840.69: the limit fills
    (trade,) = client.fetch_my_trades("BTC/USDT")
    assert (trade["price"], trade["amount"], trade["takerOrMaker"]) == (18850.0, 0.01, "maker")
    assert client.fetch_open_orders("BTC/USDT") == []


def test_an_untriggered_stop_is_cancelled_and_its_funds_released(rig: Any) -> None:
    _, client = rig
    params = {"stopLossPrice": 18000.0, "clientOrderId": "stop-2"}
    client.create_order("BTC/USDT", "market", "sell", 0.02, None, params)
    canceled = client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "stop-2"})
    assert canceled["status"] == "canceled"
    assert client.fetch_balance()["BTC"]["free"] == 0.02


def test_stop_orders_are_validated_like_binance(rig: Any) -> None:
    _, client = rig
    base = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01"}
    with pytest.raises(ccxt.BadRequest, match=r"-1102.*'stopPrice' was not sent"):
        client.private_post_order(base)
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        client.private_post_order({**base, "stopPrice": "18000.005"})
    with pytest.raises(ccxt.InvalidOrder, match="would trigger immediately"):
        client.private_post_order({**base, "stopPrice": "18900.00"})  # above the price
    assert client.fetch_open_orders("BTC/USDT") == []
