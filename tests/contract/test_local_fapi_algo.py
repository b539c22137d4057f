"""The local exchange's USDⓈ-M conditional orders (``/fapi/v1/algoOrder``) through ccxt
4.5.90's binance, which sends a swap market's trigger-price orders there.

Replay state: `tests.contract.test_local_fapi`'s (row 100 in progress, open 18818.05).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.adapters.local import LocalExchange
from tests.contract.test_local_fapi import OPEN, perpetual_exchange, venue
from tests.contract.test_local_fapi_streams import _private_events

SYMBOL = "BTC/USDT:USDT"
TRIGGER = {"trigger": True}


@pytest.fixture
def local() -> Any:
    exchange = perpetual_exchange()
    yield exchange
    exchange.stop()


def bar(local: LocalExchange, row: int) -> tuple[float, float, float, float]:
    columns = local.replay.markets["BTC/USDT"].columns
    return tuple(float(columns[k][row]) for k in ("open", "high", "low", "close"))  # type: ignore[return-value]


def first_row_below(local: LocalExchange, level: float) -> int:
    row = 100
    while bar(local, row)[2] > level:
        row += 1
    return row


def long_of(local: LocalExchange, quantity: float) -> ccxt.binance:
    client = venue(local).exchange
    client.load_markets()
    client.create_order(SYMBOL, "market", "buy", quantity, None, {"newClientOrderId": "entry"})
    return client


def test_a_reduce_only_stop_market_waits_triggers_at_the_stop_and_closes_the_long(
    local: LocalExchange,
) -> None:
    client = long_of(local, 0.02)
    stop = round(min(bar(local, r)[2] for r in range(100, 103)) + 0.01, 2)  # a low ahead
    order = client.create_order(SYMBOL, "market", "sell", 0.02, None,
                                {"stopPrice": stop, "reduceOnly": True,
                                 "clientOrderId": "kst-stop"})  # fmt: skip
    algo = local.venue.algos.find(None, "kst-stop")  # type: ignore[attr-defined]
    assert (algo.type, algo.trigger_price, algo.reduce_only, algo.status) == (
        "STOP_MARKET", stop, True, "NEW")  # fmt: skip
    assert (order["clientOrderId"], order["status"], order["triggerPrice"]) == (
        "kst-stop", "open", stop)  # fmt: skip
    assert [o["clientOrderId"] for o in client.fetch_open_orders(SYMBOL, params=TRIGGER)] == [
        "kst-stop"
    ]
    assert client.fetch_open_orders(SYMBOL) == []  # not in the matching engine yet
    row = first_row_below(local, stop)
    local.advance(row - 99)  # that bar closes
    open_, _, _, _ = bar(local, row)
    fill = open_ if open_ <= stop else stop  # the open on a gap, else the stop
    fetched = client.fetch_order(order["id"], SYMBOL, TRIGGER)
    assert (fetched["status"], fetched["filled"], fetched["average"]) == ("closed", 0.02, fill)
    assert fetched["info"]["algoStatus"] == "FINISHED"
    actual = client.fetch_order(fetched["info"]["actualOrderId"], SYMBOL)
    assert (actual["clientOrderId"], actual["type"], actual["reduceOnly"]) == (
        "kst-stop", "market", True)  # fmt: skip
    trades = client.fetch_my_trades(SYMBOL)
    assert [(t["side"], t["amount"], t["price"]) for t in trades] == [
        ("buy", 0.02, OPEN), ("sell", 0.02, fill)]  # fmt: skip
    assert local.venue.positions["BTC/USDT"].amount == 0.0  # type: ignore[attr-defined]


def test_a_stop_limit_goes_as_type_stop_and_a_cancel_ends_it(local: LocalExchange) -> None:
    client = long_of(local, 0.02)
    order = client.create_order(SYMBOL, "limit", "sell", 0.02, OPEN - 600,
                                {"triggerPrice": OPEN - 500, "reduceOnly": True,
                                 "clientOrderId": "kst-sl"})  # fmt: skip
    algo = local.venue.algos.find(None, "kst-sl")  # type: ignore[attr-defined]
    assert (algo.type, algo.price, algo.trigger_price) == ("STOP", OPEN - 600, OPEN - 500)
    canceled = client.cancel_order(order["id"], SYMBOL, TRIGGER)
    assert canceled["clientOrderId"] == "kst-sl"
    assert client.fetch_order(order["id"], SYMBOL, TRIGGER)["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):  # -2011: no longer cancelable
        client.cancel_order(order["id"], SYMBOL, TRIGGER)
    assert client.fetch_open_orders(SYMBOL, params=TRIGGER) == []


def test_a_trigger_the_price_is_through_is_refused_and_a_plain_order_of_a_stop_type_too(
    local: LocalExchange,
) -> None:
    client = long_of(local, 0.02)
    with pytest.raises(ccxt.OrderImmediatelyFillable):  # -2021
        client.create_order(SYMBOL, "market", "sell", 0.02, None, {"stopPrice": OPEN + 10})
    with pytest.raises(ccxt.InvalidOrder):  # -4120: Binance's answer on /fapi/v1/order
        client.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                     "quantity": "0.02", "stopPrice": str(OPEN - 10)})  # fmt: skip


def test_two_reduce_only_exits_reached_by_one_bar_close_the_position_once(
    local: LocalExchange,
) -> None:
    """A node-managed OCO's worst case: both exits reach before the node cancels one. The
    stop triggers first (conditional orders before the matching engine's) and closes the
    long; the take-profit limit then finds it flat and expires: no short is opened."""
    client = long_of(local, 0.02)
    row = 101
    local.advance(1)  # row 101 in progress: both exits inside its range, on either side
    open_, high, low, _ = bar(local, row)
    target = round((open_ + high) / 2, 2)
    stop = round((open_ + low) / 2, 2)
    assert low < stop < open_ < target < high
    client.create_order(SYMBOL, "limit", "sell", 0.02, target,
                        {"reduceOnly": True, "clientOrderId": "kst-tp"})  # fmt: skip
    client.create_order(SYMBOL, "market", "sell", 0.02, None,
                        {"stopPrice": stop, "reduceOnly": True,
                         "clientOrderId": "kst-sl"})  # fmt: skip
    local.advance(1)  # row 101 closes
    venue_ = local.venue
    assert venue_.positions["BTC/USDT"].amount == 0.0  # type: ignore[attr-defined]
    statuses = {o.client_id: o.status for o in venue_.orders.values()}
    assert statuses["kst-sl"] == "FILLED"
    assert statuses["kst-tp"] == "EXPIRED"
    assert [t["qty"] for t in venue_.trades if t["side"] == "SELL"] == ["0.02000000"]


def test_a_reduce_only_stop_finding_the_position_gone_is_rejected_not_reversed(
    local: LocalExchange,
) -> None:
    client = long_of(local, 0.02)
    stop = round(min(bar(local, r)[2] for r in range(100, 103)) + 0.01, 2)
    client.create_order(SYMBOL, "market", "sell", 0.02, None,
                        {"stopPrice": stop, "reduceOnly": True,
                         "clientOrderId": "kst-stop"})  # fmt: skip
    venue(local).create(OrderSpec("out", "BTC/USDT", "sell", "market", 0.02, reduce_only=True))
    local.advance(first_row_below(local, stop) - 99)
    algo = local.venue.algos.find(None, "kst-stop")  # type: ignore[attr-defined]
    assert (algo.status, algo.reason, algo.actual) == ("REJECTED", "Reduce Only reject", None)
    assert local.venue.positions["BTC/USDT"].amount == 0.0  # type: ignore[attr-defined]


def test_close_position_closes_whatever_is_held_at_the_trigger(local: LocalExchange) -> None:
    client = long_of(local, 0.03)
    stop = round(min(bar(local, r)[2] for r in range(100, 103)) + 0.01, 2)
    client.create_order(SYMBOL, "market", "sell", None, None,
                        {"stopPrice": stop, "closePosition": True,
                         "clientOrderId": "kst-cp"})  # fmt: skip
    local.advance(first_row_below(local, stop) - 99)
    algo = local.venue.algos.find(None, "kst-cp")  # type: ignore[attr-defined]
    assert algo.status == "FINISHED"
    assert algo.actual.quantity == 0.03
    assert local.venue.positions["BTC/USDT"].amount == 0.0  # type: ignore[attr-defined]


def test_each_status_change_is_an_algo_update_and_the_placed_order_reports_as_usual(
    local: LocalExchange,
) -> None:
    client = long_of(local, 0.02)
    stop = round(min(bar(local, r)[2] for r in range(100, 103)) + 0.01, 2)

    def place_and_trigger() -> None:
        client.create_order(SYMBOL, "market", "sell", 0.02, None,
                            {"stopPrice": stop, "reduceOnly": True,
                             "clientOrderId": "kst-stop"})  # fmt: skip
        local.advance(first_row_below(local, stop) - 99)

    wire = asyncio.run(_private_events(local, 6, place_and_trigger))
    events = [e for e in wire if e["e"] != "ACCOUNT_UPDATE"]
    kinds = [(e["e"], e["o"]["X"], e["o"].get("x", "")) for e in events]
    assert kinds == [("ALGO_UPDATE", "NEW", ""), ("ALGO_UPDATE", "TRIGGERED", ""),
                     ("ORDER_TRADE_UPDATE", "NEW", "NEW"),
                     ("ORDER_TRADE_UPDATE", "FILLED", "TRADE"),
                     ("ALGO_UPDATE", "FINISHED", "")]  # fmt: skip
    finished = events[-1]["o"]
    actual = events[2]["o"]
    assert (finished["caid"], finished["ai"], finished["aq"], finished["tp"]) == (
        "kst-stop", str(actual["i"]), "0.02000000", f"{stop:.8f}")  # fmt: skip
    assert (actual["c"], actual["o"], actual["R"]) == ("kst-stop", "MARKET", True)
