"""Real ccxt.pro (websockets) against the local exchange: streams, user data, ws faults.

Replay state: rows 0..99 of the BTC/USDT sample closed, row 100 in progress (open 18818.05);
row 100 closes at 18932 / 18800 / 18863.9 (vol 1551.894666) and row 101 opens at 18863.9.
Each test advances the replay from the test thread while a watch waits on the client loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import ccxt
import pytest

from tests.contract.conftest import btc_rows, ccxt_client

ROW100_OPEN_MS = 1607140800000


@pytest.fixture
def venue(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def run(venue: Any, scenario: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``scenario(client)`` with a ccxt.pro client; close it afterwards."""

    async def main() -> Any:
        client = ccxt_client(venue, pro=True)
        await client.load_markets()
        try:
            return await scenario(client)
        finally:
            await client.close()

    return asyncio.run(main())


async def advance_when_subscribed(venue: Any, stream: str, steps: int = 1) -> None:
    """Wait until the watch has subscribed to ``stream``, then step the replay."""
    await asyncio.to_thread(venue.wait_for_listener, stream)
    await asyncio.to_thread(venue.advance, steps)


def test_watch_ohlcv_gets_the_closed_bar_then_the_new_one(venue: Any) -> None:
    async def scenario(client: Any) -> tuple[list[list[float]], list[list[float]]]:
        watch = asyncio.ensure_future(client.watch_ohlcv("BTC/USDT", "1h"))
        await advance_when_subscribed(venue, "btcusdt@kline_1h")
        first = await asyncio.wait_for(watch, 5)
        watch = asyncio.ensure_future(client.watch_ohlcv("BTC/USDT", "1h"))
        await advance_when_subscribed(venue, "btcusdt@kline_1h")
        return first, await asyncio.wait_for(watch, 5)

    first, second = run(venue, scenario)
    # Each step sends the bar that closed (full values), then the one that opened (open only).
    assert first[0] == [ROW100_OPEN_MS, 18818.05, 18932.0, 18800.0, 18863.9, 1551.894666]
    assert second[0] == [
        ROW100_OPEN_MS + 3_600_000,
        18863.9,
        18970.0,
        18840.69,
        18954.42,
        1647.778313,
    ]


def test_watch_trades_gets_the_trade_of_each_bar_open(venue: Any) -> None:
    async def scenario(client: Any) -> list[dict[str, Any]]:
        watch = asyncio.ensure_future(client.watch_trades("BTC/USDT"))
        await advance_when_subscribed(venue, "btcusdt@trade")
        trades: list[dict[str, Any]] = await asyncio.wait_for(watch, 5)
        return trades

    trades = run(venue, scenario)
    assert [(t["timestamp"], t["price"], t["id"]) for t in trades] == [
        (ROW100_OPEN_MS + 3_600_000, 18863.9, "102")  # row 101 opened; ids are row + 1
    ]


def test_watch_order_book_follows_the_price(venue: Any) -> None:
    async def scenario(client: Any) -> dict[str, Any]:
        watch = asyncio.ensure_future(client.watch_order_book("BTC/USDT"))
        await advance_when_subscribed(venue, "btcusdt@depth")
        await asyncio.wait_for(watch, 5)
        watch = asyncio.ensure_future(client.watch_order_book("BTC/USDT"))
        await advance_when_subscribed(venue, "btcusdt@depth")
        book: dict[str, Any] = await asyncio.wait_for(watch, 5)
        return book

    book = run(venue, scenario)
    # Two steps: row 102 is in progress; the best ask is its open.
    assert book["asks"][0][0] == 18955.83
    assert book["bids"][0][0] == 18955.82
    assert len(book["asks"]) == 20  # the synthetic book's depth; stale levels were removed
    assert book["bids"][0][0] < book["asks"][0][0]


def test_watch_orders_gets_execution_reports(venue: Any) -> None:
    async def scenario(client: Any) -> list[dict[str, Any]]:
        watch = asyncio.ensure_future(client.watch_orders("BTC/USDT"))
        await asyncio.to_thread(venue.wait_for_listener, user=True)
        await client.create_order(
            "BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "w-1"}
        )
        orders: list[dict[str, Any]] = await asyncio.wait_for(watch, 5)
        for _ in range(3):  # NEW, then TRADE: read until the fill is seen
            if orders[-1]["status"] == "closed":
                break
            orders = await asyncio.wait_for(client.watch_orders("BTC/USDT"), 5)
        return orders

    orders = run(venue, scenario)
    last = orders[-1]
    assert (last["clientOrderId"], last["status"], last["filled"]) == ("w-1", "closed", 0.01)
    assert last["average"] == 18818.05


def test_a_dropped_websocket_reaches_ccxt_as_a_network_error(venue: Any) -> None:
    async def scenario(client: Any) -> None:
        watch = asyncio.ensure_future(client.watch_ohlcv("BTC/USDT", "1h"))
        await asyncio.to_thread(venue.wait_for_listener, "btcusdt@kline_1h")
        await asyncio.to_thread(venue.inject, "ws_drop")
        await asyncio.wait_for(watch, 5)

    with pytest.raises(ccxt.NetworkError):
        run(venue, scenario)


