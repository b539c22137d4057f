"""Backtest runner: historical bars through the kernel, in time order, one at a time.

In: a `RunConfig`. Out: a `BacktestResult` (metrics, recorded orders/fills/trades/equity).
The kernel is built in the `BACKTEST` mode (`engine.runtime.modes`) and driven by the
`engine.runtime.driver.Driver` every mode uses: per bar it (1) moves the simulated clock to
the bar's close time, (2) lets the simulated broker match working orders against the bar
— the venue sees data before strategies do, so a market order placed at bar t fills at
bar t+1's open before the strategy hears of bar t+1 — then (3) delivers the bar (the
cache records it, the strategy decides). Headlines of ``[[data]] kind = "news"`` tables
are delivered as the clock reaches them, before the first bar closing at or after their
time (`engine.runtime.news`). Bars alone go through `Driver.run_bars` (the
step specialised for batches); with ticks, every event goes through `Driver.run`. The
equity curve, one row per bar close time, is built after the loop from the portfolio's
journal and the closes (`engine.runtime.summary`, `engine.portfolio.curve`), which keeps
accounting out of the per-bar path; paper and live take the same snapshots as they go.
Instruments quoted in a foreign currency are valued through the ``[[fx]]`` rate series (`load_fx`,
`engine.portfolio.fx`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from itertools import repeat

import numpy as np
import pandas as pd

from engine.cache import COLUMNS, SymbolHistory
from engine.clock import SimClock
from engine.config import RunConfig
from engine.feeds import BarFrame, merge_order
from engine.feeds.ticks import TickFrame
from engine.ml.bind import attach_ml
from engine.model import Bar, NewsHeadline
from engine.runtime.closeout import close_positions
from engine.runtime.delivery import paused_gc
from engine.runtime.driver import Driver, ProgressFn

# The run-input loaders and the result moved to their own modules (issue 12); their names
# stay importable from here for the code and notebooks that import them from this module.
from engine.runtime.inputs import (
    from_dataframes,
    load_frames,
    load_funding,
    load_fx,
    make_instruments,
    resolve_data_path,
    warn_funding_span,
    warn_short_frames,
)
from engine.runtime.kernel import build_kernel
from engine.runtime.modes import BACKTEST
from engine.runtime.news import news_queue, warn_news_outside_bars
from engine.runtime.result import BacktestResult, EquityCurve
from engine.runtime.summary import summarize
from engine.runtime.ticks import iter_events
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
    "resolve_data_path",
    "run_backtest",
]

# Bars per list handed to the loop. The bars of a chunk (tuples and their floats) die
# together when the loop moves on; a few hundred at a time, the next chunk reuses their
# memory at once, whereas 64k-bar chunks (~17 MB) made the allocator hand whole arenas
# back to the OS and fault fresh 4 kB pages in again for the next one (measured on the
# 1M-bar bench: ~82k -> ~22k page faults per run, ~490k -> ~550k bars/s).
CHUNK = 512
GATHER = 65_536  # rows merged per numpy pass when several frames interleave


def iter_bar_chunks(frames: list[BarFrame]) -> Iterator[list[Bar]]:
    """Yield every frame's bars merged by close time, as lists of about `CHUNK` bars.

    A chunk never splits the bars of one close time (`Driver.run_bars` with
    ``shared_closes`` relies on it): it ends at the end of its last bar's time.
    """
    if len(frames) == 1:
        yield from _single_frame_chunks(frames[0])
        return
    frame_ids, rows = merge_order(frames)
    merged_ts = np.empty(rows.size, dtype=np.int64)
    for position, frame in enumerate(frames):
        mask = frame_ids == position
        merged_ts[mask] = frame.ts_close_ns[rows[mask]]
    symbols = [frame.symbol for frame in frames]
    columns = [np.stack([f.open, f.high, f.low, f.close, f.volume], axis=1) for f in frames]
    make = tuple.__new__
    for start, end in close_time_spans(merged_ts, GATHER):
        block_ids = frame_ids[start:end]
        idx = rows[start:end]
        block_ts = merged_ts[start:end]
        block = np.empty((idx.size, 5))
        for position in range(len(frames)):
            mask = block_ids == position
            block[mask] = columns[position][idx[mask]]
        for offset, stop in close_time_spans(block_ts, CHUNK):
            ids = block_ids[offset:stop].tolist()
            ts_list = block_ts[offset:stop].tolist()
            timeframes = [frames[i].timeframe_ns for i in ids]
            names = [symbols[i] for i in ids]
            o, h, low, c, v = block[offset:stop].T.tolist()
            # tuple.__new__ through map builds each Bar without a Python-level call.
            records = zip(names, ts_list, ts_list, o, h, low, c, v, timeframes, strict=True)
            yield list(map(make, repeat(Bar), records))


def close_time_spans(times: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` slices of the sorted ``times``, of at least ``size`` rows
    (but the last), each ending where a close time ends."""
    start, total = 0, times.size
    while start < total:
        end = min(start + size, total)
        if end < total:  # take the rest of the last row's close time along
            end = int(np.searchsorted(times, times[end - 1], side="right"))
        yield start, end
        start = end


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
    news: Sequence[NewsHeadline] | None = None,
    close_at_end: bool = False,
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
        news: Pre-loaded headlines (any order), used instead of reading the config's
            ``[[data]] kind = "news"`` files; the config must still have such a table.
        close_at_end: After the last bar, close every open position at the last close
            with real orders (fee, slippage, a trade each: `engine.runtime.closeout`);
            False (the default): positions still open are marked at the last close.

    Raises:
        ConfigError, DataError, PluginError, StrategyError: see `engine.errors`.
    """
    # The collector is paused for the whole run, not only the loop (`delivering`): while
    # loading, building and starting (numba's cached kernels) its passes freed nothing
    # (loading makes no cyclic garbage) and cost ~0.1 s of CPU on 1 M bars.
    with paused_gc():
        return _run(config, frames, data, strategy, progress, news, close_at_end)


def _run(
    config: RunConfig,
    frames: list[BarFrame | TickFrame] | None,
    data: Mapping[str, pd.DataFrame] | None,
    strategy: Strategy | None,
    progress: ProgressFn | None,
    news: Sequence[NewsHeadline] | None,
    close_at_end: bool = False,
) -> BacktestResult:
    """`run_backtest`'s body, the collector paused."""
    started = time.perf_counter()
    if data is not None:
        config, frames = from_dataframes(config, data)
    if strategy is None:
        strategy_class = load_strategy_class(config.strategy.path, config.base_dir)
        strategy = make_strategy(strategy_class, config.strategy.params)
    attach_ml(strategy, config)  # [ml] section, for ML strategies
    queue = news_queue(config, strategy, news)  # [[data]] kind = "news": headlines on the bus
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
    if queue is not None:
        ends = [int(frame.ts_close_ns[-1]) for frame in bar_frames if len(frame)]
        ends += [int(frame.ts_ns[-1]) for frame in ticks if len(frame)]
        warn_news_outside_bars(queue, first_open, max(ends))
    clock = SimClock(first_open)
    funding = load_funding(config)
    warn_funding_span(funding, bar_frames)
    warn_short_frames(bar_frames)
    kernel = build_kernel(
        clock=clock,
        strategy=strategy,
        strategy_id=config.strategy.id,
        histories=histories,
        instruments=instruments,
        account=config.account,
        execution=config.execution,
        risk_config=config.risk,
        funding=funding,
        mode=BACKTEST,
        fx=fx,
    )
    total = sum(len(frame) for frame in bar_frames) + sum(len(frame) for frame in ticks)
    kernel.runner.start()
    driver = Driver(kernel, clock, news=queue)
    if ticks:
        shared = len(bar_frames) > 1  # bars of several symbols may close at one time
        driver.run(iter_events(bar_frames, ticks), total, progress, shared_closes=shared)
    else:
        driver.run_bars(
            iter_bar_chunks(bar_frames), total, progress, shared_closes=len(bar_frames) > 1
        )
    if close_at_end:
        close_positions(kernel, driver)
    kernel.runner.stop()
    for history in histories.values():  # every value is revealed now: the indicators' lists
        history.feeds.clear()  # hold them; the source lists only repeated them (8 B a bar)
    return summarize(config, kernel, bar_frames, ticks, first_open, fx, started)
