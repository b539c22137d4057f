"""Backtest runner: historical bars through the kernel, in time order, one at a time.

In: a `RunConfig`. Out: a `BacktestResult` (metrics, recorded orders/fills/trades/equity).
Per bar the loop (1) moves the simulated clock to the bar's close time, (2) lets the
simulated broker match working orders against the bar — the venue sees data before
strategies do, so a market order placed at bar t fills at bar t+1's open before the
strategy hears of bar t+1 — then (3) publishes the bar (the cache records it, the
strategy decides). The equity curve, one row per bar close time, is rebuilt from the
fills and closes after the loop (`engine.portfolio.curve`), which keeps accounting out
of the per-bar path; paper and live take the same snapshots as they go. Instruments
quoted in a foreign currency are valued through the ``[[fx]]`` rate series (`load_fx`,
`engine.portfolio.fx`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from engine.cache import COLUMNS, SymbolHistory
from engine.clock import SimClock
from engine.config import DataSourceConfig, RunConfig
from engine.errors import ConfigError, DataError, did_you_mean
from engine.feeds import BarFrame, format_timestamp, load_bars, merge_order
from engine.feeds.catalog import (
    CATALOG_SCHEME,
    DEFAULT_CATALOG,
    catalog_path,
    parse_catalog_uri,
)
from engine.feeds.ticks import TickFrame, load_ticks
from engine.model import Bar, Instrument
from engine.paths import find_relative, nearby_hint, places_text
from engine.portfolio.accounts import FundingRates, load_funding_rates
from engine.portfolio.curve import equity_curve
from engine.portfolio.fx import FxPosition, FxRates, RateSeries, load_rate_series
from engine.report.frames import equity_frame, fills_frame, orders_frame, trades_frame
from engine.report.metrics import compute_metrics
from engine.report.recorder import Mark, Recorder, TradeRecord
from engine.risk.guards import guard_metrics
from engine.runtime.delivery import delivering, paused_gc
from engine.runtime.kernel import Kernel, build_kernel
from engine.runtime.ticks import drive_events, iter_events, tick_marks
from engine.strategy import Strategy, load_strategy_class, make_strategy

__all__ = [
    "BacktestResult",
    "EquityCurve",
    "iter_bar_chunks",
    "iter_bars",
    "load_frames",
    "load_funding",
    "load_fx",
    "make_instruments",
    "run_backtest",
]

# Bars per list handed to the loop. The bars of a chunk (tuples and their floats) die
# together when the loop moves on; a few hundred at a time, the next chunk reuses their
# memory at once, whereas 64k-bar chunks (~17 MB) made the allocator hand whole arenas
# back to the OS and fault fresh 4 kB pages in again for the next one (measured on the
# 1M-bar bench: ~82k -> ~22k page faults per run, ~490k -> ~550k bars/s).
CHUNK = 512
DATAFRAME_PATH = "<DataFrame>"  # the path a source run from a DataFrame is recorded with
GATHER = 65_536  # rows merged per numpy pass when several frames interleave
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class EquityCurve:
    """Account value per bar close time: int64 ns and float64 columns of equal length."""

    ts: np.ndarray
    cash: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)


@dataclass
class BacktestResult:
    """What a backtest produced. ``elapsed_s`` is wall time, kept out of the artifacts."""

    config: RunConfig
    frames: list[BarFrame]
    kernel: Kernel
    equity_curve: EquityCurve
    metrics: dict[str, object]
    elapsed_s: float
    tick_frames: list[TickFrame] = field(default_factory=list)
    # positions still open at the end, marked to their last close (flagged ``is_open``)
    open_trades: list[TradeRecord] = field(default_factory=list)

    @property
    def recorder(self) -> Recorder:
        """Return the run's recorder (orders, fills, trades, equity)."""
        return self.kernel.recorder

    def report(self, path: str | Path | None = None, **options: Any) -> Path:
        """Write this run's self-contained HTML report and return its path.

        Args:
            path: Where to write it (default: a temporary file name chosen by the renderer).
            **options: Passed to `engine.report.html.render_report` (``benchmark``,
                ``risk_free_rate``, ``trials``).
        """
        from engine.report.html import render_report  # the renderer is only needed here

        return render_report(self, path, **options)

    @property
    def bars(self) -> int:
        """Return the number of market events processed: every symbol's bars plus ticks.

        This is the progress count. The "bars" of the summary, ``metrics.json`` and the run
        store is ``metrics["bars"]``: the bar close times stepped (5,482 for two hourly
        symbols of 5,482 bars each, where this says 10,964).
        """
        return sum(len(frame) for frame in self.frames) + sum(len(t) for t in self.tick_frames)

    # The four tables below are built on first access and kept (cached_property): the
    # backtest itself never builds them, so they cost nothing unless a user reads them.
    @cached_property
    def trades(self) -> pd.DataFrame:
        """Return the closed round trips as a DataFrame (the columns of ``trades.csv``).

        ``entry_time``/``exit_time`` are UTC timestamps; prices are in the quote currency,
        PnL and fees in the account currency; ``return_pct`` is percent.
        """
        return trades_frame(self)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Return every order with its final status (the columns of ``orders.csv``).

        A denied order has ``status == "denied"`` and the risk ``check`` and ``reason``.
        """
        return orders_frame(self)

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Return every fill (the columns of ``fills.csv``; ``ts_event`` a UTC timestamp)."""
        return fills_frame(self)

    @cached_property
    def equity(self) -> pd.DataFrame:
        """Return cash, equity and gross exposure per bar close (a UTC ``DatetimeIndex``)."""
        return equity_frame(self)


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
                timeframe=source.timeframe,
                resample=source.resample,
                start=source.start,
                end=source.end,
                calendar=source.calendar,
            )
        )
    return frames


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
    first_known: dict[str, int] = {}
    for frame in frames:
        if len(frame) == 0:
            continue
        first = frame.ts_close_ns[0] if isinstance(frame, BarFrame) else frame.ts_ns[0]
        first_known[frame.symbol] = int(first)
    by_symbol: dict[str, RateSeries] = {}
    for symbol, instrument in instruments.items():
        found = by_currency.get(instrument.quote_currency)
        if found is None:
            continue  # quoted in the account currency (make_instruments checked the rest)
        series, source = found
        start = first_known.get(symbol)
        if start is not None and int(series.ts[0]) > start:
            raise ConfigError(
                f"fx: the {instrument.quote_currency} rate series {source} is first known at "
                f"{format_timestamp(int(series.ts[0]))} (its first bar's close), after "
                f"{symbol}'s first bar closes at {format_timestamp(start)}; give rates that "
                f"start earlier or a later [[data]] start"
            )
        by_symbol[symbol] = series
    return FxRates(by_symbol)


