"""A new paper account's warm-up: the last N closed bars per symbol before its start.

In: the run config, the live feed (`engine.adapters.ccxt.CcxtFeed`), N, the account's start
(the exchange clock) and each symbol's feed timeframe. Out: the warm-up bars in time order
(ties in the feed's symbol order), which `engine.runtime.paper.session.open_session`
stores with the account and builds the node over.

Where the bars come from, per symbol:

* a ``[[data]]`` path naming a catalog file (``catalog://<exchange>/<symbol>/<timeframe>``,
  `engine.feeds.catalog`): its bars closed at or before the start (with the source's
  ``timeframe``/``resample``, never its ``start``/``end`` window, which are the
  backtest's), topped up over REST (``fetch_ohlcv``) with the ones closed after the
  catalog's last bar — a catalog downloaded last week still warms with the latest bars,
  and the REST call asks only for the missing tail (none when the catalog is current);
* anything else: ``fetch_ohlcv`` alone (`CcxtFeed.history`).

The result is the last N of those. Symbols traded on trades or quotes get none (their
bar history is empty in a backtest too), nor do feed symbols the config does not trade.
A catalog file whose timeframe is not the feed's for that symbol is refused (one line):
the indicators would be warmed on other bars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds import BarFrame, format_timeframe
from engine.feeds.catalog import CATALOG_SCHEME
from engine.model import Bar

__all__ = ["catalog_bars", "fetch_warmup"]


def catalog_bars(
    config: RunConfig, count: int, until_ns: int, timeframes: Mapping[str, int]
) -> dict[str, list[Bar]]:
    """Return the last ``count`` bars closed by ``until_ns`` of each catalog-backed symbol.

    Raises:
        ConfigError: A catalog file's timeframe differs from the feed's for its symbol.
        DataError: The catalog file is missing or invalid (`engine.feeds.load_bars`).
    """
    from engine.feeds import load_bars
    from engine.runtime.inputs import resolve_data_path

    found: dict[str, list[Bar]] = {}
    for source in config.data:
        if (
            source.kind != "bars"
            or source.symbol not in timeframes
            or not source.path.startswith(CATALOG_SCHEME)
        ):
            continue
        path = resolve_data_path(source.path, config.base_dir)
        frame = load_bars(
            path,
            symbol=source.symbol,
            timeframe=source.timeframe,
            resample=source.resample,
            calendar=source.calendar,
        )
        wanted = timeframes[source.symbol]
        if frame.timeframe_ns != wanted:
            raise ConfigError(
                f"paper warm-up: {source.path} holds {format_timeframe(frame.timeframe_ns)} "
                f"bars but the feed delivers {source.symbol} at {format_timeframe(wanted)}; "
                "name the catalog file of that timeframe (or resample it)"
            )
        found[source.symbol] = _frame_bars(frame, until_ns)[-count:] if count else []
    return found


async def fetch_warmup(
    config: RunConfig, feed: Any, count: int, until_ns: int, timeframes: Mapping[str, int]
) -> list[Bar]:
    """Return ``count`` warm-up bars per symbol closed by ``until_ns``, in time order.

    ``feed`` is a checked `CcxtFeed` (its ``history`` fetches over REST what the catalog
    does not hold).
    """
    bar_symbols = {source.symbol for source in config.data if source.kind == "bars"}
    # a trade/quote symbol has no bar history in a backtest: none in paper either
    timeframes = {s: tf for s, tf in timeframes.items() if s in bar_symbols}
    if not count or not timeframes:
        return []
    stored = catalog_bars(config, count, until_ns, timeframes)
    missing: dict[str, int] = {}
    for symbol, tf in timeframes.items():
        held = stored.get(symbol)
        if not held:
            missing[symbol] = count
            continue
        last_closed = until_ns - until_ns % tf  # the last bar closed by the start closes here
        missing[symbol] = min(count, max(0, (last_closed - held[-1].ts_event) // tf))
    fetched: dict[str, list[Bar]] = {}
    if any(missing.values()):
        fetched = await feed.history(missing, until_ns)
    order = {symbol: i for i, symbol in enumerate(timeframes)}
    bars: list[Bar] = []
    for symbol in timeframes:
        older = stored.get(symbol, [])
        newest = older[-1].ts_event if older else -1
        merged = older + [bar for bar in fetched.get(symbol, []) if bar.ts_event > newest]
        bars.extend(merged[-count:])
    bars.sort(key=lambda bar: (bar.ts_event, order[bar.symbol]))
    return bars


def _frame_bars(frame: BarFrame, until_ns: int) -> list[Bar]:
    """Return ``frame``'s bars closed at or before ``until_ns`` (``ts_event`` = close)."""
    close = frame.ts_close_ns
    tf = frame.timeframe_ns
    return [
        Bar(frame.symbol, c, c, o, h, lo, cl, v, tf)
        for c, o, h, lo, cl, v in zip(
            close.tolist(),
            frame.open.tolist(),
            frame.high.tolist(),
            frame.low.tolist(),
            frame.close.tolist(),
            frame.volume.tolist(),
            strict=True,
        )
        if c <= until_ns
    ]
