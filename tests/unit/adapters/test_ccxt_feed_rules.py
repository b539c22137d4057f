"""The live feed's rules without a network: closed candles, sessions, the merge, errors.

`FakeExchange` stands in for a ccxt.pro exchange: REST candles from a list, a clock the test
sets, and ``watch_ohlcv`` results (or errors) the test queues.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import ccxt
import pytest

from engine.adapters.ccxt.capabilities import Capabilities, capabilities
from engine.adapters.ccxt.feed import CcxtFeed, FeedOptions, open_feed
from engine.adapters.ccxt.merge import (
    NS_PER_MS,
    CandleSession,
    EventMerger,
    SessionUpdate,
    candle_bar,
    candle_problem,
    closed_rows,
    kline_message,
    quote_problem,
    trade_problem,
)
from engine.adapters.ccxt.watch import FeedStats, Sessions, TickStreams, default_stale_after_s
from engine.errors import (
    ConfigError,
    ExchangeError,
    ExchangeInputError,
    ExchangeTransientError,
    InternalError,
)
from engine.model import Bar, QuoteTick, TradeTick

MIN = 60_000
T0 = 1_700_000_040_000 - 1_700_000_040_000 % MIN  # a minute boundary


def candle(index: int, close: float, volume: float) -> list[float]:
    return [T0 + index * MIN, 100.0, max(100.0, close), min(100.0, close), close, volume]


class FakeClient:
    """The websocket connection the feed closes when a stream is stale."""

    def __init__(self, exchange: FakeExchange, message_hash: str) -> None:
        self.exchange = exchange
        self.subscriptions = {message_hash: True}
        self.futures: dict[str, Any] = {}
        self.errors: list[BaseException] = []

    def on_error(self, error: BaseException) -> None:
        self.errors.append(error)
        if self.exchange.waiting is not None and not self.exchange.waiting.done():
            self.exchange.waiting.set_exception(error)


class FakeExchange:
    id = "fake"
    timeframes: ClassVar[dict[str, str]] = {"1m": "1m", "1h": "1h"}

    def __init__(self, rest: list[list[float]], now_ms: int) -> None:
        self.has = {"fetchOHLCV": True, "watchOHLCV": True, "fetchTime": True}
        self.rest = {"A/B": rest, "C/D": []}
        self.now = now_ms
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.waiting: asyncio.Future[Any] | None = None
        self.ohlcvs: dict[str, Any] = {}
        self.clients = {"ws": FakeClient(self, "ohlcv::A/B::1m")}
        self.newUpdates = False
        self.closed = False

    def parse_timeframe(self, timeframe: str) -> int:
        return {"1m": 60, "1h": 3600}[timeframe]

    def milliseconds(self) -> int:
        return self.now

    async def load_markets(self) -> dict[str, Any]:
        return {"A/B": {}, "C/D": {}}

    async def fetch_time(self) -> int:
        return self.now

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        rows = [r for r in self.rest[symbol] if since is None or r[0] >= since]
        return rows[: limit or len(rows)]

    async def watch_ohlcv(self, symbol: str, timeframe: str) -> list[list[float]]:
        self.waiting = asyncio.get_running_loop().create_future()
        getter = asyncio.ensure_future(self.queue.get())
        done, _ = await asyncio.wait({getter, self.waiting}, return_when=asyncio.FIRST_COMPLETED)
        if self.waiting in done:
            getter.cancel()
            raise self.waiting.exception()  # type: ignore[misc]
        item = getter.result()
        if isinstance(item, BaseException):
            raise item
        return list(item)

    async def close(self) -> None:
        self.closed = True


class Reader:
    """Reads a feed's stream with a timeout, without cancelling the generator on timeout."""

    def __init__(self, feed: CcxtFeed, since_ns: int | None) -> None:
        self.events: AsyncIterator[Any] = feed.stream(since_ns)
        self.pending: asyncio.Future[Any] | None = None

    def _waiter(self) -> asyncio.Future[Any]:
        if self.pending is None:
            self.pending = asyncio.ensure_future(anext(self.events))
        return self.pending

    async def next(self, timeout: float = 2.0) -> Any:
        waiter = self._waiter()
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
        if not done:
            raise AssertionError(f"no event within {timeout} s")
        self.pending = None
        return waiter.result()

    async def nothing_within(self, timeout: float = 0.15) -> bool:
        done, _ = await asyncio.wait({self._waiter()}, timeout=timeout)
        return not done