class _Converted(NamedTuple):
    """A fill's quantity and its price in the account currency (for turnover)."""

    quantity: float
    price: float


def iter_bar_chunks(frames: list[BarFrame]) -> Iterator[list[Bar]]:
    """Yield every frame's bars merged by close time, as lists of up to `CHUNK` bars."""
    if len(frames) == 1:
        yield from _single_frame_chunks(frames[0])
        return
    frame_ids, rows = merge_order(frames)
    symbols = [frame.symbol for frame in frames]
    columns = [np.stack([f.open, f.high, f.low, f.close, f.volume], axis=1) for f in frames]
    closes = [frame.ts_close_ns for frame in frames]
    make = tuple.__new__
    for start in range(0, rows.size, GATHER):
        block_ids = frame_ids[start : start + GATHER]
        idx = rows[start : start + GATHER]
        block = np.empty((idx.size, 5))
        block_ts = np.empty(idx.size, dtype=np.int64)
        for position in range(len(frames)):
            mask = block_ids == position
            block[mask] = columns[position][idx[mask]]
            block_ts[mask] = closes[position][idx[mask]]
        for offset in range(0, idx.size, CHUNK):
            ids = block_ids[offset : offset + CHUNK].tolist()
            ts_list = block_ts[offset : offset + CHUNK].tolist()
            timeframes = [frames[i].timeframe_ns for i in ids]
            names = [symbols[i] for i in ids]
            o, h, low, c, v = block[offset : offset + CHUNK].T.tolist()
            # tuple.__new__ through map builds each Bar without a Python-level call.
            records = zip(names, ts_list, ts_list, o, h, low, c, v, timeframes, strict=True)
            yield list(map(make, repeat(Bar), records))


