"""Download candles (and trades) from an exchange through ccxt into the Parquet catalog.

How a download goes (``kestrel data download``; layout in `engine.feeds.catalog`):

1. The exchange id, timeframe and symbols are checked against ccxt's own data
   (``ccxt.exchanges``, ``exchange.timeframes``, ``load_markets``) before any history is
   fetched; unknown ones raise `ExchangeInputError` with a "did you mean".
2. "Now" is the exchange's clock (``fetch_time`` where offered, else the local clock). A
   candle is closed when ``open + timeframe <= now``; the in-progress one is never stored.
3. Per symbol, the cursor starts at ``--since``, or, when the catalog file exists, right
   after its last candle (resume; earlier history is not backfilled — delete the file to
   start over). Pages of ``fetch_ohlcv(since=cursor, limit=page)`` are fetched under ccxt's
   rate limiter (``enableRateLimit``) until a page brings nothing new, the cursor passes
   ``--until`` (exclusive) or reaches the in-progress candle.
4. After every page the file is rewritten whole, atomically (temporary file + rename), so an
   interrupted run keeps every page it got and a rerun continues where it stopped; the
   result is byte-identical to an uninterrupted run (deterministic Parquet writer, same rows).
5. Transient errors (network, 429/418, 5xx, timeouts) are retried with bounded exponential
   backoff, lengthened to the server's ``Retry-After`` (`RetryPolicy`); when retries run
   out the error says how much is stored and to run the command again. Nothing else is retried.
6. Gaps (consecutive candles further apart than one timeframe) are reported, not filled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.adapters.ccxt.capabilities import capabilities
from engine.adapters.ccxt.errors import (
    RetryPolicy,
    call_with_retry,
    check_exchange_id,
    retry_after_s,
)
from engine.errors import ExchangeError, ExchangeInputError, did_you_mean
from engine.feeds.catalog import CANDLE_SCHEMA, catalog_path, read_candles, write_table
from engine.feeds.timeframe import format_timestamp

__all__ = [
    "LOCAL_URL_ENV",
    "TRADE_SCHEMA",
    "Download",
    "Gap",
    "SymbolResult",
    "download",
    "open_exchange",
]

LOCAL_URL_ENV = "KESTREL_EXCHANGE_URL"
TRADE_SCHEMA = pa.schema(
    [
        ("timestamp", pa.int64()),
        ("id", pa.string()),
        ("side", pa.string()),
        ("price", pa.float64()),
        ("amount", pa.float64()),
    ]
)
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Gap:
    """Missing candles between two stored ones: ``after_ms`` and ``before_ms`` are open times."""

    after_ms: int
    before_ms: int
    missing: int

    def sentence(self) -> str:
        """Describe the gap for the user."""
        return (
            f"{self.missing} missing candle(s) between {format_timestamp(self.after_ms * 10**6)} "
            f"and {format_timestamp(self.before_ms * 10**6)}"
        )


@dataclass
class SymbolResult:
    """What one symbol's download did."""

    symbol: str
    path: Path
    added: int
    total: int
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Download:
    """A download request (times in ms since the epoch, UTC; ``until_ms`` exclusive)."""

    exchange: str
    symbols: Sequence[str]
    timeframe: str
    since_ms: int
    until_ms: int | None = None
    catalog: Path = Path("data/catalog")
    trades: bool = False
    page_limit: int | None = None
    local_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def open_exchange(
    exchange_id: str, local_url: str | None, asynchronous: bool = False, perpetual: bool = False
) -> Any:
    """Return a ccxt exchange with the rate limiter on, or raise `ExchangeInputError`.

    ``local_url`` (or ``$KESTREL_EXCHANGE_URL``), e.g. ``http://127.0.0.1:8765``, sends every
    call to the local exchange (`engine.adapters.local`), which speaks Binance's API: use it
    with ``binance``. ``asynchronous`` returns the asyncio flavour the live feed uses: the
    ``ccxt.pro`` class (REST and websockets) where ccxt has one, else ``ccxt.async_support``.
    ``perpetual``: the local exchange replays USDⓈ-M perpetuals (its markets are linear
    swaps, ``BTC/USDT:USDT``, read from ``/fapi``).
    """
    import ccxt

    module: Any = ccxt
    if asynchronous:
        import ccxt.async_support
        import ccxt.pro

        module = ccxt.pro if exchange_id in ccxt.pro.exchanges else ccxt.async_support
    check_exchange_id(exchange_id)
    options: dict[str, Any] = {"enableRateLimit": True}
    url = local_url or os.environ.get(LOCAL_URL_ENV)
    if url:
        options["options"] = {
            "fetchMarkets": {"types": ["linear" if perpetual else "spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        }
    exchange = getattr(module, exchange_id)(options)
    if url:
        from engine.adapters.local import ccxt_urls

        http = url.rstrip("/")
        exchange.urls["api"] = ccxt_urls(http, "ws" + http.removeprefix("http"))
    return exchange


def download(request: Download, progress: Progress | None = None) -> list[SymbolResult]:
    """Download every symbol of ``request`` into the catalog; return what each got.

    Raises:
        ExchangeInputError: Unknown exchange, timeframe or symbol (before anything is fetched).
        ExchangeTransientError: Retries ran out; everything fetched before is stored.
        ExchangeError: Any other exchange failure; everything fetched before is stored.
    """
    exchange = open_exchange(request.exchange, request.local_url)
    name = request.exchange
    timeframes = dict(getattr(exchange, "timeframes", None) or {})
    if not exchange.has.get("fetchOHLCV") or not timeframes:
        raise ExchangeInputError(f"{name} does not offer candle history (fetchOHLCV)")
    if request.timeframe not in timeframes:
        hint = did_you_mean(request.timeframe, timeframes)
        raise ExchangeInputError(f"{name} has no timeframe {request.timeframe!r}{hint}")
    if request.trades and not exchange.has.get("fetchTrades"):
        raise ExchangeInputError(f"{name} does not offer trade history (fetchTrades)")
    markets = call_with_retry(request.retry, name, "loading markets", exchange.load_markets)
    for symbol in request.symbols:
        if symbol not in markets:
            raise ExchangeInputError(
                f"{name} has no symbol {symbol!r}{did_you_mean(symbol, markets)}"
            )
    if exchange.has.get("fetchTime"):
        now_ms = int(call_with_retry(request.retry, name, "reading the time", exchange.fetch_time))
    else:
        now_ms = int(exchange.milliseconds())
    results = []
    for symbol in request.symbols:
        results.append(_candles(exchange, request, symbol, now_ms, progress))
        if request.trades:
            results.append(_trades(exchange, request, symbol, now_ms, progress))
    return results


def _stored_note(error: ExchangeError, result: SymbolResult) -> ExchangeError:
    """Add what is stored (and, unless the input is at fault, how to resume) to ``error``."""
    if isinstance(error, ExchangeInputError):
        if not result.total:
            return error
        return type(error)(f"{error}; {result.total} {result.symbol} row(s) stay in {result.path}")
    message = (
        f"{error}; {result.total} {result.symbol} row(s) are safely stored in {result.path} "
        f"({result.added} new): run the same command again to resume"
    )
    return type(error)(message)


def _candles(
    exchange: Any, request: Download, symbol: str, now_ms: int, progress: Progress | None
) -> SymbolResult:
    name = request.exchange
    timeframe_ms = int(exchange.parse_timeframe(request.timeframe) * 1000)
    path = catalog_path(request.catalog, name, symbol, request.timeframe)
    table = read_candles(path)
    result = SymbolResult(symbol, path, 0, table.num_rows)
    cursor = request.since_ms
    stamps = table.column("timestamp").to_pylist()
    if stamps:
        cursor = stamps[-1] + timeframe_ms
        result.notes.append(f"resuming after the last stored candle {_iso(stamps[-1])}")
        if request.since_ms < stamps[0]:
            result.notes.append(
                f"history before {_iso(stamps[0])} is not backfilled; delete {path} to start over"
            )
    end_ms = now_ms if request.until_ms is None else min(request.until_ms, now_ms)
    limit = request.page_limit or capabilities(name).ohlcv_page_limit
    total = max(0, (end_ms - cursor) // timeframe_ms)
    last = stamps[-1] if stamps else None
    while cursor + timeframe_ms <= end_ms:
        since = cursor

        def fetch(since: int = since) -> Any:
            return exchange.fetch_ohlcv(symbol, request.timeframe, since=since, limit=limit)

        try:
            what = f"fetching {symbol} candles"
            page = call_with_retry(
                request.retry, name, what, fetch, lambda: retry_after_s(exchange)
            )
        except ExchangeError as exc:
            raise _stored_note(exc, result) from None
        rows = [
            row
            for row in page
            if row[0] >= cursor and row[0] + timeframe_ms <= end_ms  # closed, inside the window
        ]
        if not rows:
            break
        for row in rows:
            if last is not None and row[0] - last > timeframe_ms:
                missing = (row[0] - last) // timeframe_ms - 1
                result.gaps.append(Gap(last, row[0], missing))
            last = row[0]
        table = pa.concat_tables([table, _candle_table(rows)])
        write_table(path, table)
        result.added += len(rows)
        result.total = table.num_rows
        cursor = rows[-1][0] + timeframe_ms
        if progress is not None:
            progress(f"{symbol} {request.timeframe}", result.added, total)
    return result


def _candle_table(rows: list[list[Any]]) -> pa.Table:
    columns = list(zip(*[row[:6] for row in rows], strict=True))
    arrays = [pa.array([int(v) for v in columns[0]], pa.int64())]
    arrays += [pa.array([float(v or 0.0) for v in column], pa.float64()) for column in columns[1:]]
    return pa.Table.from_arrays(arrays, schema=CANDLE_SCHEMA)


def _trades(
    exchange: Any, request: Download, symbol: str, now_ms: int, progress: Progress | None
) -> SymbolResult:
    """Download trades into ``trades.parquet``: resume at the last stored ms, ids deduplicated."""
    import pyarrow.parquet as pq

    name = request.exchange
    path = catalog_path(request.catalog, name, symbol, "trades")
    table = pq.read_table(path).cast(TRADE_SCHEMA) if path.is_file() else TRADE_SCHEMA.empty_table()
    result = SymbolResult(f"{symbol} trades", path, 0, table.num_rows)
    seen = set(table.column("id").to_pylist())
    stamps = table.column("timestamp").to_pylist()
    cursor = stamps[-1] if stamps else request.since_ms
    end_ms = now_ms if request.until_ms is None else min(request.until_ms, now_ms)
    caps = capabilities(name)
    limit = request.page_limit or caps.trades_page_limit
    while cursor < end_ms:
        since = cursor

        def fetch(since: int = since) -> Any:
            return exchange.fetch_trades(symbol, since=since, limit=limit)

        try:
            what = f"fetching {symbol} trades"
            page = call_with_retry(
                request.retry, name, what, fetch, lambda: retry_after_s(exchange)
            )
        except ExchangeError as exc:
            raise _stored_note(exc, result) from None
        rows = [t for t in page if str(t["id"]) not in seen and cursor <= t["timestamp"] < end_ms]
        if not rows:
            if caps.trades_window_ms is None:
                break
            cursor += caps.trades_window_ms  # an empty window, not the end of history
            continue
        seen.update(str(t["id"]) for t in rows)
        new = pa.Table.from_pydict(
            {
                "timestamp": [int(t["timestamp"]) for t in rows],
                "id": [str(t["id"]) for t in rows],
                "side": [str(t.get("side") or "") for t in rows],
                "price": [float(t["price"]) for t in rows],
                "amount": [float(t["amount"]) for t in rows],
            },
            schema=TRADE_SCHEMA,
        )
        table = pa.concat_tables([table, new])
        write_table(path, table)
        result.added += len(rows)
        result.total = table.num_rows
        cursor = max(cursor, int(rows[-1]["timestamp"]))
        # a short page ends the window; count the page as served, not the new rows in it:
        # after a full page the next begins with its last trade again (skipped as seen), and
        # a page taken as short jumped over the rest of the window, lost for good
        if caps.trades_window_ms is not None and len(page) < limit:
            cursor = max(cursor, since + caps.trades_window_ms)
        if progress is not None:
            progress(f"{symbol} trades", result.added, None)
    return result


def _iso(ms: int) -> str:
    return format_timestamp(ms * 1_000_000)