def feed_of(exchange: FakeExchange, **options: Any) -> CcxtFeed:
    options.setdefault("reconnect_backoff_s", 0.0)
    return CcxtFeed(exchange, ["A/B"], "1m", FeedOptions(**options))


def test_closed_rows_need_the_clock_read_before_the_request_past_their_close() -> None:
    rows = [candle(0, 101.0, 5.0), candle(1, 102.0, 6.0), candle(2, 103.0, 1.0)]
    now = T0 + 2 * MIN + 30_000  # candle 2 is in progress
    assert closed_rows(rows, MIN, now, T0 + MIN) == [rows[1]]  # candle 0 closes at T0 + MIN
    assert closed_rows(rows, MIN, now, T0) == rows[:2]
    assert closed_rows(rows, MIN, T0 + 3 * MIN, T0 + MIN) == rows[1:]


def test_a_session_hands_over_a_candle_once_a_later_one_has_opened() -> None:
    session = CandleSession()
    assert session.update([candle(0, 100.5, 1.0)]) == ([], T0, [])
    assert session.update([candle(0, 101.0, 2.0)]) == ([], T0, [])  # still in progress
    update = session.update([candle(0, 101.5, 3.0), candle(1, 100.0, 0.1)])
    assert update == SessionUpdate([candle(0, 101.5, 3.0)], T0 + MIN, [])
    assert session.update([candle(1, 100.2, 0.2)]) == ([], T0 + MIN, [])  # handed over once
    session.reset()
    assert session.newest is None
    assert session.update([candle(2, 99.0, 1.0)]) == ([], T0 + 2 * MIN, [])


def test_where_the_venue_marks_final_versions_only_those_are_handed_over() -> None:
    # Audit F1: the session held candle 1's opening; its final version was never read (ccxt's
    # cache evicted it), and candle 4 opened. The opening is not a bar: REST is asked.
    session = CandleSession()
    opening = [T0 + MIN, 100.0, 100.0, 100.0, 100.0, 0.0]
    finals = {T0: candle(0, 101.5, 3.0)}
    assert session.update([candle(0, 101.0, 2.0), opening], finals) == (
        [candle(0, 101.5, 3.0)],  # the version the venue marked final, not the one last read
        T0 + MIN,
        [],
    )
    later = [candle(3, 99.0, 8.0), candle(4, 98.0, 0.1)]
    finals[T0 + 3 * MIN] = candle(3, 99.0, 8.0)
    assert session.update(later, finals) == ([candle(3, 99.0, 8.0)], T0 + 4 * MIN, [T0 + MIN])
    assert session.update([candle(4, 98.5, 0.5)], finals) == ([], T0 + 4 * MIN, [])
    finals[T0 + 4 * MIN] = candle(4, 98.5, 0.7)  # marked final: no later candle to wait for
    assert session.update([candle(4, 98.5, 0.7)], finals) == (
        [candle(4, 98.5, 0.7)],
        T0 + 4 * MIN,
        [],
    )
    assert session.newest is None


def test_a_binance_kline_message_says_which_version_is_final() -> None:
    kline = {"t": T0, "s": "ABUSD", "i": "1m", "o": "1.5", "h": "2", "l": "1", "c": "1.75",
             "v": "3.25", "x": True}  # fmt: skip
    message = {"e": "kline", "E": T0 + 5, "s": "ABUSD", "k": kline}
    assert kline_message(message) == ("ABUSD", "1m", True, [T0, 1.5, 2.0, 1.0, 1.75, 3.25])
    assert kline_message({**message, "k": {**kline, "x": False}}) == (
        "ABUSD", "1m", False, [T0, 1.5, 2.0, 1.0, 1.75, 3.25],
    )  # fmt: skip
    assert kline_message({**message, "k": {**kline, "c": None}}) is None
    assert kline_message({"k": {**kline, "x": 1}}) is None  # not Binance's flag
    assert kline_message(["okx", "candle"]) is None


