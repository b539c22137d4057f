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

The result is the last N of those. A venue's ``fetch_ohlcv`` window of N bar lengths holds
fewer than N bars where its history has gaps (the shipped BTC/USDT hours: 996 of 1000), so
a short symbol is asked again, that many bar lengths further back, until it has N bars or
an ask finds no new bar (its history begins later): at most `MAX_WIDENINGS` more asks.
Symbols traded on trades or quotes get none (their bar history is empty in a backtest
too), nor do feed symbols the config does not trade. Refused in one line: a catalog file
whose timeframe is not the feed's for that symbol, or whose URI names another symbol than
its ``[[data]]`` table (the indicators would be warmed on other bars, another market's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds import BarFrame, format_timeframe
from engine.feeds.catalog import CATALOG_SCHEME, parse_catalog_uri
from engine.model import Bar

__all__ = [
    "MAX_WIDENINGS",
    "catalog_bars",
    "fetch_warmup",
    "warmup_text",
    "warmup_warnings",
]

MAX_WIDENINGS = 8  # further asks of a symbol whose venue history has gaps (each finds more)


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
        named = parse_catalog_uri(source.path)[1]
        if named != source.symbol:
            raise ConfigError(
                f"paper warm-up: {source.path} holds {named} bars but its [[data]] table "
                f"says symbol = {source.symbol!r}, which the feed delivers; name the catalog "
                f"file of {source.symbol} (the warm-up would be another market's prices)"
            )
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
    rest: dict[str, list[Bar]] = {}
    if any(missing.values()):
        rest = await feed.history(missing, until_ns)
    merged = {s: _merge(stored.get(s, []), rest.get(s, [])) for s in timeframes}
    # `history(n)` reads n bar lengths of time: gaps leave fewer than n bars, so a short
    # symbol asks further back, by its shortfall, until full or an ask finds nothing new
    asked = dict(missing)
    for _ in range(MAX_WIDENINGS):
        short = {
            s: asked[s] + count - len(merged[s])
            for s in timeframes
            if len(merged[s]) < count and s in asked
        }
        if not short:
            break
        more = await feed.history(short, until_ns)
        for symbol, periods in short.items():
            before = len(merged[symbol])
            rest[symbol] = rest.get(symbol, []) + more.get(symbol, [])
            merged[symbol] = _merge(stored.get(symbol, []), rest[symbol])
            asked[symbol] = periods
            if len(merged[symbol]) == before:
                del asked[symbol]  # its history holds no more: not asked again
    order = {symbol: i for i, symbol in enumerate(timeframes)}
    bars = [bar for symbol in timeframes for bar in merged[symbol][-count:]]
    bars.sort(key=lambda bar: (bar.ts_event, order[bar.symbol]))
    return bars


def _merge(catalog: list[Bar], fetched: list[Bar]) -> list[Bar]:
    """Return the bars of both in time order, the catalog's where both have one."""
    by_close = {bar.ts_event: bar for bar in fetched}
    by_close.update((bar.ts_event, bar) for bar in catalog)
    return [by_close[close] for close in sorted(by_close)]


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


def warmup_text(warmup: Sequence[Bar], symbols: Sequence[str]) -> str:
    """Say how many warm-up bars a new account stored, per symbol when there are several.

    ``"1000 warm-up bars"`` (one symbol), ``"1000 warm-up bars of each of 2 symbols"``,
    ``"warm-up bars: BTC/USDT 1000, ETH/USDT 996"``: never a total over symbols read as
    one symbol's count.
    """
    counts = {symbol: sum(1 for bar in warmup if bar.symbol == symbol) for symbol in symbols}
    if len(counts) == 1:
        return f"{next(iter(counts.values()))} warm-up bars"
    if len(set(counts.values())) == 1:
        return f"{next(iter(counts.values()))} warm-up bars of each of {len(counts)} symbols"
    return "warm-up bars: " + ", ".join(f"{symbol} {n}" for symbol, n in counts.items())


def warmup_warnings(
    needed: int, asked: int, warmup: Sequence[Bar], symbols: Sequence[str]
) -> list[str]:
    """Return the warning lines of a new account's warm-up (without ``warning:``).

    ``needed``: the bars per symbol the strategy's indicators need (the caller's
    `engine.runtime.live.warmup.default_warmup_bars`, live's automatic count); ``asked``:
    ``--warmup-bars``, else ``[paper] warmup_bars``, else 0; ``symbols``: the bar symbols
    warmed. One line when ``asked`` is below ``needed``: the first decisions are taken on
    indicators a backtest with that history would have warm. One line per symbol the
    venue had fewer closed bars of than asked (after `fetch_warmup` asked further back
    over its gaps).
    """
    lines = []
    if asked < needed:
        lines.append(
            f"the strategy's indicators need {needed} warm-up bars per symbol and this account "
            f"has {asked} (--warmup-bars, else [paper] warmup_bars, else 0): its decisions on "
            f"the first {needed - asked} bars may differ from a backtest with that history "
            f"before the start; give --warmup-bars {needed} to a new --account"
        )
    if asked:
        for symbol in symbols:
            got = sum(1 for bar in warmup if bar.symbol == symbol)
            if got < asked:
                lines.append(
                    f"{symbol}: {got} warm-up bars of the {asked} asked for were there (no more "
                    "closed bars before the start: the exchange's history, or a --replay's "
                    "data, begins later or has gaps)"
                )
    return lines
