"""Run inputs: a config's bars, ticks, instruments, fx rates and funding, loaded and checked.

One place for what every mode reads before it starts: the backtest
(`engine.runtime.backtest.run_backtest`) and the paper/live node
(`engine.runtime.node.TradingNode`) both take their instruments and funding from here, and
the run folder (`engine.runtime.runs`) resolves data paths here, so a config's
``[[data]]``, ``[[instruments]]`` and ``[[fx]]`` mean the same in every mode.

Paths are resolved beside the config, then under the project root (`resolve_data_path`);
bars are loaded and validated by `engine.feeds.load_bars`, ticks by
`engine.feeds.ticks.load_ticks`. Timestamps are int64 ns since the Unix epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from engine.config import DataSourceConfig, RunConfig
from engine.errors import ConfigError, DataError, did_you_mean, warn
from engine.feeds import BarFrame, format_timestamp, load_bars, parse_timeframe
from engine.feeds.catalog import (
    CATALOG_SCHEME,
    DEFAULT_CATALOG,
    catalog_path,
    parse_catalog_uri,
)
from engine.feeds.ticks import TickFrame, load_ticks
from engine.feeds.timeframe import format_duration
from engine.model import Instrument
from engine.paths import find_relative, nearby_hint, places_text
from engine.portfolio.accounts import FundingRates, load_funding_rates
from engine.portfolio.fx import FxRates, RateSeries, load_rate_series

__all__ = [
    "DATAFRAME_PATH",
    "from_dataframes",
    "load_frames",
    "load_funding",
    "load_fx",
    "make_instruments",
    "resolve_data_path",
    "warn_short_frames",
]

DATAFRAME_PATH = "<DataFrame>"  # the path a source run from a DataFrame is recorded with


def resolve_data_path(path: str, base_dir: str, key: str = "[[data]] path") -> Path:
    """Return the file a config's relative ``path`` names (see `engine.paths`).

    Looked up beside the config (``base_dir``), then under the project root, never in the
    working directory: the same config reads the same files wherever the command runs.

    ``catalog://<exchange>/<symbol>/<timeframe>`` names a file of the market-data catalog
    (`engine.feeds.catalog`): ``data/catalog/...``, looked up the same way.

    Raises:
        DataError: No such file in either place; the message names every place tried.
    """
    if path.startswith(CATALOG_SCHEME):
        exchange, symbol, timeframe = parse_catalog_uri(path)
        relative = catalog_path(DEFAULT_CATALOG, exchange, symbol, timeframe)
        found, tried = find_relative(str(relative), base_dir)
        if found is None or not found.is_file():
            raise DataError(
                f"{key} {path!r}: no catalog file ({places_text(tried)}); download it with "
                f"`kestrel data download --exchange {exchange} --symbols {symbol} "
                f"--timeframe {timeframe} --since ...`"
            )
        return found
    found, tried = find_relative(path, base_dir)
    if found is not None:
        return found
    raise DataError(
        f"{key} {path!r}: no such file: {places_text(tried)}{nearby_hint(tried)}; fix the "
        "path (relative paths are read beside the config file, then under the project root)"
    )


def load_frames(config: RunConfig) -> list[BarFrame | TickFrame]:
    """Load and validate every ``[[data]]`` source of ``config`` (bars or ticks)."""
    frames: list[BarFrame | TickFrame] = []
    for source in config.data:
        if not source.path:
            raise ConfigError(
                f"data: {source.symbol} has no path; give [[data]] path = FILE, or pass its "
                "bars from Python as run_backtest(config, data={symbol: DataFrame})"
            )
        path = resolve_data_path(source.path, config.base_dir)
        if source.kind != "bars":
            frames.append(load_ticks(path, symbol=source.symbol, kind=source.kind))
            continue
        frames.append(
            load_bars(
                path,
                symbol=source.symbol,
                timeframe=_catalog_timeframe(source.path, source.timeframe),
                resample=source.resample,
                start=source.start,
                end=source.end,
                calendar=source.calendar,
            )
        )
    return frames


def _catalog_timeframe(path: str, timeframe: str | None) -> str | None:
    """The timeframe of a ``catalog://`` file is in its path: a sparse file (hours without
    trades not served) would otherwise be inferred as longer bars, each visible late.

    Raises:
        ConfigError: ``[[data]] timeframe`` names another one.
    """
    if not path.startswith(CATALOG_SCHEME):
        return timeframe
    named = parse_catalog_uri(path)[2]
    if timeframe is not None and parse_timeframe(timeframe) != parse_timeframe(named):
        raise ConfigError(
            f"data: {path!r}: the catalog file's timeframe is {named!r}, not {timeframe!r}; "
            f"remove timeframe, or keep it and add resample = {timeframe!r} to aggregate"
        )
    return named


def load_funding(config: RunConfig) -> dict[str, FundingRates]:
    """Load the funding-rate series named by ``[[data]] funding`` (perpetual symbols)."""
    return {
        source.symbol: load_funding_rates(
            resolve_data_path(source.funding, config.base_dir, "[[data]] funding")
        )
        for source in config.data
        if source.funding is not None
    }


def make_instruments(config: RunConfig) -> dict[str, Instrument]:
    """Return an `Instrument` per symbol from ``[[instruments]]`` or the defaults."""
    given = {item.symbol: item for item in config.instruments}
    instruments: dict[str, Instrument] = {}
    for symbol in config.symbols:
        item = given.get(symbol)
        try:
            if item is None:
                instruments[symbol] = Instrument(
                    symbol, quote_currency=config.account.currency, lot_size=1e-8
                )
                continue
            quote = item.quote_currency or config.account.currency
            instruments[symbol] = Instrument(
                symbol,
                quote_currency=quote,
                tick_size=item.tick_size,
                lot_size=item.lot_size,
                min_quantity=item.min_quantity,
                min_notional=item.min_notional,
            )
        except ValueError as exc:
            raise ConfigError(f"instruments: {exc}") from None
        if quote != config.account.currency and quote not in {r.currency for r in config.fx}:
            raise ConfigError(
                f"instruments: {symbol} is quoted in {quote} but the account is in "
                f"{config.account.currency}; add an [[fx]] table with currency = {quote!r} "
                "and the path of its rate series"
            )
    return instruments


def load_fx(
    config: RunConfig,
    instruments: Mapping[str, Instrument],
    frames: list[BarFrame | TickFrame],
) -> FxRates:
    """Load the ``[[fx]]`` rate series and map them to the symbols quoted in their currency.

    Raises:
        DataError: A rate file is missing or invalid, or holds a rate that is not > 0.
        ConfigError: A rate series starts too late: its first rate must be known (its first
            bar closed) no later than the first bar close (or tick) of every symbol quoted
            in its currency, so that every mark and fill has a rate.
    """
    by_currency: dict[str, tuple[RateSeries, str]] = {}
    for item in config.fx:
        try:
            path = resolve_data_path(item.path, config.base_dir, "[[fx]] path")
            series = load_rate_series(
                path, item.currency, invert=item.invert, timeframe=item.timeframe
            )
        except DataError as exc:
            raise DataError(f"fx {item.currency}: {exc}") from None
        by_currency[item.currency] = (series, str(path))
    known: dict[str, tuple[int, int]] = {}  # symbol: (first, last) bar close or tick time
    for frame in frames:
        if len(frame) == 0:
            continue
        times = frame.ts_close_ns if isinstance(frame, BarFrame) else frame.ts_ns
        known[frame.symbol] = (int(times[0]), int(times[-1]))
    by_symbol: dict[str, RateSeries] = {}
    for symbol, instrument in instruments.items():
        found = by_currency.get(instrument.quote_currency)
        if found is None:
            continue  # quoted in the account currency (make_instruments checked the rest)
        series, source = found
        if symbol in known:
            _check_rate_span(series, source, instrument.quote_currency, symbol, *known[symbol])
        by_symbol[symbol] = series
    return FxRates(by_symbol)


def _widest_gap(ts: np.ndarray) -> int:
    """Return the longest spacing of a time series (ns; 0 for one time): how far past its
    last time it may still be taken to cover (a market's night or weekend)."""
    return int(np.diff(ts).max()) if ts.size > 1 else 0


def _check_rate_span(
    series: RateSeries, source: str, currency: str, symbol: str, start: int, end: int
) -> None:
    """Refuse a rate series that does not cover ``symbol``'s bars (``start``/``end``: closes).

    It must be known by the first close; it may end before the last one by no more than
    its own largest gap (a market closed for the night or the weekend), else every later
    mark and fill would take its last rate, silently (an audit: a file ending in May for a
    run to February, 8.7 % off).

    Raises:
        ConfigError: The series starts after ``start`` or ends too long before ``end``.
    """
    first, last = int(series.ts[0]), int(series.ts[-1])
    if first > start:
        raise ConfigError(
            f"fx: the {currency} rate series {source} is first known at "
            f"{format_timestamp(first)} (its first bar's close), after {symbol}'s first bar "
            f"closes at {format_timestamp(start)}; give rates that start earlier or a later "
            "[[data]] start"
        )
    widest = _widest_gap(series.ts)
    if end - last > widest:
        raise ConfigError(
            f"fx: the {currency} rate series {source} ends at {format_timestamp(last)} (its "
            f"last bar's close), {format_duration(end - last)} before {symbol}'s last bar "
            f"closes at {format_timestamp(end)}, longer than any gap inside it "
            f"({format_duration(widest)}): every later mark and fill would use its last "
            "rate; give rates that cover the run, or an earlier [[data]] end"
        )


def warn_funding_span(funding: Mapping[str, FundingRates], frames: list[BarFrame]) -> None:
    """Say on stderr when a symbol's funding file stops before its bars (`warning:` line).

    After its last time nothing is charged, silently; a file ending before the last bar
    closes by more than its own widest spacing is named (a warning, not an error: a sparse
    file may be meant, e.g. in a test of one payment).
    """
    for frame in frames:
        rates = funding.get(frame.symbol)
        if rates is None or not len(frame) or not rates.ts.size:
            continue
        last, end = int(rates.ts[-1]), int(frame.ts_close_ns[-1])
        widest = _widest_gap(rates.ts)
        if end - last > widest:
            warn(
                f"{frame.symbol}: the funding file ends at {format_timestamp(last)}, "
                f"{format_duration(end - last)} before the last bar closes at "
                f"{format_timestamp(end)} (its funding times are at most "
                f"{format_duration(widest)} apart): no funding is charged after it"
            )


def warn_short_frames(frames: list[BarFrame]) -> None:
    """Say on stderr when a symbol's bars end before the run's (`warning:` line).

    After its last bar the symbol is marked at its last close (equity, exposure, margin)
    and its orders wait for a bar that never comes: a silent flat line otherwise. A bar
    file ending earlier than the last one by no more than its own widest spacing (its
    night, its weekend, one bar) is no warning.
    """
    ends = [(int(frame.ts_close_ns[-1]), frame) for frame in frames if len(frame)]
    if len(ends) < 2:
        return
    last = max(end for end, _ in ends)
    for end, frame in ends:
        if last - end > max(_widest_gap(frame.ts_close_ns), frame.timeframe_ns):
            warn(
                f"{frame.symbol}: its data ends at {format_timestamp(end)} (last bar's close), "
                f"{format_duration(last - end)} before the run's last bar closes at "
                f"{format_timestamp(last)}: after it, {frame.symbol} is marked at its last "
                "close and its orders cannot fill"
            )


def from_dataframes(
    config: RunConfig, data: Mapping[str, pd.DataFrame]
) -> tuple[RunConfig, list[BarFrame | TickFrame]]:
    """Return ``config`` with every DataFrame's symbol as a source, and their bars.

    Raises:
        ConfigError: A source has neither a path nor a DataFrame, or is not bars.
        DataError: A DataFrame is not valid OHLCV bars.
    """
    known = {source.symbol: source for source in config.data}
    sources = list(config.data)
    for symbol in data:
        if symbol not in known:
            sources.append(DataSourceConfig(path=DATAFRAME_PATH, symbol=symbol))
    sources = [
        replace(source, path=DATAFRAME_PATH) if source.symbol in data else source
        for source in sources
    ]
    config = replace(config, data=sources)
    frames: list[BarFrame | TickFrame] = []
    for source in config.data:
        if source.symbol not in data:
            if not source.path or source.path == DATAFRAME_PATH:
                hint = did_you_mean(source.symbol, list(data))
                raise ConfigError(
                    f"data: {source.symbol} has no path and no DataFrame was passed for it"
                    f"{hint}; give [[data]] path = FILE or data={{{source.symbol!r}: frame}}"
                )
            frames.extend(load_frames(replace(config, data=[source])))
            continue
        if source.kind != "bars":
            raise ConfigError(f"data: {source.symbol}: a DataFrame must hold bars (kind='bars')")
        frames.append(
            load_bars(
                data[source.symbol],
                symbol=source.symbol,
                timeframe=source.timeframe,
                resample=source.resample,
                start=source.start,
                end=source.end,
            )
        )
    return config, frames