def test_a_bar_is_stamped_with_its_close_time() -> None:
    bar = candle_bar("A/B", [T0, 1.0, 2.0, 0.5, 1.5, None], MIN)
    assert bar == Bar("A/B", (T0 + MIN) * 10**6, (T0 + MIN) * 10**6, 1.0, 2.0, 0.5, 1.5, 0.0,
                      MIN * 10**6)  # fmt: skip


def test_the_merge_orders_by_close_time_ties_in_symbol_order_ticks_after_bars() -> None:
    merger = EventMerger(["B", "A"])
    a1 = candle_bar("A", candle(0, 101.0, 1.0), MIN)
    b1 = candle_bar("B", candle(0, 99.0, 1.0), MIN)
    trade = TradeTick("A", a1.ts_event, a1.ts_event, 101.0, 0.5, "buy", "7")
    merger.add_bar(a1)
    merger.add_tick(trade)
    merger.advance("A", a1.ts_event + MIN * 10**6)
    assert merger.ready() == []  # B may still close a bar at the same time
    merger.add_bar(b1)
    merger.advance("B", b1.ts_event + MIN * 10**6)
    assert merger.ready() == [b1, a1, trade]
    old = QuoteTick("B", b1.ts_event - 1, b1.ts_event - 1, 98.0, 99.0, 1.0, 1.0)
    merger.add_tick(old)
    assert merger.ready() == []
    assert merger.late_ticks == 1
    with pytest.raises(InternalError):
        merger.add_bar(a1)  # the same bar twice is a bug upstream


def test_an_in_progress_candle_never_becomes_a_bar() -> None:
    async def scenario() -> None:
        exchange = FakeExchange([candle(0, 101.0, 5.0)], now_ms=T0 + MIN + 1)
        feed = feed_of(exchange)
        events = Reader(feed, (T0 + MIN) * 10**6)  # candle 0 is already known
        exchange.queue.put_nowait([candle(1, 100.5, 1.0)])
        exchange.queue.put_nowait([candle(1, 102.0, 9.0)])
        assert await events.nothing_within()
        exchange.queue.put_nowait([candle(1, 102.5, 9.5), candle(2, 102.5, 0.1)])
        bar = await events.next()
        assert bar == candle_bar("A/B", candle(1, 102.5, 9.5), MIN)
        assert exchange.newUpdates is True  # the rule needs ccxt's new-updates mode
        await feed.close()
        assert exchange.closed

    asyncio.run(scenario())


def test_a_candle_updated_before_a_drop_is_taken_from_rest_not_the_old_session() -> None:
    async def scenario() -> None:
        final = candle(1, 104.0, 12.0)  # what the venue ends candle 1 with
        exchange = FakeExchange([candle(0, 101.0, 5.0)], now_ms=T0 + MIN + 1)
        feed = feed_of(exchange)
        events = Reader(feed, (T0 + MIN) * 10**6)
        assert await events.nothing_within(0.05)  # the stream runs, caught up
        exchange.queue.put_nowait([candle(1, 102.0, 3.0)])  # stale values once dropped
        exchange.queue.put_nowait(ccxt.NetworkError("connection closed"))
        assert await events.nothing_within(0.05)
        exchange.rest["A/B"] += [final, candle(2, 100.0, 0.1)]
        exchange.now = T0 + 2 * MIN + 5
        exchange.queue.put_nowait([candle(2, 100.0, 0.2)])
        assert await events.next() == candle_bar("A/B", final, MIN)
        assert feed.stats.reconnects == 1
        assert feed.stats.rest_bars == 1
        await feed.close()

    asyncio.run(scenario())


