"""`CcxtFeed` against the local exchange: real ccxt.pro websockets, REST, drops and stalls.

The exchange replays the BTC/USDT 1h sample (rows 0..99 closed at the start). Fast tests
run it at ``FAST`` (five bars a wall second); step-by-step ones keep it paused and advance
it from a background task once the feed has subscribed. Expected bars are the served ones:
the replay's own `Kline.as_bar` of each row, every field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine.adapters.ccxt.capabilities import capabilities
from engine.adapters.ccxt.feed import CcxtFeed, FeedOptions, open_feed
from engine.adapters.local import LocalExchange, payloads
from engine.errors import ExchangeInputError
from engine.feeds import load_bars
from engine.feeds.live import LiveFeed
from engine.model import Bar, Instrument, QuoteTick, TradeTick
from tests.contract.conftest import BTC, SECRET, btc_rows, ccxt_client

FAST = 3600.0 * 5
HOUR_MS = 3_600_000
Action = Callable[[CcxtFeed, int], Awaitable[None]]


def served(venue: Any, first: int, count: int, symbol: str = "BTC/USDT") -> list[Bar]:
    """Return rows ``first..first+count-1`` as the exchange serves them once closed.

    Values as on the wire (Binance's 8-decimal strings: a resampled volume is rounded).
    """
    market = venue.replay.markets[symbol]
    later = market.open_ms[-1] + 10 * HOUR_MS
    bars = []
    for i in range(first, first + count):
        row = payloads.kline_row(market.kline(i, later))
        bar = market.kline(i, later).as_bar(symbol)
        names = ("open", "high", "low", "close", "volume")
        values = [float(v) for v in row[1:6]]
        bars.append(bar._replace(**dict(zip(names, values, strict=True))))
    return bars


def close_ns(venue: Any, row: int) -> int:
    return int(venue.replay.markets["BTC/USDT"].open_ms[row] + HOUR_MS) * 1_000_000


def collect(
    venue: Any,
    count: int,
    since_ns: int | None,
    options: FeedOptions | None = None,
    action: Action | None = None,
    background: Callable[[], Awaitable[None]] | None = None,
    symbols: tuple[str, ...] = ("BTC/USDT",),
    timeframe: str | dict[str, str] = "1h",
    adjust: Callable[[Any], None] | None = None,
) -> tuple[list[Any], CcxtFeed]:
    """Run a feed until ``count`` events; ``action(feed, n)`` runs after the n-th event.

    ``adjust(client)`` may change the ccxt client before the feed starts (slow it down).
    """

    async def main() -> tuple[list[Any], CcxtFeed]:
        client = ccxt_client(venue, pro=True)
        if adjust is not None:
            adjust(client)
        feed = CcxtFeed(client, list(symbols), timeframe, options, capabilities("local"))
        protocol: LiveFeed = feed  # the node sees the feed through the protocol
        helper = asyncio.ensure_future(background()) if background else None
        events: list[Any] = []
        stream = protocol.stream(since_ns)
        try:
            async for event in stream:
                events.append(event)
                if action is not None:
                    await action(feed, len(events))
                if len(events) >= count:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await feed.close()
            if helper is not None:
                helper.cancel()
        return events, feed

    return asyncio.run(asyncio.wait_for(main(), 30))


async def subscribed(venue: Any, *streams: str) -> None:
    for stream in streams:
        await asyncio.to_thread(venue.wait_for_listener, stream)


def test_live_bars_equal_the_served_bars_and_none_is_in_progress(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), speed=FAST, history=100)
    events, feed = collect(venue, 15, close_ns(venue, 97))
    assert events == served(venue, 98, 15)  # every field, in order, no gap, no duplicate
    assert feed.stats.stream_bars > 0  # not all of them came over REST
    assert all(isinstance(e, Bar) and e.volume > 0 for e in events)  # never an open-only one


def test_a_subscription_after_the_replays_last_bar_still_hears_the_bars_missed(
    exchange_factory: Any,
) -> None:
    # `kestrel live --replay --speed max`: the exchange can run to its last bar between the
    # feed's REST catch-up and its websocket subscription. The exchange then pushes nothing
    # more; the subscription must still hear the stream's latest kline (as Binance pushes
    # the current kline every 2 s) and the feed backfill the bars it missed, not wait forever.
    venue = exchange_factory(btc_rows(130), paused=True, history=100)

    async def run_to_the_end(feed: CcxtFeed, n: int) -> None:
        if n == 1:  # blocks this loop: the feed's websocket cannot subscribe before the end
            venue.advance(200)
            assert venue.replay.finished

    events, feed = collect(venue, 25, close_ns(venue, 97), action=run_to_the_end)
    assert events == served(venue, 98, 25)
    # every bar came over REST: the catch-up's two, then the backfill the kline set off
    assert (feed.stats.rest_bars, feed.stats.stream_bars) == (31, 0)


def test_catch_up_pages_history_then_goes_live_without_gap_or_duplicate(
    exchange_factory: Any,
) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)

    async def step_after(feed: CcxtFeed, n: int) -> None:
        if 50 <= n < 52:  # rows 50..99 came from REST; now two bars close live
            await subscribed(venue, "btcusdt@kline_1h")
            await asyncio.to_thread(venue.advance, 1)

    options = FeedOptions(page_limit=7)
    events, feed = collect(venue, 52, close_ns(venue, 49), options, action=step_after)
    assert events == served(venue, 50, 52)
    assert (feed.stats.rest_bars, feed.stats.stream_bars) == (50, 2)


def test_without_since_the_first_bar_is_the_next_to_close(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)

    async def advance() -> None:
        await subscribed(venue, "btcusdt@kline_1h")
        await asyncio.to_thread(venue.advance, 1)

    events, _ = collect(venue, 1, None, background=advance)
    assert events == served(venue, 100, 1)


def test_a_dropped_websocket_reconnects_and_backfills_the_same_sequence(
    exchange_factory: Any,
) -> None:
    venue = exchange_factory(btc_rows(300), speed=FAST, history=100)

    marks: dict[str, int] = {}

    async def drop(feed: CcxtFeed, n: int) -> None:
        if n == 5:
            await subscribed(venue, "btcusdt@kline_1h")
            await asyncio.to_thread(venue.inject, "ws_drop")
            marks["stream"] = feed.stats.stream_bars

    events, feed = collect(venue, 20, close_ns(venue, 97), action=drop)
    assert events == served(venue, 98, 20)
    assert feed.stats.reconnects >= 1
    assert feed.stats.recovered >= 1  # what the live node reconciles after
    assert feed.stats.stream_bars > marks["stream"]  # the stream came back after the drop


def test_a_silent_stall_is_declared_stale_and_backfilled(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), speed=FAST, history=100)
    marks: dict[str, int] = {}

    async def stall(feed: CcxtFeed, n: int) -> None:
        if n == 5:
            await subscribed(venue, "btcusdt@kline_1h")
            await asyncio.to_thread(venue.inject, "ws_stall")
            marks["rest_at_stall"] = feed.stats.rest_bars
        if n == 12:
            marks["rest"] = feed.stats.rest_bars
            marks["stream"] = feed.stats.stream_bars
            await asyncio.to_thread(venue.inject, "ws_resume")

    events, feed = collect(
        venue, 24, close_ns(venue, 97), FeedOptions(stale_after_s=0.5), action=stall
    )
    assert events == served(venue, 98, 24)
    assert feed.stats.stale >= 1
    assert feed.stats.recovered >= 1
    assert marks["rest"] > marks["rest_at_stall"]  # bars kept coming over REST in the stall...
    assert feed.stats.stream_bars > marks["stream"]  # ...and from the stream again after


def test_polling_mode_without_websockets_serves_the_same_bars(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), speed=FAST, history=100)
    options = FeedOptions(mode="poll", poll_interval_s=0.05)
    events, feed = collect(venue, 12, close_ns(venue, 97), options)
    assert events == served(venue, 98, 12)
    assert feed.stats.stream_bars == 0


def test_symbols_are_merged_by_close_time_ties_in_the_order_given(exchange_factory: Any) -> None:
    rows = btc_rows(300)
    eth = rows.copy()
    for column in ("open", "high", "low", "close"):
        eth[column] = (eth[column] / 30.0).round(2)
    venue = exchange_factory(rows, extra={"ETH/USDT": eth}, speed=FAST, history=100)
    events, _ = collect(venue, 16, close_ns(venue, 97), symbols=("ETH/USDT", "BTC/USDT"))
    eth_bars, btc_bars = served(venue, 98, 8, "ETH/USDT"), served(venue, 98, 8)
    assert events == [bar for pair in zip(eth_bars, btc_bars, strict=True) for bar in pair]


def test_trades_and_quotes_follow_the_bar_that_closed_at_their_time(
    exchange_factory: Any,
) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)
    streams = ("btcusdt@kline_1h", "btcusdt@trade", "btcusdt@depth")

    async def advance() -> None:
        await subscribed(venue, *streams)
        for _ in range(3):
            await asyncio.to_thread(venue.advance, 1)
            await asyncio.sleep(0.2)

    options = FeedOptions(trades=True, quotes=True)
    events, feed = collect(venue, 8, None, options, background=advance)
    bars = [e for e in events if isinstance(e, Bar)]
    trades = [e for e in events if isinstance(e, TradeTick)]
    quotes = [e for e in events if isinstance(e, QuoteTick)]
    assert bars == served(venue, 100, len(bars))
    assert len(bars) >= 2
    stamps = [e.ts_event for e in events]
    assert stamps == sorted(stamps)
    for bar in bars:  # the bar that closed at T comes before every tick of T
        ticks_at = [i for i, e in enumerate(events) if e.ts_event == bar.ts_event and e != bar]
        assert all(i > events.index(bar) for i in ticks_at)
    row101 = btc_rows(102).iloc[101]
    assert trades[0] == TradeTick(
        "BTC/USDT",
        bars[0].ts_event,
        bars[0].ts_event,
        float(row101["open"]),
        float(row101["volume"]),
        "buy",
        "102",
    )
    assert quotes
    assert all(q.bid_price < q.ask_price and q.bid_size > 0 for q in quotes)
    opens = btc_rows(300).set_index("timestamp")["open"]
    for quote in quotes:  # the best ask is the open of the bar that opened at the quote
        assert quote.ask_price == float(opens[quote.ts_event // 1_000_000])
    assert feed.late_ticks == 0


@pytest.mark.parametrize(
    ("symbols", "timeframe", "words"),
    [
        (("BTC/USDX",), "1h", "has no symbol 'BTC/USDX' (did you mean 'BTC/USDT'?)"),
        (("BTC/USDT",), "7m", "has no timeframe '7m'"),
        (("BTC/USDT",), "2h", "refused: BadRequest"),  # ccxt knows 2h; the venue does not
    ],
)
def test_exchange_errors_reach_the_caller_in_the_input_group(
    exchange_factory: Any, symbols: tuple[str, ...], timeframe: str, words: str
) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)
    with pytest.raises(ExchangeInputError) as caught:
        collect(venue, 1, close_ns(venue, 90), symbols=symbols, timeframe=timeframe)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message


def test_open_feed_reaches_the_local_exchange_through_ccxt_pro(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)

    async def main() -> list[Any]:
        feed = open_feed("binance", ["BTC/USDT"], "1h", local_url=venue.urls["http"])
        stream = feed.stream(close_ns(venue, 96))
        try:
            return [await asyncio.wait_for(anext(stream), 10) for _ in range(3)]
        finally:
            await stream.aclose()
            await feed.close()

    assert asyncio.run(main()) == served(venue, 97, 3)


def test_open_feed_refuses_an_unknown_exchange_and_picks_the_async_flavour() -> None:
    import ccxt
    import ccxt.async_support
    import ccxt.pro

    with pytest.raises(ExchangeInputError, match="unknown exchange 'binanse'"):
        open_feed("binanse", ["BTC/USDT"], "1h")
    rest_only = next(e for e in ccxt.exchanges if e not in ccxt.pro.exchanges)
    feed = open_feed(rest_only, ["BTC/USDT"], "1h")
    assert isinstance(feed.exchange, getattr(ccxt.async_support, rest_only))
    assert not isinstance(feed.exchange, getattr(ccxt, rest_only))  # not the blocking one
    asyncio.run(feed.close())


def test_trades_survive_a_drop_without_gap_or_duplicate(exchange_factory: Any) -> None:
    rows = btc_rows(300)
    venue = exchange_factory(rows, speed=FAST, history=100)

    async def drop(feed: CcxtFeed, n: int) -> None:
        if n == 12:
            await subscribed(venue, "btcusdt@kline_1h", "btcusdt@trade")
            await asyncio.to_thread(venue.inject, "ws_drop")

    options = FeedOptions(trades=True)
    events, feed = collect(venue, 40, close_ns(venue, 97), options, action=drop)
    bars = [e for e in events if isinstance(e, Bar)]
    trades = [e for e in events if isinstance(e, TradeTick)]
    assert bars == served(venue, 98, len(bars))
    stamps = [e.ts_event for e in events]
    assert stamps == sorted(stamps)
    ids = [int(t.trade_id) for t in trades]
    assert len(ids) >= 10
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap, no duplicate
    for trade in trades:  # the synthetic trade of row id - 1, at its open
        row = rows.iloc[int(trade.trade_id) - 1]
        assert (trade.ts_event, trade.price) == (int(row["timestamp"]) * 10**6, row["open"])
    assert feed.stats.reconnects >= 1
    assert feed.late_ticks == 0


def test_trades_made_while_the_trade_stream_resubscribes_are_not_lost(
    exchange_factory: Any,
) -> None:
    # The backfill after a drop used to run before the new subscription: the trades made
    # between the two came neither over REST nor over the websocket (CI lost one of them
    # once). Here the resubscription takes 1 s, five bars' worth of trades at this speed.
    venue = exchange_factory(btc_rows(300), speed=FAST, history=100)
    dropped = False

    def slow_resubscribe(client: Any) -> None:
        watch_trades = client.watch_trades

        async def slowly(*args: Any, **kwargs: Any) -> Any:
            nonlocal dropped
            if dropped:  # the first call after the drop: the reconnect
                dropped = False
                await asyncio.sleep(1.0)
            return await watch_trades(*args, **kwargs)

        client.watch_trades = slowly

    async def drop(feed: CcxtFeed, n: int) -> None:
        nonlocal dropped
        if n == 12:
            await subscribed(venue, "btcusdt@kline_1h", "btcusdt@trade")
            dropped = True
            await asyncio.to_thread(venue.inject, "ws_drop")

    options = FeedOptions(trades=True)
    events, feed = collect(
        venue, 44, close_ns(venue, 97), options, action=drop, adjust=slow_resubscribe
    )
    trades = [e for e in events if isinstance(e, TradeTick)]
    ids = [int(t.trade_id) for t in trades]
    assert len(ids) >= 10
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap, no duplicate
    stamps = [e.ts_event for e in events]
    assert stamps == sorted(stamps)
    assert feed.stats.reconnects >= 1
    assert feed.late_ticks == 0


def test_until_ns_ends_the_stream_after_its_last_bar(exchange_factory: Any) -> None:
    venue = exchange_factory(btc_rows(300), paused=True, history=100)

    async def main() -> tuple[list[Any], int]:
        options = FeedOptions(until_ns=close_ns(venue, 60), page_limit=4)
        feed = CcxtFeed(
            ccxt_client(venue, pro=True), ["BTC/USDT"], "1h", options, capabilities("local")
        )
        assert await feed.check() is True  # websockets; symbols and timeframe known
        now_ns = await feed.now_ns()
        events = [event async for event in feed.stream(close_ns(venue, 49))]  # ends by itself
        await feed.close()
        return events, now_ns

    events, now_ns = asyncio.run(asyncio.wait_for(main(), 20))
    assert events == served(venue, 50, 11)  # rows 50..60, nothing after
    assert now_ns == venue.replay.now_ms * 1_000_000


def test_each_symbol_may_have_its_own_timeframe() -> None:
    rows = btc_rows(300)
    frames = [
        load_bars(rows, symbol="BTC/USDT", timeframe="1h"),
        load_bars(rows, symbol="ETH/USDT", timeframe="1h", resample="2h"),
    ]
    instruments = {"BTC/USDT": BTC, "ETH/USDT": Instrument("ETH/USDT", quote_currency="USDT")}
    venue = LocalExchange(frames, instruments, secret=SECRET, speed=FAST, history=100)
    venue.start()
    try:
        since = close_ns(venue, 97)
        timeframes = {"ETH/USDT": "2h", "BTC/USDT": "1h"}
        events, _ = collect(
            venue, 15, since, symbols=("ETH/USDT", "BTC/USDT"), timeframe=timeframes
        )
    finally:
        venue.stop()
    eth = [b for b in served(venue, 40, 20, "ETH/USDT") if b.ts_event > since]
    order = {"ETH/USDT": 0, "BTC/USDT": 1}
    expected = sorted([*eth, *served(venue, 98, 20)], key=lambda b: (b.ts_event, order[b.symbol]))
    assert events == expected[:15]
    assert {b.timeframe_ns for b in events} == {2 * HOUR_MS * 10**6, HOUR_MS * 10**6}


def _cache_reaches(client: Any, open_ms: int) -> bool:
    candles = (client.ohlcvs.get("BTC/USDT") or {}).get("1h") or []
    return bool(candles) and candles[-1][0] >= open_ms


def test_a_candle_whose_final_version_left_ccxts_cache_unread_is_not_its_opening(
    exchange_factory: Any,
) -> None:
    # Audit F1 (a paper journal held bar 2017-07-03T05:00 as O=H=L=C=1.14046, volume 0):
    # the session held row 101's opening snapshot (open only, volume 0); before the feed's
    # watch task read again (it was in a REST fill, or the loop had been blocked and ccxt
    # then read the socket's backlog at once), ccxt took in more candles than its cache
    # keeps (OHLCVLimit, 1000 by default; 20 here), so row 101's final version was evicted
    # unread. The next read started after row 101 and the feed handed over the snapshot.
    venue = exchange_factory(btc_rows(300), paused=True, history=100)
    calls = 0
    wakers: list[asyncio.Future[Any]] = []

    def late_second_read(client: Any) -> None:
        client.options["OHLCVLimit"] = 20
        watch_ohlcv = client.watch_ohlcv

        async def late(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2:  # the session holds row 101's opening: 30 bars close meanwhile
                await asyncio.to_thread(venue.advance, 30)
                opened = venue.replay.markets["BTC/USDT"].open_ms[131]
                while not _cache_reaches(client, opened):
                    await asyncio.sleep(0.01)
                wakers.append(asyncio.ensure_future(asyncio.to_thread(venue.advance, 1)))
            return await watch_ohlcv(*args, **kwargs)

        client.watch_ohlcv = late

    async def advance() -> None:
        await subscribed(venue, "btcusdt@kline_1h")
        await asyncio.to_thread(venue.advance, 1)

    events, _ = collect(venue, 8, close_ns(venue, 97), background=advance, adjust=late_second_read)
    assert calls >= 2
    assert events == served(venue, 98, 8)  # row 101 with its final values, every field


def test_a_candle_a_failed_connection_delivers_after_the_recovery_is_not_a_bar(
    exchange_factory: Any,
) -> None:
    # Audit F1's other path: ccxt closes a connection it failed (a stall declared stale)
    # after the fact, and aiohttp still hands its waiting read the message it had buffered,
    # so ccxt files that candle after the feed's recovery emptied ccxt's cache for the new
    # session. Here row 101's opening snapshot comes so, while the REST fill's clock still
    # has row 101 in progress; row 101 closes before the new subscription speaks, so that
    # subscription's first candle is row 102's opening and row 101's snapshot looked final.
    venue = exchange_factory(btc_rows(300), paused=True, history=100)
    armed: dict[str, Any] = {}

    def stray_after_the_stall(client: Any) -> None:
        fetch_time, fetch_ohlcv = client.fetch_time, client.fetch_ohlcv

        async def clock(*args: Any, **kwargs: Any) -> Any:
            old = armed.pop("connection", None)
            if old is not None and old.error is not None:  # the recovery's first question
                market = venue.replay.markets["BTC/USDT"]
                now = venue.replay.now_ms
                opening = market.kline(market.in_progress(now), now)
                client.handle_message(old, payloads.kline_event(market, opening, now))
                armed["close_it"] = True
            return await fetch_time(*args, **kwargs)

        async def candles(*args: Any, **kwargs: Any) -> Any:
            if armed.pop("close_it", False):  # after the clock was read: row 101 closes
                await asyncio.to_thread(venue.advance, 1)
            return await fetch_ohlcv(*args, **kwargs)

        client.fetch_time, client.fetch_ohlcv = clock, candles

    async def stall_after_bar_100(feed: CcxtFeed, n: int) -> None:
        if n == 3:  # row 100 came from the stream; the session holds row 101's opening
            hashes = "ohlcv::BTC/USDT::1h"
            (old,) = [c for c in feed.exchange.clients.values() if hashes in c.subscriptions]
            armed["connection"] = old  # the exchange stays paused: the stream goes stale

    async def advance() -> None:
        await subscribed(venue, "btcusdt@kline_1h")
        await asyncio.to_thread(venue.advance, 1)

    events, feed = collect(
        venue, 4, close_ns(venue, 97), FeedOptions(stale_after_s=0.3),
        action=stall_after_bar_100, background=advance, adjust=stray_after_the_stall,
    )  # fmt: skip
    assert feed.stats.stale >= 1
    assert events == served(venue, 98, 4)  # row 101 with its final values, every field


def test_a_replay_that_ends_at_its_last_close_hands_over_its_last_bar(
    exchange_factory: Any,
) -> None:
    # Audit F2: a paper replay ends its stream at the replay's last boundary; that was the
    # last bar's open, so the data's last bar never reached the node (the backtest's does).
    rows = btc_rows(130)
    venue = LocalExchange(
        [load_bars(rows, symbol="BTC/USDT", timeframe="1h")], {"BTC/USDT": BTC},
        secret=SECRET, paused=True, history=100,
    )  # fmt: skip
    venue.replay.end_at_last_close()  # what `kestrel paper --replay` asks of its exchange
    venue.start()

    async def main() -> list[Any]:
        options = FeedOptions(until_ns=venue.replay.boundaries[-1] * 1_000_000)
        feed = CcxtFeed(
            ccxt_client(venue, pro=True), ["BTC/USDT"], "1h", options, capabilities("local")
        )
        resume = asyncio.ensure_future(subscribed(venue, "btcusdt@kline_1h"))
        resume.add_done_callback(lambda _: venue.resume())
        events = [event async for event in feed.stream(close_ns(venue, 97))]  # ends by itself
        await feed.close()
        return events

    try:
        events = asyncio.run(asyncio.wait_for(main(), 20))
    finally:
        venue.stop()
    assert events == served(venue, 98, 32)  # rows 98..129: the data's last row too
