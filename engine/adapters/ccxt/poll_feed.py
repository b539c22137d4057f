"""PollFeed: a `LiveFeed` of closed bars by REST polling (``fetch_time`` + ``fetch_ohlcv``).

In: a ccxt async exchange (any exchange with ``fetch_ohlcv``; `open_async_exchange` builds
one, optionally pointed at the local exchange), the symbols and their timeframes. Out:
closed `Bar`s in time order, each exactly once, as `engine.feeds.live` requires.

For exchanges without websockets, and wherever a bar a second is plenty (paper trading on
hourly bars). Each poll round:

1. reads the exchange's clock (``fetch_time``) — call it ``now``;
2. for every symbol, fetches the candles that open after the last one yielded (paginated)
   and keeps those with ``open + timeframe <= now``: closed *before the round began*, so
   their OHLCV is final. The in-progress candle (and anything later) is left for a later
   round — it is never a `Bar`;
3. yields the round's bars sorted by ``(ts_event, position of the symbol)``; as every bar
   closing at or before ``now`` is in the round, the order holds across rounds too.

``since_ns`` (catch-up): the first round starts after it, so every bar closing later is
yielded before newer ones; None starts at the exchange's ``now`` (the next bar to close).
``until_ns`` ends the stream once every symbol has yielded its bar closing at or before
it (a paper run over a window; the local exchange's replay ends). Transient errors are
retried per `RetryPolicy` and then raised as `ExchangeTransientError`; others at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from engine.adapters.ccxt.download import LOCAL_URL_ENV
from engine.adapters.ccxt.errors import RetryPolicy, retry_after_s, translate
from engine.errors import ExchangeInputError, ExchangeTransientError, did_you_mean
from engine.feeds import format_timeframe
from engine.model import Bar

__all__ = ["PollFeed", "open_async_exchange"]

_NS_PER_MS = 1_000_000
_T = TypeVar("_T")


def open_async_exchange(exchange_id: str, url: str | None = None) -> Any:
    """Return a ccxt.async_support exchange (rate limiter on), or raise `ExchangeInputError`.

    ``url`` (or ``$KESTREL_EXCHANGE_URL``), e.g. ``http://127.0.0.1:8765``, sends every call
    to the local exchange (`engine.adapters.local`), which speaks Binance's API.
    """
    import ccxt.async_support as ccxt_async

    if exchange_id not in ccxt_async.exchanges:
        raise ExchangeInputError(
            f"unknown exchange {exchange_id!r}{did_you_mean(exchange_id, ccxt_async.exchanges)}"
        )
    options: dict[str, Any] = {"enableRateLimit": True}
    target = url or os.environ.get(LOCAL_URL_ENV)
    if target:
        options["options"] = {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        }
    exchange = getattr(ccxt_async, exchange_id)(options)
    if target:
        from engine.adapters.local.exchange import ccxt_urls

        http = target.rstrip("/")
        exchange.urls["api"] = ccxt_urls(http, "ws" + http.removeprefix("http"))
    return exchange


class PollFeed:
    """Closed bars of ``timeframes`` (symbol -> timeframe in ns) polled over REST."""

    def __init__(
        self,
        exchange: Any,
        timeframes: Mapping[str, int],
        *,
        poll_s: float = 1.0,
        until_ns: int | None = None,
        retry: RetryPolicy | None = None,
        page_limit: int = 1000,
    ) -> None:
        """Poll ``exchange`` every ``poll_s`` seconds once caught up.

        Args:
            exchange: A ccxt async exchange (owned by the feed: `close` closes it).
            timeframes: Timeframe in ns of each symbol; their order breaks ties in time.
            poll_s: Pause between rounds that found nothing new.
            until_ns: End the stream after the bars closing at or before this time.
            retry: Backoff for transient errors (default: 5 attempts from 1 s).
            page_limit: Candles asked for per request.
        """
        self._exchange = exchange
        self._name = str(getattr(exchange, "id", "exchange"))
        self._timeframes = dict(timeframes)
        self._order = {symbol: i for i, symbol in enumerate(self._timeframes)}
        self._poll_s = poll_s
        self._until_ns = until_ns
        self._retry = retry or RetryPolicy()
        self._page_limit = page_limit
        self._closed = asyncio.Event()
        self._checked = False

    async def now_ns(self) -> int:
        """Return the exchange's clock in ns (a new paper account starts there)."""
        return int(await self._call("fetch_time", self._exchange.fetch_time)) * _NS_PER_MS

    async def check(self) -> None:
        """Load the markets; refuse symbols or timeframes the exchange does not have.

        Raises:
            ExchangeInputError: An unknown symbol or timeframe (with "did you mean").
            ExchangeTransientError: The exchange cannot be reached (after the retries).
        """
        if self._checked:
            return
        await self._call("load_markets", self._exchange.load_markets)
        symbols = list(getattr(self._exchange, "symbols", None) or [])
        offered = dict(getattr(self._exchange, "timeframes", None) or {})
        for symbol, timeframe_ns in self._timeframes.items():
            if symbol not in symbols:
                raise ExchangeInputError(
                    f"{self._name}: unknown symbol {symbol!r}{did_you_mean(symbol, symbols)}"
                )
            name = format_timeframe(timeframe_ns)
            if offered and name not in offered:
                raise ExchangeInputError(
                    f"{self._name}: no {name} candles; it offers {', '.join(offered)}"
                )
        self._checked = True

    async def stream(self, since_ns: int | None = None) -> AsyncIterator[Bar]:
        """Yield closed bars after ``since_ns`` (None: from now) in time order, once each."""
        await self.check()
        start = since_ns if since_ns is not None else await self.now_ns()
        last = dict.fromkeys(self._timeframes, start)  # ts_event of the last bar yielded
        while not self._closed.is_set():
            now_ms = int(await self._call("fetch_time", self._exchange.fetch_time))
            found: list[Bar] = []
            for symbol, timeframe_ns in self._timeframes.items():
                found += await self._closed_bars(symbol, timeframe_ns, last[symbol], now_ms)
            found.sort(key=lambda bar: (bar.ts_event, self._order[bar.symbol]))
            for bar in found:
                last[bar.symbol] = bar.ts_event
                yield bar
            if self._until_ns is not None and self._done(last, now_ms):
                return
            if not found:
                with contextlib.suppress(TimeoutError):  # sleep; wake at once on close()
                    await asyncio.wait_for(self._closed.wait(), timeout=self._poll_s)

    def _done(self, last: Mapping[str, int], now_ms: int) -> bool:
        """True once no bar closing at or before ``until_ns`` is still to come."""
        assert self._until_ns is not None
        if now_ms * _NS_PER_MS >= self._until_ns:
            return True  # every bar closing by then was closed this round, hence yielded
        return all(ts + self._timeframes[symbol] > self._until_ns for symbol, ts in last.items())

    async def _closed_bars(
        self, symbol: str, timeframe_ns: int, after_ns: int, now_ms: int
    ) -> list[Bar]:
        """Return the bars of ``symbol`` closing after ``after_ns`` and by ``now_ms``."""
        timeframe_ms = timeframe_ns // _NS_PER_MS
        name = format_timeframe(timeframe_ns)
        # the first candle wanted closes after after_ns: it opens after after_ns - timeframe
        since_ms = after_ns // _NS_PER_MS - timeframe_ms + 1
        bars: list[Bar] = []
        while True:
            page_since = since_ms

            async def fetch(since: int = page_since) -> Any:
                return await self._exchange.fetch_ohlcv(
                    symbol, name, since=since, limit=self._page_limit
                )

            rows = await self._call(f"fetch_ohlcv {symbol} {name}", fetch)
            more = len(rows) >= self._page_limit
            for row in rows:
                open_ms = int(row[0])
                close_ms = open_ms + timeframe_ms
                if close_ms > now_ms:  # in progress (or later): not a bar yet
                    more = False
                    break
                ts = close_ms * _NS_PER_MS
                if ts <= after_ns or (bars and ts <= bars[-1].ts_event):
                    continue  # already yielded, or a repeated row
                bars.append(_bar(symbol, ts, timeframe_ns, row))
            if not more or not rows:
                return bars
            since_ms = int(rows[-1][0]) + 1

    async def _call(self, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """Return ``await call()``, retrying transient ccxt errors; translate the rest."""
        import ccxt

        attempts = self._retry.attempts
        for attempt in range(attempts):
            try:
                return await call()
            except ccxt.BaseError as exc:
                error = translate(exc, self._name, what)
                if not isinstance(error, ExchangeTransientError):
                    raise error from None
                if attempt + 1 == attempts:
                    raise ExchangeTransientError(
                        f"{error} (gave up after {attempts} attempts)"
                    ) from None
                pause = self._retry.pause_s(attempt, retry_after_s(self._exchange))
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """End `stream` and close the exchange's connections."""
        self._closed.set()
        await self._exchange.close()


def _bar(symbol: str, ts: int, timeframe_ns: int, row: list[Any]) -> Bar:
    return Bar(
        symbol=symbol,
        ts_event=ts,
        ts_init=ts,
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
        timeframe_ns=timeframe_ns,
    )