def test_a_silent_stream_is_declared_stale_and_filled_over_rest() -> None:
    async def scenario() -> None:
        rows = [candle(i, 100.0 + i, 1.0 + i) for i in range(4)]
        exchange = FakeExchange(rows, now_ms=T0 + MIN + 1)
        feed = feed_of(exchange, stale_after_s=0.1)
        events = Reader(feed, (T0 + MIN) * 10**6)
        assert await events.nothing_within(0.05)
        exchange.now = T0 + 4 * MIN  # candles 1..3 closed while the socket said nothing
        got = [await events.next() for _ in range(3)]
        assert got == [candle_bar("A/B", row, MIN) for row in rows[1:]]
        assert feed.stats.stale >= 1
        assert isinstance(exchange.clients["ws"].errors[0], ccxt.NetworkError)
        await feed.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "group"),
    [
        (ccxt.BadSymbol("binance does not have market symbol A/B"), ExchangeInputError),
        (ccxt.ExchangeError("something odd"), ExchangeError),
    ],
)
def test_a_non_network_watch_error_ends_the_stream_in_its_group(
    error: Exception, group: type[ExchangeError]
) -> None:
    async def scenario() -> None:
        exchange = FakeExchange([candle(0, 101.0, 5.0)], now_ms=T0 + MIN + 1)
        feed = feed_of(exchange)
        events = Reader(feed, (T0 + MIN) * 10**6)
        exchange.queue.put_nowait(error)
        with pytest.raises(group) as caught:
            await events.next()
        assert "fake: watching A/B 1m candles" in str(caught.value)
        assert not isinstance(caught.value, ExchangeTransientError)

    asyncio.run(scenario())


def test_reconnects_are_bounded() -> None:
    async def scenario() -> None:
        exchange = FakeExchange([candle(0, 101.0, 5.0)], now_ms=T0 + MIN + 1)
        feed = feed_of(exchange, max_failures=3)
        events = Reader(feed, (T0 + MIN) * 10**6)
        for _ in range(3):
            exchange.queue.put_nowait(ccxt.NetworkError("refused"))
        with pytest.raises(ExchangeTransientError, match="gave up after 3 reconnects"):
            await events.next()

    asyncio.run(scenario())


def test_inputs_are_checked_before_streaming() -> None:
    async def first(feed: CcxtFeed) -> Any:
        return await Reader(feed, None).next()

    exchange = FakeExchange([], now_ms=T0)
    with pytest.raises(ExchangeInputError, match="has no timeframe '5m'"):
        asyncio.run(first(CcxtFeed(exchange, ["A/B"], "5m")))
    with pytest.raises(ExchangeInputError, match="live trades need websockets"):
        asyncio.run(first(CcxtFeed(exchange, ["A/B"], "1m", FeedOptions(trades=True))))
    with pytest.raises(ConfigError, match="given once each"):
        CcxtFeed(exchange, ["A/B", "A/B"], "1m")
    with pytest.raises(ConfigError, match=r"no timeframe for \['C/D'\]"):
        CcxtFeed(exchange, ["A/B", "C/D"], {"A/B": "1m"})
    with pytest.raises(ExchangeInputError, match="has no timeframe '5m'"):
        asyncio.run(first(CcxtFeed(exchange, ["A/B", "C/D"], {"A/B": "1m", "C/D": "5m"})))


def test_a_backfilling_trade_stream_holds_later_events_until_it_is_done() -> None:
    merger = EventMerger(["A"])
    bar = candle_bar("A", candle(0, 101.0, 1.0), MIN)
    merger.add_bar(bar)
    merger.advance("A", bar.ts_event + MIN * 10**6)
    merger.hold("trades:A", bar.ts_event - 10)
    assert merger.ready() == []
    missed = TradeTick("A", bar.ts_event - 5, bar.ts_event - 5, 100.5, 0.1, "sell", "41")
    merger.add_tick(missed)  # found by the backfill: older than the bar, still in time
    merger.release("trades:A")
    assert merger.ready() == [missed, bar]
    assert merger.late_ticks == 0