def _single_frame_chunks(frame: BarFrame) -> Iterator[list[Bar]]:
    """`iter_bar_chunks` of one frame: its rows are already in order, so slice, not gather."""
    make = tuple.__new__
    for start in range(0, len(frame), CHUNK):
        end = min(start + CHUNK, len(frame))
        ts = frame.ts_close_ns[start:end].tolist()
        records = zip(
            repeat(frame.symbol, end - start),
            ts,
            ts,
            frame.open[start:end].tolist(),
            frame.high[start:end].tolist(),
            frame.low[start:end].tolist(),
            frame.close[start:end].tolist(),
            frame.volume[start:end].tolist(),
            repeat(frame.timeframe_ns, end - start),
            strict=True,
        )
        yield list(map(make, repeat(Bar), records))


def iter_bars(frames: list[BarFrame]) -> Iterator[Bar]:
    """Yield every frame's bars merged by close time (ties: frame order)."""
    for chunk in iter_bar_chunks(frames):
        yield from chunk


def run_backtest(
    config: RunConfig,
    *,
    frames: list[BarFrame | TickFrame] | None = None,
    data: Mapping[str, pd.DataFrame] | None = None,
    strategy: Strategy | None = None,
    progress: ProgressFn | None = None,
) -> BacktestResult:
    """Run ``config`` and return its result (artifacts are written by the caller).

    Args:
        config: The run configuration.
        frames: Pre-loaded bars (one per ``[[data]]`` source); loaded from files when None.
        data: OHLCV DataFrames by symbol (timestamps are bar open times: a
            ``DatetimeIndex`` or a timestamp column; see `engine.feeds.load_bars`), used
            instead of files. Their ``[[data]]`` tables need only ``symbol`` (their
            ``timeframe``, ``resample``, ``start`` and ``end`` still apply); a symbol the
            config does not list is added to it. The result's config then names the path
            ``"<DataFrame>"``.
        strategy: A strategy instance to run instead of loading ``config.strategy`` (handy
            in notebooks and tests; ``config.strategy.path`` is then only a label).
        progress: Called as ``progress(done_bars, total_bars)`` every few thousand bars.

    Raises:
        ConfigError, DataError, PluginError, StrategyError: see `engine.errors`.
    """
    started = time.perf_counter()
    if data is not None:
        config, frames = _from_dataframes(config, data)
    if strategy is None:
        strategy_class = load_strategy_class(config.strategy.path, config.base_dir)
        strategy = make_strategy(strategy_class, config.strategy.params)
    loaded = load_frames(config) if frames is None else frames
    ticks = [frame for frame in loaded if isinstance(frame, TickFrame)]
    bar_frames = [frame for frame in loaded if isinstance(frame, BarFrame)]
    instruments = make_instruments(config)
    fx = load_fx(config, instruments, loaded)
    histories = {
        frame.symbol: SymbolHistory(
            frame.symbol,
            frame.ts_close_ns,
            {name: getattr(frame, name) for name in ("open", "high", "low", "close", "volume")},
        )
        for frame in bar_frames
    }
    for tick_frame in ticks:  # tick-only symbols have an empty bar history
        empty = np.empty(0)
        histories[tick_frame.symbol] = SymbolHistory(
            tick_frame.symbol, np.empty(0, dtype=np.int64), dict.fromkeys(COLUMNS, empty)
        )
    histories = {symbol: histories[symbol] for symbol in config.symbols if symbol in histories}
    starts = [int(frame.ts_open_ns[0]) for frame in bar_frames if len(frame)]
    starts += [int(frame.ts_ns[0]) for frame in ticks if len(frame)]
    first_open = min(starts)
    clock = SimClock(first_open)
    kernel = build_kernel(
        clock=clock,
        strategy=strategy,
        strategy_id=config.strategy.id,
        histories=histories,
        instruments=instruments,
        account=config.account,
        execution=config.execution,
        risk_config=config.risk,
        funding=load_funding(config),
        fx=fx,
    )
    total = sum(len(frame) for frame in bar_frames) + sum(len(frame) for frame in ticks)
    kernel.runner.start()
    if ticks:
        drive_events(kernel, clock, iter_events(bar_frames, ticks), progress, total)
    else:
        _drive(kernel, clock, iter_bar_chunks(bar_frames), total, progress)
    kernel.runner.stop()
    with paused_gc():
        curve, metrics, still_open = _summarize(config, kernel, bar_frames, ticks, first_open, fx)
    elapsed = time.perf_counter() - started
    return BacktestResult(config, bar_frames, kernel, curve, metrics, elapsed, ticks, still_open)


