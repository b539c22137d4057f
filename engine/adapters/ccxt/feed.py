"""`CcxtFeed`: live bars (and trades, best bid/ask quotes) from an exchange through ccxt.

In: an async ccxt exchange (``ccxt.pro`` for websockets, ``ccxt.async_support`` for REST
only), symbols, one timeframe (or one per symbol), `FeedOptions`. Out:
`engine.feeds.live.LiveFeed`'s events (`Bar`, `TradeTick`, `QuoteTick`) through
``stream(since_ns)``, keeping that protocol's rules. The closed-candle rule and the
time-ordered merge are pure and live in `engine.adapters.ccxt.merge`; websocket sessions
(reconnects, stalls) and the trade and quote streams in `engine.adapters.ccxt.watch`; this
module owns the bars and REST.

How it runs:

* **Start**: markets, symbols and timeframes are checked (`ExchangeInputError`, with a
  "did you mean", before anything streams). Each symbol's cursor is ``since_ns`` (catch-up:
  every closed bar after it is fetched over REST, paginated), or, without it, the last bar
  already closed (the next bar that closes is the first one yielded).
* **Websocket mode** (``exchange.has['watchOHLCV']``, unless `FeedOptions.mode` says
  otherwise): one task per symbol and stream calls ``watch_ohlcv`` / ``watch_trades`` /
  ``watch_order_book``. Before a closed candle is handed over, any candle missing between
  the cursor and it is fetched over REST (gap fill); one already handed over is dropped
  (the catch-up/live seam has neither gap nor duplicate).
* **Kline messages** are read as ccxt receives them (``handle_ohlcv``, wrapped): the version
  the venue marked final (Binance's ``"x"``) is the one handed over, and a candle closed
  without it read (evicted from ccxt's ``OHLCVLimit`` cache) comes from REST; a message
  from a connection ccxt already failed is dropped and that connection closed. Candles
  ccxt cached while no watch waited are read from its cache (`unread_candles`).
* **Drops**: a ccxt ``NetworkError`` ends the session; after a bounded exponential pause the
  stream forgets the session's candles (and ccxt's cache of them), backfills over REST up
  to the exchange clock and subscribes again. `FeedOptions.max_failures` consecutive
  failures raise `ExchangeTransientError`.
* **Stalls**: a candle stream silent for `FeedOptions.stale_after_s` is closed as if dropped
  (the drop path above; nothing the stale session sent is used afterwards). Default, from
  the venue's capabilities: 15 of its in-progress candle pushes (at least 30 s), or, where
  it speaks only when a candle opens or closes, a timeframe plus a tenth (at least 10 s).
  Past ``until_ns`` a candle stream stops watching: its silence is then no stall.
* **Polling mode** (no websockets): every `FeedOptions.poll_interval_s` (default a tenth of
  the timeframe, between 1 s and 60 s) a REST fill up to the exchange clock. Trades and
  quotes need websockets and are refused in this mode.
* **End**: with `FeedOptions.until_ns` the stream ends by itself once every event at or
  before it has been yielded (a paper run over a window; a replay's end: its last bar's
  close when the replay plays it, else that bar's open); events after it are not yielded.
* **Warm-up**: `history` returns each symbol's last N bars closed before a time (REST,
  paginated), the bars a new paper account warms its indicators with.
* **Clock**: the exchange's (``fetch_time`` where offered, else the local one); a REST row
  is final only if the clock read before the request had passed its close.

Trades are deduplicated by (time, id) and backfilled over ``fetch_trades`` after a drop,
before the new subscription and again once it speaks (`TickStreams.trades`); a quote is
a state, so none is backfilled (the next one supersedes the last).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

from engine.adapters.ccxt.capabilities import Capabilities, capabilities
from engine.adapters.ccxt.errors import retry_after_s, translate
from engine.adapters.ccxt.merge import (
    NS_PER_MS,
    CandleSession,
    EventMerger,
    MarketEvent,
    candle_bar,
    candle_problem,
    closed_rows,
    kline_message,
    unread_candles,
)
from engine.adapters.ccxt.venue import linear_swap
from engine.adapters.ccxt.watch import (
    FeedOptions,
    FeedStats,
    Sessions,
    TickStreams,
    default_stale_after_s,
    wants,
)
from engine.errors import (
    ConfigError,
    ExchangeInputError,
    ExchangeTransientError,
    InternalError,
    did_you_mean,
)
from engine.model import Bar

__all__ = ["CcxtFeed", "FeedOptions", "FeedStats", "open_feed"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class CcxtFeed:
    """A `LiveFeed` over one async ccxt exchange for ``symbols`` at ``timeframe``(s)."""

    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        timeframe: str | Mapping[str, str],
        options: FeedOptions | None = None,
        caps: Capabilities | None = None,
        markets: Mapping[str, str] | None = None,
    ) -> None:
        """Stream ``symbols`` (ties between bars go in this order) from ``exchange``.

        ``timeframe``: one for every symbol, or a mapping with each symbol's own.

        ``markets``: ccxt's market symbol of an engine symbol where they differ (a
        perpetual ``BTC/USDT`` is read from ``BTC/USDT:USDT``); the events carry the
        engine's symbol.

        ``caps``: the venue's page sizes and candle cadence; None looks them up by
        ``exchange.id`` (`engine.adapters.ccxt.capabilities`).
        """
        if not symbols or len(set(symbols)) != len(symbols):
            raise ConfigError(f"live feed: symbols must be given once each: {list(symbols)}")
        self.exchange = exchange
        self.name = str(getattr(exchange, "id", "exchange"))
        self.symbols = list(symbols)
        if isinstance(timeframe, str):
            self.timeframes = dict.fromkeys(self.symbols, timeframe)
        else:
            missing = [s for s in self.symbols if s not in timeframe]
            if missing:
                raise ConfigError(f"live feed: no timeframe for {missing}")
            self.timeframes = {s: timeframe[s] for s in self.symbols}
        self.options = options or FeedOptions()
        self.stats = FeedStats()
        self.caps = caps or capabilities(self.name)
        self.markets = dict(markets or {})
        # The closed-candle rule needs each watch to return only what changed since the
        # last one (ccxt.pro's default; set in case a caller's config turned it off).
        exchange.newUpdates = True
        self._tf_ms: dict[str, int] = {}
        self._merger = EventMerger(self.symbols)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sessions = Sessions(exchange, self.options, self.stats)
        self._ticks = TickStreams(
            self._sessions, self.caps, self._merger, self._rest, self._now, self._wake.set,
            self.market,
        )  # fmt: skip
        self._failure: BaseException | None = None
        self._closed = False
        self._started = False
        self._websocket: bool | None = None
        self._cursor: dict[str, int] = {}  # close (ms) of the last bar handed over
        self._gap_checked: dict[str, int] = {}
        # Final versions of candles, by symbol and open time, where the venue's kline
        # messages mark them (`_follow_klines`); the symbols whose messages do.
        self._finals: dict[str, dict[int, list[Any]]] = {s: {} for s in self.symbols}
        self._flagged: set[str] = set()
        self._closing: weakref.WeakSet[Any] = weakref.WeakSet()  # failed connections
        self._close_tasks: set[asyncio.Future[Any]] = set()

    def market(self, symbol: str) -> str:
        """Return ccxt's market symbol of the engine's ``symbol``."""
        return self.markets.get(symbol, symbol)

    @property
    def late_ticks(self) -> int:
        """Ticks dropped because they came after a later event had been yielded."""
        return self._merger.late_ticks

    # -- the LiveFeed protocol ------------------------------------------------------------

    async def stream(self, since_ns: int | None = None) -> AsyncGenerator[MarketEvent, None]:
        """Yield events in time order: REST catch-up after ``since_ns`` first, then live."""
        if self._started:
            raise InternalError("live feed: stream() may be called once per feed")
        self._started = True
        try:
            websocket = await self.check()
            for symbol in self.symbols:
                await self._start_cursor(symbol, since_ns)
                await self._rest_fill(symbol)
            for symbol in self.symbols:
                if websocket:
                    self._spawn(self._watch_bars, symbol)
                    if wants(self.options.trades, symbol):
                        self._spawn(self._ticks.trades, symbol)
                    if wants(self.options.quotes, symbol):
                        self._spawn(self._ticks.quotes, symbol)
                else:
                    self._spawn(self._poll_bars, symbol)
            until = self.options.until_ns
            hidden = self.options.hidden_bars
            while True:
                self._wake.clear()
                for event in self._merger.ready():
                    if until is not None and event.ts_event > until:
                        return
                    if hidden and type(event) is Bar and event.symbol in hidden:
                        continue  # followed for the order of the merge, not delivered
                    yield event
                if until is not None and self._merger.settled(until):
                    return  # every bar at or before until_ns has been yielded
                if self._failure is not None:
                    raise self._failure
                if self._closed:
                    return
                await self._wake.wait()
        finally:
            await self._stop_tasks()

    async def close(self) -> None:
        """Stop every stream and close the exchange's connections; ``stream`` then ends."""
        self._closed = True
        self._wake.set()
        await self._stop_tasks()
        if self._close_tasks:  # failed connections still closing (`_close_failed`)
            await asyncio.wait(set(self._close_tasks), timeout=2.0)
        with contextlib.suppress(Exception):  # closing what is already broken
            await self.exchange.close()

    def watermark_ns(self) -> int:
        """Return a time no event ``stream`` has still to yield precedes (see the merge).

        A paper node fires its timers when idle up to the smaller of this and the
        exchange clock, so a timer never fires ahead of a bar that closed before it.
        """
        return self._merger.watermark()

    # -- start ----------------------------------------------------------------------------

    async def now_ns(self) -> int:
        """Return the exchange's clock in ns (``fetch_time`` where offered)."""
        return await self._now() * NS_PER_MS

    async def check(self) -> bool:
        """Check symbols, timeframe and capabilities; return True for websocket mode.

        ``stream`` calls it first; call it yourself to fail before anything else starts.

        Raises:
            ExchangeInputError: Unknown symbol or timeframe, a capability missing.
            ExchangeTransientError: The exchange cannot be reached (after retries).
        """
        if self._websocket is not None:
            return self._websocket
        has = dict(getattr(self.exchange, "has", None) or {})
        timeframes = dict(getattr(self.exchange, "timeframes", None) or {})
        if not has.get("fetchOHLCV") or not timeframes:
            raise ExchangeInputError(f"{self.name} does not offer candles (fetchOHLCV)")
        for symbol, timeframe in self.timeframes.items():
            if timeframe not in timeframes:
                hint = did_you_mean(timeframe, timeframes)
                raise ExchangeInputError(f"{self.name} has no timeframe {timeframe!r}{hint}")
            self._tf_ms[symbol] = int(self.exchange.parse_timeframe(timeframe) * 1000)
        markets = await self._rest("loading markets", self.exchange.load_markets)
        for symbol in self.symbols:
            if self.market(symbol) not in markets:
                hint = did_you_mean(self.market(symbol), markets)
                raise ExchangeInputError(f"{self.name} has no symbol {symbol!r}{hint}")
        mode = self.options.mode
        websocket = bool(has.get("watchOHLCV")) if mode == "auto" else mode == "websocket"
        if websocket and not has.get("watchOHLCV"):
            raise ExchangeInputError(f"{self.name} has no candle websocket (watchOHLCV)")
        wanted = [("trades", "watchTrades"), ("quotes", "watchOrderBook")]
        for option, capability in wanted:
            if getattr(self.options, option) and not (websocket and has.get(capability)):
                raise ExchangeInputError(
                    f"{self.name}: live {option} need websockets ({capability})"
                )
        if websocket:
            self._follow_klines(markets)
        self._websocket = websocket
        return websocket

    def _follow_klines(self, markets: Mapping[str, Any]) -> None:
        """Read each kline message as ccxt receives it, before its cache keeps the candle.

        ccxt's ``handle_ohlcv(client, message)`` is wrapped (an exchange without one is
        left alone): a message from a connection ccxt failed (``client.error`` set: a drop,
        or the stale close of `Sessions.drop_connection`) is dropped and that connection
        closed; a Binance kline message marked final (`kline_message`) records that version
        in ``_finals``, and any with the mark tells that the symbol's venue marks them.
        """
        handle = getattr(self.exchange, "handle_ohlcv", None)
        if not callable(handle):
            return
        timeframes = dict(getattr(self.exchange, "timeframes", None) or {})
        followed: dict[tuple[str, str], str] = {}  # (market id, interval) -> symbol
        for symbol in self.symbols:
            market = markets.get(self.market(symbol))
            market_id = market.get("id") if isinstance(market, dict) else None
            if market_id:
                interval = timeframes.get(self.timeframes[symbol], self.timeframes[symbol])
                followed[str(market_id), str(interval)] = symbol

        def handle_ohlcv(client: Any, message: Any) -> None:
            if getattr(client, "error", None) is not None:
                self._close_failed(client)
                return
            kline = kline_message(message)
            symbol = followed.get(kline[:2]) if kline is not None else None
            if kline is not None and symbol is not None:
                self._flagged.add(symbol)
                if kline[2]:
                    self._finals[symbol][kline[3][0]] = kline[3]
            handle(client, message)

        self.exchange.handle_ohlcv = handle_ohlcv

    def _close_failed(self, client: Any) -> None:
        """Close a connection ccxt failed that still delivers candles (once at a time)."""
        if client in self._closing:
            return
        self._closing.add(client)
        log.info("%s: dropped candles a failed connection still delivered", self.name)
        closing = asyncio.ensure_future(client.close())
        self._close_tasks.add(closing)
        closing.add_done_callback(self._close_tasks.discard)

    async def history(self, count: int | Mapping[str, int], until_ns: int) -> dict[str, list[Bar]]:
        """Return each symbol's last ``count`` bars closed at or before ``until_ns`` (REST).

        ``count``: one for every symbol, or each symbol's own (a symbol left out: none).

        The warm-up of a new paper account: pages of ``fetch_ohlcv`` from ``count``
        timeframes before ``until_ns`` on (more pages when the venue has gaps is not
        tried: a gap leaves fewer bars, never other ones). Only rows closed by both
        ``until_ns`` and the exchange clock read first are kept (the closed-candle rule).
        Call `check` first.
        """
        now = min(await self._now(), until_ns // NS_PER_MS)
        limit = self.options.page_limit or self.caps.ohlcv_page_limit
        found: dict[str, list[Bar]] = {}
        counts = dict.fromkeys(self.symbols, count) if isinstance(count, int) else count
        for symbol in self.symbols:
            tf = self._tf_ms[symbol]
            wanted = counts.get(symbol, 0)
            cursor = max(0, now - now % tf - wanted * tf)  # close of the bar before the first
            rows: list[list[Any]] = []
            while wanted and cursor < now:

                def fetch(
                    since: int = max(0, cursor - tf + 1), symbol: str = symbol
                ) -> Awaitable[list[list[Any]]]:
                    return self.exchange.fetch_ohlcv(  # type: ignore[no-any-return]
                        self.market(symbol), self.timeframes[symbol], since=since, limit=limit
                    )

                page = await self._rest(f"fetching {symbol} warm-up candles", fetch)
                kept = closed_rows(page, tf, now, cursor)
                if not kept:
                    break
                rows.extend(kept)
                cursor = int(kept[-1][0]) + tf
                if len(page) < limit:
                    break
            found[symbol] = (
                [candle_bar(symbol, row, tf) for row in rows[-wanted:] if self._sane(symbol, row)]
                if wanted
                else []
            )
        return found

    async def _start_cursor(self, symbol: str, since_ns: int | None) -> None:
        if since_ns is not None:
            # A close in whole ms is after since_ns exactly when it is after its floor in ms.
            self._cursor[symbol] = since_ns // NS_PER_MS
            return
        now = await self._now()
        tf = self._tf_ms[symbol]
        since = now - 3 * tf
        page = await self._rest(
            f"fetching {symbol} candles",
            lambda: self.exchange.fetch_ohlcv(
                self.market(symbol), self.timeframes[symbol], since=since, limit=10
            ),
        )
        rows = closed_rows(page, tf, now, since)
        self._cursor[symbol] = int(rows[-1][0]) + tf if rows else now - now % tf

    # -- REST -----------------------------------------------------------------------------

    async def _rest(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Return ``await call()``, retrying transient ccxt errors; translate the rest."""
        import ccxt

        policy = self.options.retry
        for attempt in range(policy.attempts):
            try:
                return await call()
            except ccxt.BaseError as exc:
                error = translate(exc, self.name, what)
                if not isinstance(error, ExchangeTransientError):
                    raise error from None
                if attempt + 1 == policy.attempts:
                    raise ExchangeTransientError(
                        f"{error} (gave up after {policy.attempts} attempts)"
                    ) from None
                await asyncio.sleep(policy.pause_s(attempt, retry_after_s(self.exchange)))
        raise InternalError("unreachable: the retry loop returns or raises")  # pragma: no cover

    async def _now(self) -> int:
        if self.exchange.has.get("fetchTime"):
            return int(await self._rest("reading the time", self.exchange.fetch_time))
        return int(self.exchange.milliseconds())

    async def _rest_fill(self, symbol: str, before_open_ms: int | None = None) -> None:
        """Hand over every candle closed by the exchange clock after the cursor (REST).

        With ``before_open_ms`` only candles opening before it (a gap before a stream
        candle); without, every closed one, and the symbol's bound moves past the clock.
        """
        now = await self._now()
        if before_open_ms is not None:
            # The stream has shown a candle opening at before_open_ms, so every earlier one
            # has closed, whatever a REST clock lagging behind the stream says.
            now = max(now, before_open_ms)
        tf = self._tf_ms[symbol]
        limit = self.options.page_limit or self.caps.ohlcv_page_limit
        bound_ms = now + 1
        while True:
            since = max(0, self._cursor[symbol] - tf + 1)

            def fetch(since: int = since) -> Awaitable[list[list[Any]]]:
                return self.exchange.fetch_ohlcv(  # type: ignore[no-any-return]
                    self.market(symbol), self.timeframes[symbol], since=since, limit=limit
                )

            page = await self._rest(f"fetching {symbol} candles", fetch)
            rows = closed_rows(page, tf, now, self._cursor[symbol])
            if before_open_ms is not None:
                rows = [row for row in rows if int(row[0]) < before_open_ms]
            for row in rows:
                self._hand_over(symbol, row, rest=True)
            opened = [int(row[0]) + tf for row in page if int(row[0]) + tf > now]
            if opened:
                bound_ms = max(bound_ms, min(opened))
            if not rows or opened or len(page) < limit:
                break
        if before_open_ms is None:
            self._merger.advance(symbol, bound_ms * NS_PER_MS)
        self._wake.set()

    def _hand_over(self, symbol: str, row: Sequence[Any], rest: bool) -> None:
        tf = self._tf_ms[symbol]
        close_ms = int(row[0]) + tf
        if close_ms <= self._cursor[symbol]:
            return  # handed over already (the catch-up/live seam, a backfill's overlap)
        self._cursor[symbol] = close_ms  # a malformed candle too: it is not asked for again
        if not self._sane(symbol, row):
            return
        self._merger.add_bar(candle_bar(symbol, row, tf))
        if rest:
            self.stats.rest_bars += 1
        else:
            self.stats.stream_bars += 1

    def _sane(self, symbol: str, row: Sequence[Any]) -> bool:
        """Return False (counted and logged) for a malformed candle (`candle_problem`)."""
        problem = candle_problem(row)
        if problem:
            self.stats.drop(f"{symbol} candle", problem, list(row))
        return not problem

    # -- websocket streams ----------------------------------------------------------------

    def _spawn(self, run: Callable[[str], Coroutine[Any, Any, None]], symbol: str) -> None:
        async def guarded() -> None:
            try:
                await run(symbol)  # made here: a task cancelled before it starts leaves none
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer of stream()
                self._failure = exc if self._failure is None else self._failure
                self._wake.set()

        self._tasks.append(asyncio.ensure_future(guarded()))

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _watch_bars(self, symbol: str) -> None:
        session = CandleSession()
        tf = self._tf_ms[symbol]
        timeframe = self.timeframes[symbol]
        market = self.market(symbol)  # ccxt's name: its caches and message hashes use it
        until = self.options.until_ns  # past it, the stream has nothing more to say

        async def on_candles(candles: list[list[Any]]) -> None:
            finals = self._finals[symbol] if symbol in self._flagged else None
            cursor = self._cursor[symbol]
            fresh = [c for c in candles if int(c[0]) + tf > cursor]  # not handed over yet
            closed, newest, unconfirmed = session.update(fresh, finals)
            if unconfirmed and newest is not None:
                # closed, but their final version was never read: REST has it
                await self._rest_fill(symbol, before_open_ms=newest)
            for row in closed:
                if int(row[0]) > self._cursor[symbol]:  # candles missing before this one
                    await self._rest_fill(symbol, before_open_ms=int(row[0]))
                self._hand_over(symbol, row, rest=False)
            if finals:
                for open_ms in [o for o in finals if o + tf <= self._cursor[symbol]]:
                    del finals[open_ms]  # handed over (or filled): not asked for again
            if newest is None:
                return
            if newest > self._cursor[symbol] and self._gap_checked.get(symbol) != newest:
                # Candles closed before this session saw them (or a venue gap): ask REST once.
                self._gap_checked[symbol] = newest
                await self._rest_fill(symbol, before_open_ms=newest)
            # The next bar closes after the newest candle's close (its own, when in
            # progress) and after the last handed over (the newest's, when it was final).
            bound_ms = max(newest + tf, self._cursor[symbol] + 1)
            self._merger.advance(symbol, bound_ms * NS_PER_MS)
            self._wake.set()

        async def recover() -> None:
            session.reset()
            cache = getattr(self.exchange, "ohlcvs", None) or {}
            cache.get(market, {}).pop(timeframe, None)  # ccxt's copy of the old session
            await self._rest_fill(symbol)

        async def watch() -> list[list[Any]]:
            # Candles ccxt cached while no watch waited are read from its cache at once
            # (`unread_candles`): the next watch returns only on the next message, which
            # a venue at its end never sends. The cache holds only this session.
            cached = (getattr(self.exchange, "ohlcvs", None) or {}).get(market, {})
            handed = self._cursor[symbol]
            recent = unread_candles(cached.get(timeframe) or [], session.newest, handed, tf)
            if recent:
                return recent
            candles: list[list[Any]] = await self.exchange.watch_ohlcv(market, timeframe)
            return candles

        await self._sessions.run(
            f"watching {symbol} {timeframe} candles",
            watch,
            on_candles,
            recover,
            (f"ohlcv::{market}::{timeframe}", self._stale_after_s(tf)),
            finished=lambda: until is not None and self._merger.bound(symbol) > until,
        )

    def _stale_after_s(self, timeframe_ms: int) -> float:
        if self.options.stale_after_s is not None:
            return self.options.stale_after_s
        return default_stale_after_s(timeframe_ms, self.caps)

    # -- polling --------------------------------------------------------------------------

    async def _poll_bars(self, symbol: str) -> None:
        interval = self.options.poll_interval_s
        if interval is None:
            interval = min(60.0, max(1.0, self._tf_ms[symbol] / 10_000.0))
        while True:
            await asyncio.sleep(interval)
            await self._rest_fill(symbol)


def open_feed(
    exchange_id: str,
    symbols: Sequence[str],
    timeframe: str | Mapping[str, str],
    options: FeedOptions | None = None,
    local_url: str | None = None,
    perpetuals: Collection[str] = (),
) -> CcxtFeed:
    """Return a `CcxtFeed` on a new async ccxt exchange (``local_url``: the local exchange).

    With ``local_url`` (or ``$KESTREL_EXCHANGE_URL``) the feed uses the local exchange's
    capabilities, not those of the exchange id it speaks as. ``perpetuals``: symbols read
    as their linear perpetual settled in the quote (``BTC/USDT`` from ``BTC/USDT:USDT``, on
    Binance the ``/fapi`` klines and the USDⓈ-M kline websocket); a feed reads spot
    symbols or perpetuals, not both (a local exchange replays one kind).

    Raises:
        ExchangeInputError: Unknown exchange (symbols and timeframe are checked by ``stream``).
    """
    from engine.adapters.ccxt.download import LOCAL_URL_ENV, open_exchange

    local = bool(local_url or os.environ.get(LOCAL_URL_ENV))
    exchange = open_exchange(exchange_id, local_url, asynchronous=True, perpetual=bool(perpetuals))
    caps = capabilities("local" if local else exchange_id)
    markets = {s: linear_swap(s) for s in perpetuals}
    return CcxtFeed(exchange, symbols, timeframe, options, caps, markets)