def test_a_gap_before_a_stream_candle_is_filled_even_if_the_rest_clock_lags() -> None:
    async def scenario() -> None:
        rows = [candle(0, 101.0, 5.0), candle(1, 102.0, 6.0)]
        exchange = FakeExchange(rows, now_ms=T0 + MIN + 1)
        feed = feed_of(exchange)
        events = Reader(feed, (T0 + MIN) * 10**6)
        assert await events.nothing_within(0.05)
        exchange.now = T0 + 2 * MIN - 1  # REST's clock: candle 1 not closed yet
        exchange.queue.put_nowait([candle(2, 100.0, 0.1)])  # the stream: candle 2 opened
        exchange.queue.put_nowait([candle(2, 103.0, 4.0), candle(3, 103.0, 0.1)])
        got = [await events.next(), await events.next()]
        assert got == [
            candle_bar("A/B", rows[1], MIN),
            candle_bar("A/B", candle(2, 103.0, 4.0), MIN),
        ]
        await feed.close()

    asyncio.run(scenario())


def test_the_staleness_bound_comes_from_the_venues_cadence_else_the_timeframe() -> None:
    assert default_stale_after_s(MIN, Capabilities()) == 70.0  # 60 s + at least 10 s
    assert default_stale_after_s(3_600_000, Capabilities()) == 3960.0  # 1 h + 6 min
    assert default_stale_after_s(3_600_000, capabilities("binance")) == 30.0  # pushes every 2 s
    assert capabilities("local").candle_push_s is None  # speaks only at opens and closes
    local = open_feed("binance", ["BTC/USDT"], "1h", local_url="http://127.0.0.1:9")
    assert local.caps == capabilities("local")  # not Binance's: it is not Binance
    asyncio.run(local.exchange.close())


def test_settled_says_when_everything_up_to_a_time_is_out() -> None:
    merger = EventMerger(["A"])
    bar = candle_bar("A", candle(0, 101.0, 1.0), MIN)
    assert not merger.settled(bar.ts_event)
    merger.add_bar(bar)
    merger.advance("A", bar.ts_event + MIN * 10**6)
    assert not merger.settled(bar.ts_event)  # still to be popped
    assert merger.ready() == [bar]
    assert merger.settled(bar.ts_event)
    assert not merger.settled(bar.ts_event + MIN * 10**6)


def test_history_returns_the_last_closed_bars_before_a_time_over_pages() -> None:
    rows = [candle(i, 100.0 + i, float(i)) for i in range(10)]
    exchange = FakeExchange(rows, T0 + 9 * MIN + 30_000)  # candle 9 is in progress

    async def run() -> tuple[list[Bar], list[Bar], list[Bar]]:
        feed = feed_of(exchange, page_limit=2)  # five pages for five bars
        await feed.check()
        latest = (await feed.history(5, (T0 + 20 * MIN) * 1_000_000))["A/B"]
        before = (await feed.history(3, (T0 + 6 * MIN + 1) * 1_000_000))["A/B"]
        none = (await feed.history(0, exchange.now * 1_000_000))["A/B"]
        return latest, before, none

    latest, before, none = asyncio.run(run())
    assert latest == [candle_bar("A/B", rows[i], MIN) for i in range(4, 9)]
    assert [bar.close for bar in before] == [103.0, 104.0, 105.0]  # closed by T0 + 6 min
    assert none == []


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ([T0, 1.0, 2.0, 0.5, None, 3.0], "a price or the volume is missing or not a number"),
        ([T0, 1.0, 2.0, 0.5, "x", 3.0], "a price or the volume is missing or not a number"),
        ([T0, 1.0, 2.0, 0.0, 1.5, 3.0], "a price is zero, negative or not finite"),
        ([T0, 1.0, float("nan"), 0.5, 1.5, 3.0], "a price is zero, negative or not finite"),
        ([T0, 1.0, 2.0, 0.5, 1.5, -3.0], "the volume is negative or not finite"),
        ([T0, 1.0, 0.4, 0.5, 1.5, 3.0], "high and low do not bound the open and close"),
        ([T0, 1.0, 2.0, 0.5, 2.5, 3.0], "high and low do not bound the open and close"),
        ([T0, 1.0, 2.0, 0.5, 1.5, None], ""),
        ([T0, 1.0, 1.0, 1.0, 1.0, 0.0], ""),
    ],
)
def test_candle_problem_applies_a_bar_files_rules(row: list[Any], problem: str) -> None:
    assert candle_problem(row) == problem