def _from_dataframes(
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


def _summarize(
    config: RunConfig,
    kernel: Kernel,
    bar_frames: list[BarFrame],
    ticks: list[TickFrame],
    first_open: int,
    fx: FxRates,
) -> tuple[EquityCurve, dict[str, Any], list[TradeRecord]]:
    """Rebuild the equity curve, mark the open positions and compute the run's metrics."""
    marks = [(frame.symbol, frame.ts_close_ns, frame.close) for frame in bar_frames]
    marks += tick_marks(ticks)
    curve = EquityCurve(
        *equity_curve(
            config.account.initial_cash,
            marks,
            kernel.recorder.fills,
            kernel.recorder.cash_adjustments,
            fx.series,
        )
    )
    still_open = _mark_open_trades(kernel, marks, curve, fx)
    fills: list[Any] = kernel.recorder.fills
    if fx:  # turnover in the account currency: each fill at its rate
        fills = [_Converted(f.quantity, f.price * fx.rate(f.symbol, f.ts_event)) for f in fills]
    metrics = compute_metrics(
        initial_cash=config.account.initial_cash,
        start_ns=first_open,
        ts=curve.ts,
        equity=curve.equity,
        gross_exposure=curve.gross_exposure,
        trades=kernel.recorder.trades,
        fees_paid=kernel.portfolio.fees_paid,
        frames=bar_frames,
        fills=fills,
        open_trades=still_open,
    )
    if kernel.guard is not None:  # runs without a guard (the shipped configs) keep their keys
        metrics.update(
            guard_metrics(kernel.recorder.trading_states, curve.ts, curve.gross_exposure)
        )
    return curve, metrics, still_open


def _mark_open_trades(
    kernel: Kernel,
    marks: list[tuple[str, np.ndarray, np.ndarray]],
    curve: EquityCurve,
    fx: FxRates,
) -> list[TradeRecord]:
    """Return the trades still open, marked where the equity curve's last row marks them.

    Each symbol's mark is its last price in ``marks`` (last bar close, or last tick) at
    that time; the rate is the one as of the curve's last row, as in equity.csv.
    """
    open_trades = kernel.recorder.open_trades
    if not open_trades or not len(curve):
        return []
    end = int(curve.ts[-1])
    last: dict[str, Mark] = {}
    for symbol, ts, prices in marks:
        if symbol not in open_trades or ts.size == 0:
            continue
        if symbol in last and last[symbol].ts_ns >= int(ts[-1]):
            continue
        price = float(prices[-1])
        position = kernel.portfolio.positions[symbol]
        rate = fx.rate(symbol, end) if symbol in fx.series else 1.0
        if isinstance(position, FxPosition):  # cost basis in the account currency
            unrealized = position.unrealized_pnl(price, rate)
        else:
            unrealized = position.unrealized_pnl(price)
        last[symbol] = Mark(int(ts[-1]), price, rate, unrealized)
    return kernel.recorder.marked_open_trades(last)


def _unused(bar: Bar) -> None:
    """Stands in for the two named handlers when `_drive` loops over all of them."""


def _drive(
    kernel: Kernel,
    clock: SimClock,
    chunks: Iterator[list[Bar]],
    total: int,
    progress: ProgressFn | None,
) -> None:
    """Deliver every bar: venue first, then the bus's `Bar` handlers, FIFO as `publish`."""
    bus = kernel.bus
    process = kernel.broker.process_bar
    has_working = kernel.broker.working  # truthy while any order is working
    pending = bus.pending  # truthy while events wait for delivery
    flush = bus.flush
    bar_handlers = bus.handlers(Bar)
    # The kernel wires two Bar handlers (cache, strategy) unless account rules, guards or
    # exits watch bars too; calling two by name instead of looping saves a measurable
    # share of the per-bar time.
    two = len(bar_handlers) == 2
    first, second = bar_handlers if two else (_unused, _unused)
    set_time = clock.set_time
    timers = clock.timers  # the clock's heap: a timer is due when timers[0][0] <= ts
    current = -1
    done = 0
    with delivering(bus, clock):
        for chunk in chunks:
            for bar in chunk:
                ts = bar.ts_event
                if ts != current:
                    if timers and timers[0][0] <= ts:
                        set_time(ts)  # fires due timers; their events are delivered then
                    else:
                        clock.now_ns = ts
                    current = ts
                if has_working:
                    process(bar)
                    if pending:
                        flush()
                if two:
                    first(bar)
                    second(bar)
                else:
                    for handler in bar_handlers:
                        handler(bar)
                if pending:
                    flush()
            done += len(chunk)
            if progress is not None:
                progress(done, total)
