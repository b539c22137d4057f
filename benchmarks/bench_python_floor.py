"""Benchmark: what any event-driven engine in CPython pays per bar, with no engine at all.

Issue 13 asks for an event loop of >= 1,000,000 bars/s (1 µs per bar) on its 1 M-bar SMA
10/30 run with fills, fees and risk on. This script measures the floor under that target:
the work a bar-by-bar Python engine cannot skip, each step timed alone and added in turn,
on the same bars (`bench_backtest.synthetic_bars`), best of ``--repeat`` in CPU time.

1. ``call``: a loop over bars already built, calling a strategy's empty ``on_bar(ctx, bar)``.
2. ``+ build bars``: the bars built from the data's columns as the backtest builds them
   (`engine.model.Bar` tuples, per chunk, through ``tuple.__new__``), then the loop of 1.
3. ``+ reveal two SMAs``: per bar, one value appended to each of the two indicator arrays
   the strategy reads (`engine.strategy.history.IndicatorSeries`), as `MarketCache.on_bar`
   does.
4. ``+ SmaCross's reads``: ``on_bar`` is `strategies.sma_cross.SmaCross`'s signal test:
   look the symbol's two SMAs up, check the warm-up, read four values, compare.

Step 4 is a loop with no clock, venue, bus, risk, portfolio or recording, and not a single
order: an engine's event loop cannot run faster than this on the same machine. Compare its
bars/s with ``bench_backtest.py --parts`` ("SMA signals, no orders") and the target.

    python benchmarks/bench_python_floor.py [--bars N] [--repeat K]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Iterator

import numpy as np
from bench_backtest import synthetic_bars  # this folder is on sys.path when run as a script

from engine.feeds import BarFrame
from engine.model import Bar
from engine.runtime.backtest import iter_bar_chunks
from engine.strategy.history import IndicatorSeries

TARGET_BARS_PER_S = 1_000_000


def build_bars(frame: BarFrame) -> Iterator[list[Bar]]:
    """Yield the frame's bars as the backtest builds them (`iter_bar_chunks`, one frame)."""
    return iter_bar_chunks([frame])


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Return the simple moving average (NaN in warm-up): the values the arrays reveal."""
    out = np.full(values.size, np.nan)
    sums = np.cumsum(values)
    out[period - 1 :] = (sums[period - 1 :] - np.concatenate(([0.0], sums[:-period]))) / period
    return out


class EmptyStrategy:
    """A strategy whose ``on_bar`` does nothing."""

    def on_bar(self, ctx: object, bar: Bar) -> None:
        """Do nothing."""


class SignalStrategy:
    """`strategies.sma_cross.SmaCross`'s per-bar signal test, without its orders."""

    def __init__(self, symbol: str, fast: IndicatorSeries, slow: IndicatorSeries) -> None:
        self.smas = {symbol: (fast, slow)}
        self.warmup = 30

    def on_bar(self, ctx: object, bar: Bar) -> None:
        """Read the two SMAs on this bar and the last, and compare them (as SmaCross)."""
        fast, slow = self.smas[bar.symbol]
        if len(slow) <= self.warmup:
            return
        now_fast, now_slow, was_fast, was_slow = fast[-1], slow[-1], fast[-2], slow[-2]
        if now_fast > now_slow and was_fast < was_slow:
            return
        if now_fast < now_slow and was_fast > was_slow:
            return


def best_cpu(run: Callable[[], None], repeat_count: int) -> float:
    """Return the least CPU seconds of ``repeat_count`` calls of ``run``.

    The cyclic collector is paused while ``run`` runs, as a backtest pauses it
    (`engine.runtime.backtest.run_backtest`): a million new tuples would otherwise trigger
    its passes.
    """
    least = float("inf")
    for _ in range(repeat_count):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            run()
            least = min(least, time.process_time() - started)
        finally:
            gc.enable()
    return least


def main() -> None:
    """Time each step and print bars/s against issue 13's target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = synthetic_bars(args.bars)
    prebuilt = [bar for chunk in build_bars(frame) for bar in chunk]
    fast_values = sma(frame.close, 10).tolist()
    slow_values = sma(frame.close, 30).tolist()
    ctx = object()

    def call_only() -> None:
        on_bar = EmptyStrategy().on_bar
        for bar in prebuilt:
            on_bar(ctx, bar)

    def build_and_call() -> None:
        on_bar = EmptyStrategy().on_bar
        for chunk in build_bars(frame):
            for bar in chunk:
                on_bar(ctx, bar)

    def reveal_and_call(strategy_class: type[EmptyStrategy] | type[SignalStrategy]) -> None:
        fast, slow = IndicatorSeries("sma10"), IndicatorSeries("sma30")
        strategy = (
            EmptyStrategy()
            if strategy_class is EmptyStrategy
            else SignalStrategy(frame.symbol, fast, slow)
        )
        on_bar = strategy.on_bar
        feeds = ((fast.append, fast_values), (slow.append, slow_values))
        i = 0
        for chunk in build_bars(frame):
            for bar in chunk:
                for append, values in feeds:
                    append(values[i])
                i += 1
                on_bar(ctx, bar)

    steps = (
        ("call", call_only),
        ("+ build bars", build_and_call),
        ("+ reveal two SMAs", lambda: reveal_and_call(EmptyStrategy)),
        ("+ SmaCross's reads (the floor)", lambda: reveal_and_call(SignalStrategy)),
    )
    print(f"{args.bars:,} bars, best of {args.repeat}, CPU time of this process:")
    floor = 0.0
    for label, run in steps:
        seconds = best_cpu(run, args.repeat)
        floor = args.bars / seconds
        print(f"  {label:<32} {seconds:6.3f} s  {floor:>12,.0f} bars/s")
    print(
        f"issue 13's target, {TARGET_BARS_PER_S:,} bars/s, allows "
        f"{1e9 / TARGET_BARS_PER_S:,.0f} ns per bar for everything; this floor takes "
        f"{1e9 / floor:,.0f} ns before any engine stage and any order"
    )


if __name__ == "__main__":
    main()