def test_a_malformed_candle_is_dropped_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A live venue cannot be asked to fix its data and halting leaves the account unwatched:
    # the bar is left out (a gap to the strategy), never delivered at 0 or NaN.
    rows = [candle(i, 100.0 + i, 1.0) for i in range(5)]
    rows[2] = [T0 + 2 * MIN, 100.0, 102.0, 100.0, 0.0, 1.0]  # a close at zero
    rows[3] = [T0 + 3 * MIN, 100.0, 103.0, 100.0, None, 1.0]  # no close

    async def scenario() -> list[Bar]:
        exchange = FakeExchange(rows, now_ms=T0 + 5 * MIN + 1)
        feed = feed_of(exchange, mode="poll", poll_interval_s=0.01)
        events = Reader(feed, T0 * 10**6)
        got = [await events.next(), await events.next(), await events.next()]
        assert await events.nothing_within(0.05)
        assert feed.stats.malformed == 2
        history = (await feed.history(5, (T0 + 5 * MIN) * 10**6))["A/B"]
        await feed.close()
        return got + history

    with caplog.at_level("WARNING", logger="engine.adapters.ccxt.feed"):
        got = asyncio.run(scenario())
    good = [candle_bar("A/B", rows[i], MIN) for i in (0, 1, 4)]
    assert got == good + good  # the stream, then the warm-up history
    assert "dropped a malformed A/B candle (a price is zero, negative or not finite)" in (
        caplog.text
    )
    assert "dropped a malformed A/B candle (a price or the volume is missing" in caplog.text


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ((100.0, 1.0), ""),
        ((100.0, 0.0), ""),
        ((None, 1.0), "the price or amount is missing or not a number"),
        ((0.0, 1.0), "the price is zero, negative or not finite"),
        ((float("inf"), 1.0), "the price is zero, negative or not finite"),
        ((100.0, -1.0), "the amount is negative or not finite"),
    ],
)
def test_trade_problem(values: tuple[Any, Any], problem: str) -> None:
    assert trade_problem(*values) == problem


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ((99.0, 100.0, 1.0, 2.0), ""),
        ((100.0, 100.0, 0.0, 2.0), ""),  # a locked book
        ((101.0, 100.0, 1.0, 2.0), "the bid is above the ask (a crossed book)"),
        ((0.0, 100.0, 1.0, 2.0), "a price is zero, negative or not finite"),
        ((99.0, None, 1.0, 2.0), "a price or size is missing or not a number"),
        ((99.0, 100.0, float("nan"), 2.0), "a size is negative or not finite"),
    ],
)
def test_quote_problem(values: tuple[Any, Any, Any, Any], problem: str) -> None:
    assert quote_problem(*values) == problem


def test_malformed_trades_and_quotes_are_dropped_and_counted() -> None:
    exchange = FakeExchange([], now_ms=T0)
    stats = FeedStats()
    merger = EventMerger(["A/B"])

    async def no_rest(what: str, call: Any) -> Any:
        raise AssertionError(what)

    async def clock() -> int:
        return T0

    streams = TickStreams(
        Sessions(exchange, FeedOptions(), stats), capabilities("binance"), merger, no_rest,
        clock, lambda: None,
    )  # fmt: skip
    trades = [
        {"timestamp": T0 + 1, "price": 100.0, "amount": 1.0, "side": "buy", "id": "1"},
        {"timestamp": T0 + 2, "price": None, "amount": 1.0, "side": "buy", "id": "2"},
        {"timestamp": None, "price": 100.0, "amount": 1.0, "side": "buy", "id": "3"},
        {"timestamp": T0 + 3, "price": 0.0, "amount": 1.0, "side": "sell", "id": "4"},
        {"timestamp": T0 + 4, "price": 101.0, "amount": 2.0, "side": "sell", "id": "5"},
    ]
    for trade in trades:
        streams._add_trade("A/B", trade)
    assert stats.malformed == 3
    merger.advance("A/B", (T0 + 10) * NS_PER_MS)
    ticks = merger.ready()
    assert [(t.price, t.size, t.trade_id) for t in ticks] == [(100.0, 1.0, "1"), (101.0, 2.0, "5")]
    assert not streams._is_new("A/B", trades[2])  # a cached copy is not taken again
