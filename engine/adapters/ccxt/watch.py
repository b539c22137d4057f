"""Websocket sessions of the live feed: reconnects, stalls, and the trade and quote streams.

In: an async ccxt.pro exchange and `FeedOptions`. Out: `Sessions.run` keeps one ``watch_*``
going forever — results go to a callback; a ccxt ``NetworkError`` (a drop; ccxt's order
book desyncs are NetworkErrors too) ends the session and, after a bounded exponential
pause, ``recover`` runs (the caller backfills over REST) before the next subscription; a
stream silent past its staleness bound gets its connection closed as a drop would
(`Sessions.drop_connection`) and recovers the same way. Any other ccxt error is translated
(`engine.adapters.ccxt.errors.translate`) and ends the feed. `TickStreams` turns trades and
order books into `TradeTick` / `QuoteTick`. `engine.adapters.ccxt.feed` owns the bars.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from engine.adapters.ccxt.capabilities import Capabilities
from engine.adapters.ccxt.errors import RetryPolicy, translate
from engine.adapters.ccxt.merge import NS_PER_MS, EventMerger, quote_problem, trade_problem
from engine.errors import ExchangeTransientError
from engine.model import QuoteTick, TradeTick

__all__ = [
    "FeedOptions",
    "FeedStats",
    "Sessions",
    "TickStreams",
    "default_stale_after_s",
    "wants",
]

log = logging.getLogger("engine.adapters.ccxt.feed")
T = TypeVar("T")
# How long a trade stream's first watch after a drop waits for the new subscription to
# speak before it backfills and releases the merge: long enough for a reconnect (DNS, TLS,
# subscribe) on a real venue, short enough that a quiet market's bars are not held long.
RESUBSCRIBE_WAIT_S = 2.0
RestCall = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]


@dataclass(frozen=True)
class FeedOptions:
    """How a `CcxtFeed` streams.

    Attributes:
        trades: Also yield `TradeTick`s (``watch_trades``): True for every symbol, or the
            symbols to watch.
        quotes: Also yield best bid/ask `QuoteTick`s (``watch_order_book``), likewise.
        hidden_bars: Symbols whose bars are followed (they set the merge's bounds, so
            ticks stay in time order and ``until_ns`` ends the stream) but not yielded: a
            symbol traded on ticks alone, as a ``kind = "trades"`` data source is in a
            backtest.
        mode: ``"auto"`` (websockets where ``exchange.has['watchOHLCV']``, else polling),
            ``"websocket"`` or ``"poll"``.
        stale_after_s: Silence (s) after which a candle stream is stale; None: derived
            from the timeframe (see `engine.adapters.ccxt.feed`).
        poll_interval_s: Seconds between REST polls; None: derived from the timeframe.
        page_limit: Candles (trades) per REST page; None: the exchange's capability.
        retry: Retries of each REST call (transient errors only).
        reconnect_backoff_s: First pause before re-subscribing after a drop; doubles.
        reconnect_max_pause_s: Longest pause between re-subscriptions.
        max_failures: Consecutive failed sessions before `ExchangeTransientError`.
        until_ns: End the stream once every event at or before this time (ns) is out.
    """

    trades: bool | frozenset[str] = False
    quotes: bool | frozenset[str] = False
    hidden_bars: frozenset[str] = frozenset()
    mode: Literal["auto", "websocket", "poll"] = "auto"
    stale_after_s: float | None = None
    poll_interval_s: float | None = None
    page_limit: int | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    reconnect_backoff_s: float = 0.5
    reconnect_max_pause_s: float = 30.0
    max_failures: int = 20
    until_ns: int | None = None


@dataclass
class FeedStats:
    """What happened to the feed's streams (for the node's console and log)."""

    reconnects: int = 0
    stale: int = 0
    recovered: int = 0  # recoveries finished (after a drop or a stall; the live node
    # reconciles the account after each: `engine.cli_live`)
    rest_bars: int = 0
    stream_bars: int = 0
    malformed: int = 0  # candles, trades and quotes dropped (`engine.adapters.ccxt.merge`)

    def drop(self, what: str, problem: str, data: Any) -> None:
        """Count a malformed ``what`` and log a warning naming it (it is not delivered)."""
        self.malformed += 1
        log.warning("dropped a malformed %s (%s): %r", what, problem, data)


def wants(option: bool | frozenset[str], symbol: str) -> bool:
    """Return True if a `FeedOptions` ``trades``/``quotes`` value asks for ``symbol``."""
    return option if isinstance(option, bool) else symbol in option


def default_stale_after_s(timeframe_ms: int, caps: Capabilities) -> float:
    """Return how long a healthy candle stream of this venue can stay silent, in seconds.

    15 of its in-progress candle pushes (at least 30 s) where the venue resends the candle
    (`Capabilities.candle_push_s`); else one timeframe plus a tenth of it (at least 10 s):
    even a venue that speaks only when candles open and close sends one per timeframe.
    """
    if caps.candle_push_s is not None:
        return max(30.0, 15.0 * caps.candle_push_s)
    timeframe_s = timeframe_ms / 1000.0
    return timeframe_s + max(10.0, timeframe_s / 10.0)


class Sessions:
    """Runs ``watch_*`` calls of one exchange as self-healing sessions."""

    def __init__(self, exchange: Any, options: FeedOptions, stats: FeedStats) -> None:
        """Watch on ``exchange``; count reconnects and stalls in ``stats``."""
        self.exchange = exchange
        self.name = str(getattr(exchange, "id", "exchange"))
        self.options = options
        self.stats = stats

    async def run(
        self,
        what: str,
        watch: Callable[[], Awaitable[T]],
        on_result: Callable[[T], Awaitable[None]],
        recover: Callable[[], Awaitable[None]],
        stale: tuple[str, float] | None = None,
        on_drop: Callable[[], None] | None = None,
        finished: Callable[[], bool] | None = None,
    ) -> None:
        """Watch until ``finished()``, else forever; ``stale`` = (ccxt message hash, bound in s).

        ``on_drop`` runs as soon as a drop or stall is seen, before any pause (what must
        not wait, like holding the merge); ``recover`` runs before the next subscription.
        ``finished`` is asked after each result and recovery: a stream with nothing more
        to say (a replay's end) stops, and its silence is no stall.

        Raises:
            ExchangeTransientError: After `FeedOptions.max_failures` drops in a row.
            ExchangeError: Any other ccxt error, translated (`ExchangeInputError` for a
                refused symbol or timeframe).
        """
        import ccxt

        failures = 0
        while True:
            task = asyncio.ensure_future(watch())
            done, _ = await asyncio.wait({task}, timeout=stale[1] if stale else None)
            if stale is not None and not done:
                if on_drop is not None:
                    on_drop()
                self.stats.stale += 1
                log.warning("%s: %s silent for %.1f s: stale", self.name, what, stale[1])
                await self.drop_connection(task, stale[0])
                await recover()
                self.stats.recovered += 1
                if finished is not None and finished():
                    return
                continue
            try:
                result = task.result()
            except ccxt.NetworkError as exc:
                if on_drop is not None:
                    on_drop()
                failures += 1
                self.stats.reconnects += 1
                if failures >= self.options.max_failures:
                    error = translate(exc, self.name, what)
                    raise ExchangeTransientError(
                        f"{error} (gave up after {failures} reconnects)"
                    ) from None
                pause = min(
                    self.options.reconnect_backoff_s * 2.0 ** (failures - 1),
                    self.options.reconnect_max_pause_s,
                )
                log.warning("%s: %s dropped (%s); again in %.1f s", self.name, what, exc, pause)
                await asyncio.sleep(pause)
                await recover()
                self.stats.recovered += 1
                if finished is not None and finished():
                    return
                continue
            except ccxt.BaseError as exc:
                raise translate(exc, self.name, what) from None
            failures = 0
            await on_result(result)
            if finished is not None and finished():
                return

    async def drop_connection(self, task: asyncio.Future[Any], message_hash: str) -> None:
        """Fail the connection carrying ``message_hash`` as a drop would; end ``task``.

        ccxt's own ``client.on_error`` rejects every watch on that connection with the
        error and closes it; the exchange then forgets the client, so the next watch dials
        a new connection and subscribes again.
        """
        import ccxt

        error = ccxt.NetworkError(f"{self.name}: {message_hash} stale (no message in time)")
        for client in list((getattr(self.exchange, "clients", None) or {}).values()):
            if message_hash in client.subscriptions or message_hash in client.futures:
                client.on_error(error)
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:  # no client carried it: nothing else will end the watch
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class TickStreams:
    """Trades and best bid/ask of each symbol, into the merge (see `FeedOptions`)."""

    def __init__(
        self,
        sessions: Sessions,
        caps: Capabilities,
        merger: EventMerger,
        rest: RestCall,
        clock: Callable[[], Awaitable[int]],
        wake: Callable[[], None],
        market: Callable[[str], str] = str,
    ) -> None:
        """Queue ticks on ``merger``; fetch through ``rest``; call ``wake`` after each batch.

        ``caps`` gives the trade page size and window; ``clock`` returns the exchange's
        time in ms (how far a trade backfill goes); ``market`` ccxt's market symbol of an
        engine symbol (the ticks carry the engine's).
        """
        self.sessions = sessions
        self.caps = caps
        self.exchange = sessions.exchange
        self.merger = merger
        self.rest = rest
        self.clock = clock
        self.wake = wake
        self.market = market
        self._trade_seen: dict[str, tuple[int, set[str]]] = {}
        self._last_quote: dict[str, QuoteTick] = {}

    async def trades(self, symbol: str) -> None:
        """Stream ``symbol``'s trades; after a drop, backfill them over ``fetch_trades``.

        A drop holds the merge at the last trade seen (`EventMerger.hold`). ``recover``
        backfills up to now before the new subscription, and its first watch backfills
        again once that subscription has spoken (or after `RESUBSCRIBE_WAIT_S`): trades
        made while it was being set up came over neither, as the bars' gap check covers
        for candles. Only then is the merge released.
        """

        async def on_trades(trades: list[dict[str, Any]]) -> None:
            for trade in trades:
                self._add_trade(symbol, trade)
            self.wake()

        hold = f"trades:{symbol}"
        resubscribing = False

        def on_drop() -> None:
            seen = self._trade_seen.get(symbol)
            if seen is not None and self.exchange.has.get("fetchTrades"):
                self.merger.hold(hold, seen[0] * NS_PER_MS)

        def release() -> None:
            self.merger.release(hold)
            self.wake()

        async def recover() -> None:
            nonlocal resubscribing
            cache = getattr(self.exchange, "trades", None) or {}
            cache.pop(self.market(symbol), None)  # ccxt's copy of the old session
            try:
                await self._trade_fill(symbol)
            except BaseException:
                release()
                raise
            resubscribing = True  # the hold stays until the new subscription is live

        async def resubscribe() -> list[dict[str, Any]]:
            task = asyncio.ensure_future(self.exchange.watch_trades(self.market(symbol)))
            try:
                done, _ = await asyncio.wait({task}, timeout=RESUBSCRIBE_WAIT_S)
                await self._trade_fill(symbol)  # the trades made while it subscribed
            except BaseException:
                task.cancel()
                raise
            finally:
                release()
            trades: list[dict[str, Any]] = await task
            if not done:  # it spoke late: fill again (a trade found now may be late, counted)
                await self._trade_fill(symbol)
            return trades

        async def watch() -> list[dict[str, Any]]:
            nonlocal resubscribing
            if resubscribing:
                resubscribing = False
                return await resubscribe()
            # Trades that came while no watch was waiting sit in ccxt's cache, and a watch
            # would return them only with the next trade message — possibly after later
            # candles have released later events, making them late. Take them at once
            # (`_add_trade` drops what the next watch returns again).
            cached = (getattr(self.exchange, "trades", None) or {}).get(self.market(symbol)) or []
            fresh = [trade for trade in cached if self._is_new(symbol, trade)]
            if fresh:
                return fresh
            trades: list[dict[str, Any]] = await self.exchange.watch_trades(self.market(symbol))
            return trades

        await self.sessions.run(
            f"watching {symbol} trades",
            watch,
            on_trades,
            recover,
            None,  # a quiet market trades rarely: silence is no sign of a stall here
            on_drop,
        )

    def _is_new(self, symbol: str, trade: dict[str, Any]) -> bool:
        """Return False for a trade seen already (by time, then venue id) or without a time."""
        if not isinstance(trade.get("timestamp"), int):
            return False  # dropped (and counted) by `_add_trade` when it first came
        ts = int(trade["timestamp"])
        last_ts, keys = self._trade_seen.get(symbol, (-1, set()))
        return ts > last_ts or (ts == last_ts and _trade_key(trade) not in keys)

    def _add_trade(self, symbol: str, trade: dict[str, Any]) -> None:
        if not isinstance(trade.get("timestamp"), int):
            self.sessions.stats.drop(f"{symbol} trade", "it has no time", trade)
            return
        ts = int(trade["timestamp"])
        key = _trade_key(trade)
        last_ts, keys = self._trade_seen.get(symbol, (-1, set()))
        if not self._is_new(symbol, trade):
            return  # seen already (a backfill overlapping the stream)
        if ts > last_ts:
            keys = set()
        keys.add(key)
        self._trade_seen[symbol] = (ts, keys)  # seen, even if dropped below: never refetched
        problem = trade_problem(trade.get("price"), trade.get("amount"))
        if problem:
            self.sessions.stats.drop(f"{symbol} trade", problem, trade)
            return
        self.merger.add_tick(
            TradeTick(
                symbol,
                ts * NS_PER_MS,
                ts * NS_PER_MS,
                float(trade["price"]),
                float(trade["amount"]),
                str(trade.get("side") or ""),
                str(trade.get("id") or ""),
            )
        )

    async def _trade_fill(self, symbol: str) -> None:
        """Fetch the trades since the last one seen (after a drop), deduplicated.

        Pages follow the last trade; where one request covers only a window of time from
        ``since`` (`Capabilities.trades_window_ms`: Binance, one hour) a short page means
        "no more in this window", so the cursor moves on by the window up to the clock.
        """
        if not self.exchange.has.get("fetchTrades") or symbol not in self._trade_seen:
            return
        caps = self.caps
        limit = self.sessions.options.page_limit or caps.trades_page_limit
        now = await self.clock()
        cursor = self._trade_seen[symbol][0]
        while True:

            def fetch(since: int = cursor) -> Awaitable[list[dict[str, Any]]]:
                return self.exchange.fetch_trades(  # type: ignore[no-any-return]
                    self.market(symbol), since=since, limit=limit
                )

            page = await self.rest(f"fetching {symbol} trades", fetch)
            for trade in page:
                self._add_trade(symbol, trade)
            if len(page) >= limit and self._trade_seen[symbol][0] > cursor:
                cursor = self._trade_seen[symbol][0]  # a full page: more may follow
            elif caps.trades_window_ms is not None and cursor + caps.trades_window_ms < now:
                cursor += caps.trades_window_ms  # the window is exhausted, not the history
            else:
                break

    async def quotes(self, symbol: str) -> None:
        """Stream ``symbol``'s best bid/ask; none is backfilled (the next one supersedes)."""

        async def on_book(book: dict[str, Any]) -> None:
            stamp = book.get("timestamp")
            bids, asks = book.get("bids") or [], book.get("asks") or []
            if stamp is None or not bids or not asks:
                return  # a snapshot without the venue's time cannot be put in order
            ts = int(stamp) * NS_PER_MS
            best = (bids[0][0], asks[0][0], bids[0][1], asks[0][1])
            problem = quote_problem(*best)
            if problem:
                self.sessions.stats.drop(f"{symbol} quote", problem, best)
                return
            quote = QuoteTick(
                symbol,
                ts,
                ts,
                float(bids[0][0]),
                float(asks[0][0]),
                float(bids[0][1]),
                float(asks[0][1]),
            )
            if self._last_quote.get(symbol) != quote:
                self._last_quote[symbol] = quote
                self.merger.add_tick(quote)
                self.wake()

        async def recover() -> None:
            return None  # ccxt takes a new snapshot of the book on the next watch

        await self.sessions.run(
            f"watching {symbol} order book",
            lambda: self.exchange.watch_order_book(self.market(symbol)),
            on_book,
            recover,
            None,
        )


def _trade_key(trade: dict[str, Any]) -> str:
    """Return a trade's identity within its millisecond (price and amount without an id)."""
    return str(trade.get("id") or f"{trade['price']}/{trade['amount']}")
