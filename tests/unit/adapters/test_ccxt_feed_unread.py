"""Candles ccxt cached while no watch waited: the feed reads them, never waits for more.

`CachingExchange` stands in for a ccxt.pro exchange the way ccxt handles kline messages:
``handle_ohlcv`` (which the feed wraps, as it wraps ccxt's) updates the candle cache and
resolves the watch waiting, if any; a message that comes while none waits is only cached,
and the next watch returns on the next message. A venue that runs ahead of its reader
(the local exchange at ``--speed max``) can send its last messages in that window and
then say nothing more.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from engine.adapters.ccxt.feed import CcxtFeed, FeedOptions
from engine.adapters.ccxt.merge import NS_PER_MS, candle_bar
from engine.model import Bar

MIN = 60_000
T0 = 1_700_000_040_000 - 1_700_000_040_000 % MIN  # a minute boundary


def candle(index: int, close: float, volume: float) -> list[float]:
    return [T0 + index * MIN, 100.0, max(100.0, close), min(100.0, close), close, volume]


def kline(row: list[float], final: bool) -> dict[str, Any]:
    """Return Binance's kline message of ``row`` (``final``: its ``"x"``)."""
    values = dict(zip("ohlcv", (str(v) for v in row[1:6]), strict=True))
    return {"e": "kline", "k": {"t": int(row[0]), "s": "AB", "i": "1m", "x": final, **values}}


def two_candles() -> list[list[float]]:
    return [candle(0, 101.0, 2.0), candle(1, 102.0, 3.0)]


def opening(index: int) -> list[float]:
    return [T0 + index * MIN, 100.0, 100.0, 100.0, 100.0, 0.0]


class CachingExchange:
    """REST rows closed by a clock the test sets; kline messages handled as ccxt does."""

    id = "caching"
    timeframes: ClassVar[dict[str, str]] = {"1m": "1m"}

    def __init__(self, rest: list[list[float]], now_ms: int) -> None:
        self.has = {"fetchOHLCV": True, "watchOHLCV": True, "fetchTime": True}
        self.rest = rest
        self.now = now_ms
        self.ohlcvs: dict[str, dict[str, list[list[float]]]] = {}
        self.clients: dict[str, Any] = {}
        self.newUpdates = True
        self.waiter: asyncio.Future[list[list[float]]] | None = None
        self.unreturned: list[list[float]] = []  # updates no watch has returned yet
        self.meanwhile: list[dict[str, Any]] = []  # messages arriving before the next watch
        self.watches = 0

    def parse_timeframe(self, timeframe: str) -> int:
        return {"1m": 60}[timeframe]

    def milliseconds(self) -> int:
        return self.now

    async def load_markets(self) -> dict[str, Any]:
        return {"A/B": {"id": "AB"}}

    async def fetch_time(self) -> int:
        return self.now

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        rows = [r for r in self.rest if since is None or r[0] >= since]
        return rows[: limit or len(rows)]

    def handle_ohlcv(self, client: Any, message: dict[str, Any]) -> None:
        k = message["k"]
        row = [int(k["t"]), *(float(k[key]) for key in "ohlcv")]
        cache = self.ohlcvs.setdefault("A/B", {}).setdefault("1m", [])
        cache[:] = [c for c in cache if c[0] != row[0]] + [row]
        cache.sort(key=lambda c: c[0])
        self.unreturned = [c for c in self.unreturned if c[0] != row[0]] + [row]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(list(self.unreturned))
            self.unreturned = []
        self.waiter = None

    def deliver(self, message: dict[str, Any]) -> None:
        """A message reaches the client: through ``handle_ohlcv`` as the feed wrapped it."""
        self.handle_ohlcv(None, message)

    async def watch_ohlcv(self, symbol: str, timeframe: str) -> list[list[float]]:
        self.watches += 1
        self.waiter = asyncio.get_running_loop().create_future()
        result = await self.waiter
        for message in self.meanwhile:  # handled before the feed watches again
            self.deliver(message)
        self.meanwhile = []
        return result

    async def close(self) -> None:
        return None


async def until_watching(exchange: CachingExchange) -> None:
    while exchange.waiter is None:
        await asyncio.sleep(0)


class Reading:
    """Reads a feed's stream (from candle 0's open on) into ``events``, in the background."""

    def __init__(self, feed: CcxtFeed) -> None:
        self.feed = feed
        self.events: list[Bar] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for event in self.feed.stream(T0 * NS_PER_MS):
            assert isinstance(event, Bar)
            self.events.append(event)

    async def end(self, guard_s: float) -> bool:
        """Return True if the stream ended by itself (``guard_s``: the fault is a hang)."""
        await asyncio.wait({self.task}, timeout=guard_s)
        finished = self.task.done()
        self.task.cancel()
        await self.feed.close()
        return finished


