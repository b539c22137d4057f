"""`CcxtFeed` in REST polling mode keeps the LiveFeed contract against the local exchange.

Through real ccxt (what ``kestrel paper --poll`` runs).
closed bars only (the in-progress candle is never yielded), time order across symbols (ties
in the feed's symbol order), each bar exactly once across rounds and pages, catch-up from
``since_ns`` first, the end at ``until_ns``; bad symbols and timeframes refused (exit 2's
group), an unreachable exchange retried and then reported as transient (exit 4's group).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pandas as pd
import pytest

from engine.adapters.ccxt import CcxtFeed, FeedOptions, RetryPolicy, open_feed
from engine.errors import ExchangeInputError, ExchangeTransientError
from engine.feeds import load_bars
from engine.model import Bar
from tests.contract.conftest import REPO, btc_rows, make_exchange

HOUR = 3_600_000_000_000
ETH_CSV = REPO / "data" / "binance_ETH_USDT_1h_20201201_20210717.csv"


def _feed(exchange: Any, symbols: tuple[str, ...] = ("BTC/USDT",), **options: Any) -> CcxtFeed:
    settings = FeedOptions(mode="poll", poll_interval_s=0.01, **options)
    return open_feed("binance", symbols, "1h", settings, local_url=exchange.urls["http"])


async def _take(stream: AsyncIterator[Bar], count: int) -> list[Bar]:
    return [await asyncio.wait_for(anext(stream), timeout=10) for _ in range(count)]


def test_catch_up_yields_every_closed_bar_once_in_order_then_ends() -> None:
    rows = btc_rows(40)
    frame = load_bars(rows, symbol="BTC/USDT", timeframe="1h")
    exchange = make_exchange(rows, paused=True, history=25)  # bars 0..24 closed, 25 open
    try:
        last_closed = int(frame.ts_close_ns[24])

        async def run(page_limit: int) -> list[Bar]:
            feed = _feed(exchange, until_ns=last_closed, page_limit=page_limit)
            try:
                return [bar async for bar in feed.stream(int(frame.ts_open_ns[0]))]
            finally:
                await feed.close()

        for page_limit in (1000, 7):  # one page, or several
            bars = asyncio.run(run(page_limit))
            assert [b.ts_event for b in bars] == frame.ts_close_ns[:25].tolist()
            assert [b.close for b in bars] == frame.close[:25].tolist()
            assert [b.volume for b in bars] == frame.volume[:25].tolist()
            assert {b.timeframe_ns for b in bars} == {HOUR}
    finally:
        exchange.stop()


def test_live_bars_arrive_once_each_as_they_close_and_never_in_progress() -> None:
    rows = btc_rows(40)
    eth = pd.read_csv(ETH_CSV).iloc[:40]
    frame = load_bars(rows, symbol="BTC/USDT", timeframe="1h")
    exchange = make_exchange(rows, {"ETH/USDT": eth}, paused=True, history=10)

    async def run() -> list[list[Bar]]:
        fresh = _feed(exchange, ("ETH/USDT", "BTC/USDT"))
        await fresh.check()  # markets loaded before the clock moves
        assert await fresh.now_ns() == int(frame.ts_open_ns[10])
        stream = fresh.stream(None)  # from now: bar 9 closed before the start, not yielded
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.2)  # the stream has read the clock: "now" is bar 10's open
        assert not first.done()
        first.cancel()
        await fresh.close()
        feed = _feed(exchange, ("ETH/USDT", "BTC/USDT"))
        stream = feed.stream(int(frame.ts_open_ns[10]))
        seen = []
        try:
            for _ in range(3):
                pending = asyncio.ensure_future(_take(stream, 2))
                await asyncio.sleep(0.1)  # several polling rounds with nothing new
                assert not pending.done()
                await asyncio.to_thread(exchange.advance, 1)  # one hour closes
                seen.append(await pending)
            extra = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.1)
            assert not extra.done()  # nothing repeated
            extra.cancel()
        finally:
            await feed.close()
        return seen

    try:
        rounds = asyncio.run(run())
    finally:
        exchange.stop()
    for hour, pair in enumerate(rounds):
        assert [b.symbol for b in pair] == ["ETH/USDT", "BTC/USDT"]  # ties: feed's order
        assert {b.ts_event for b in pair} == {int(frame.ts_close_ns[10 + hour])}
    btc = [pair[1] for pair in rounds]
    assert [b.high for b in btc] == frame.high[10:13].tolist()  # final OHLC, not the open only


def test_unknown_symbol_or_timeframe_is_refused() -> None:
    exchange = make_exchange(btc_rows(5), paused=True, history=2)

    async def check(symbol: str, timeframe: str) -> None:
        feed = open_feed(
            "binance", [symbol], timeframe, FeedOptions(mode="poll"), exchange.urls["http"]
        )
        try:
            await feed.check()
        finally:
            await feed.close()

    try:
        with pytest.raises(ExchangeInputError, match=r"has no symbol 'BTC/USD'.*BTC/USDT"):
            asyncio.run(check("BTC/USD", "1h"))
        with pytest.raises(ExchangeInputError, match="has no timeframe '7m'"):
            asyncio.run(check("BTC/USDT", "7m"))
    finally:
        exchange.stop()
    with pytest.raises(ExchangeInputError, match="unknown exchange 'binanse'"):
        open_feed("binanse", ["BTC/USDT"], "1h")


def test_an_unreachable_exchange_is_retried_then_transient() -> None:
    async def check() -> None:
        options = FeedOptions(mode="poll", retry=RetryPolicy(attempts=2, backoff_s=0))
        feed = open_feed("binance", ["BTC/USDT"], "1h", options, "http://127.0.0.1:9")
        try:
            await feed.check()
        finally:
            await feed.close()

    with pytest.raises(ExchangeTransientError, match="gave up after 2 attempts"):
        asyncio.run(check())