def test_a_stalled_websocket_stays_silent_until_resumed(venue: Any) -> None:
    async def scenario(client: Any) -> tuple[bool, list[list[float]]]:
        watch = asyncio.ensure_future(client.watch_ohlcv("BTC/USDT", "1h"))
        await asyncio.to_thread(venue.wait_for_listener, "btcusdt@kline_1h")
        await asyncio.to_thread(venue.inject, "ws_stall")
        await asyncio.to_thread(venue.advance, 1)
        done, _ = await asyncio.wait({watch}, timeout=0.5)
        silent = not done
        await asyncio.to_thread(venue.inject, "ws_resume")
        await asyncio.to_thread(venue.advance, 1)
        return silent, await asyncio.wait_for(watch, 5)

    silent, candles = run(venue, scenario)
    assert silent
    assert candles[-1][0] >= ROW100_OPEN_MS + 3_600_000  # messages flow again after resume


def test_raw_subscribe_ack_combined_streams_and_listen_key(venue: Any) -> None:
    http, ws = venue.urls["http"], venue.urls["ws"]

    async def scenario() -> tuple[Any, ...]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{ws}/ws") as raw:
                await raw.send_str(
                    json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7})
                )
                ack = json.loads((await raw.receive(timeout=5)).data)
            headers = {"X-MBX-APIKEY": "any"}
            async with session.post(f"{http}/api/v3/userDataStream", headers=headers) as answer:
                key = (await answer.json())["listenKey"]
            async with (
                session.ws_connect(f"{ws}/stream?streams=btcusdt@kline_1h") as combined,
                session.ws_connect(f"{ws}/ws/{key}") as user,
            ):
                await asyncio.to_thread(venue.advance, 1)
                wrapped = json.loads((await combined.receive(timeout=5)).data)
                client = ccxt_client(venue)
                await asyncio.to_thread(client.load_markets)
                await asyncio.to_thread(client.create_order, "BTC/USDT", "market", "buy", 0.01)
                report = json.loads((await user.receive(timeout=5)).data)
                balance = json.loads((await user.receive(timeout=5)).data)
            return ack, wrapped, report, balance

    ack, wrapped, report, balance = asyncio.run(scenario())
    assert ack == {"result": None, "id": 7}
    assert wrapped["stream"] == "btcusdt@kline_1h"
    assert wrapped["data"]["k"]["x"] is True  # row 100 closed
    assert wrapped["data"]["k"]["c"] == "18863.90000000"
    assert (report["e"], report["x"], report["X"]) == ("executionReport", "NEW", "NEW")
    assert balance["e"] == "outboundAccountPosition"


def test_speed_moves_the_clock_without_commands(exchange_factory: Any) -> None:
    rows = btc_rows(300)
    fast = exchange_factory(rows, speed=3600.0 * 5, history=100)  # 5 bars a second

    async def scenario(client: Any) -> list[float]:
        for _ in range(5):  # skip an open-only candle if the subscription fell between two
            candles = await asyncio.wait_for(client.watch_ohlcv("BTC/USDT", "1h"), 5)
            closed = [c for c in candles if c[5] > 0]
            if closed:
                return list(closed[0])
        raise AssertionError("no closed candle arrived")

    # Nobody stepped the replay: a bar at or after row 100 closed on its own, with the
    # sample's values (which one depends on how fast the client subscribed).
    first = run(fast, scenario)
    assert first[0] >= ROW100_OPEN_MS
    row = rows[rows["timestamp"] == first[0]].iloc[0]
    assert first == [
        int(row["timestamp"]),
        *(float(row[c]) for c in ("open", "high", "low", "close", "volume")),
    ]


def test_a_stream_named_in_the_url_hears_what_is_published_while_its_latest_kline_goes_out(
    venue: Any,
) -> None:
    # A client of /ws/<stream> is sent the stream's latest kline first. The hub used to add
    # the connection to its listeners only after that send, so a step published meanwhile
    # (row 101 closing, row 102 opening) never reached it: it held row 101's opening and next
    # heard row 102 close, and a feed took the opening for row 101's final version.
    venue.advance(1)  # row 100 closes, row 101 opens: the stream's latest kline
    hub = venue._app.hub
    send_latest = hub._send_latest

    async def step_while_sending(connection: Any, streams: Any) -> None:
        await send_latest(connection, streams)
        await venue._app.step()  # the driver steps before the handler goes on

    hub._send_latest = step_while_sending

    async def scenario() -> list[tuple[int, bool]]:
        url = f"{venue.urls['ws']}/ws/btcusdt@kline_1h"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as raw:
            heard = []
            for _ in range(3):
                kline = json.loads((await raw.receive(timeout=5)).data)["k"]
                heard.append((kline["t"], kline["x"]))
            return heard

    hour = 3_600_000
    assert asyncio.run(scenario()) == [
        (ROW100_OPEN_MS + hour, False),  # row 101's opening, the latest kline
        (ROW100_OPEN_MS + hour, True),  # row 101 closes
        (ROW100_OPEN_MS + 2 * hour, False),  # row 102 opens
    ]