def test_candles_cached_while_no_watch_waited_are_handed_over_without_another_message() -> None:
    # The live node's practice run (`kestrel live --replay --speed max`) hung in 3 of 6
    # runs: the exchange's last messages (a final candle, the next one's opening) came
    # between two watches, so only ccxt's cache held them, and the feed, its session
    # empty after handing over the final candle it had read, waited for one more
    # message that never came. The stall bound is set far away: the feed must not need it.
    async def scenario() -> list[Bar]:
        rows = two_candles()
        exchange = CachingExchange(rows, now_ms=T0 + 1)  # candle 0 in progress
        until = (T0 + 2 * MIN) * NS_PER_MS  # the data's last bar opens then (candle 2)
        options = FeedOptions(stale_after_s=3600.0, until_ns=until)
        feed = CcxtFeed(exchange, ["A/B"], "1m", options)
        reading = Reading(feed)
        await until_watching(exchange)
        exchange.deliver(kline(opening(0), final=False))
        await until_watching(exchange)
        # the exchange runs to its end: candle 0's close read by a watch, the rest meanwhile
        exchange.now = T0 + 2 * MIN
        exchange.meanwhile = [
            kline(opening(1), final=False),
            kline(rows[1], final=True),
            kline(opening(2), final=False),
        ]
        exchange.deliver(kline(rows[0], final=True))
        finished = await reading.end(5.0)
        assert finished, f"the stream waits after {len(reading.events)} bars for a message"
        assert feed.stats.stale == 0  # not recovered by the stall bound: read from the cache
        return reading.events

    events = asyncio.run(scenario())
    assert events == [candle_bar("A/B", row, MIN) for row in two_candles()]


class FailingClient:
    """The connection the feed fails when its candle stream is stale."""

    def __init__(self, exchange: CachingExchange) -> None:
        self.exchange = exchange
        self.subscriptions = {"ohlcv::A/B::1m": True}
        self.futures: dict[str, Any] = {}
        self.errors: list[BaseException] = []

    def on_error(self, error: BaseException) -> None:
        self.errors.append(error)
        waiter = self.exchange.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


def test_a_stream_silent_after_some_bars_is_declared_stale_and_rest_finishes_the_data() -> None:
    # Whatever leaves a stream silent, the stall bound fires: the connection is failed and
    # REST hands over the bars up to the exchange clock, to the end of the data.
    async def scenario() -> tuple[list[Bar], CcxtFeed, CachingExchange]:
        rows = [candle(i, 101.0 + i, 2.0 + i) for i in range(4)]
        exchange = CachingExchange(rows, now_ms=T0 + 1)
        exchange.clients = {"ws": FailingClient(exchange)}
        until = (T0 + 4 * MIN) * NS_PER_MS
        feed = CcxtFeed(exchange, ["A/B"], "1m", FeedOptions(stale_after_s=0.2, until_ns=until))
        reading = Reading(feed)
        await until_watching(exchange)
        exchange.deliver(kline(rows[0], final=True))
        await until_watching(exchange)
        exchange.deliver(kline(opening(1), final=False))
        exchange.now = T0 + 4 * MIN + 1  # candles 1..3 closed; the socket says nothing more
        assert await reading.end(10.0), f"the stream waits after {len(reading.events)} bars"
        return reading.events, feed, exchange

    events, feed, exchange = asyncio.run(scenario())
    assert events == [candle_bar("A/B", candle(i, 101.0 + i, 2.0 + i), MIN) for i in range(4)]
    assert (feed.stats.stream_bars, feed.stats.rest_bars) == (1, 3)
    assert (feed.stats.stale, feed.stats.recovered) == (1, 1)
    assert len(exchange.clients["ws"].errors) == 1  # the stale connection was failed


def test_a_stream_past_the_end_stops_watching_so_its_silence_is_no_stall() -> None:
    # A replay's feed holds every bar to its end while the node still handles the first
    # ones: the candle stream, with nothing more to say, is not declared stale meanwhile
    # (a needless reconnect and reconciliation of the live node).
    async def scenario() -> tuple[list[Bar], CcxtFeed, CachingExchange]:
        rows = two_candles()
        exchange = CachingExchange(rows, now_ms=T0 + 1)
        exchange.clients = {"ws": FailingClient(exchange)}
        until = (T0 + 2 * MIN) * NS_PER_MS
        feed = CcxtFeed(exchange, ["A/B"], "1m", FeedOptions(stale_after_s=0.05, until_ns=until))
        stream = feed.stream(T0 * NS_PER_MS)
        first = asyncio.ensure_future(anext(stream))
        await until_watching(exchange)
        exchange.now = T0 + 2 * MIN
        exchange.meanwhile = [kline(rows[1], final=True), kline(opening(2), final=False)]
        exchange.deliver(kline(rows[0], final=True))
        events = [await first]
        await asyncio.sleep(0.3)  # the node handles its bar: six of the stall bounds pass
        events.extend([event async for event in stream])
        await feed.close()
        return events, feed, exchange

    events, feed, exchange = asyncio.run(scenario())
    assert events == [candle_bar("A/B", row, MIN) for row in two_candles()]
    assert (feed.stats.stale, feed.stats.recovered, feed.stats.rest_bars) == (0, 0, 0)
    assert exchange.clients["ws"].errors == []
    assert exchange.watches == 1  # the second bar came from ccxt's cache, then it stopped
