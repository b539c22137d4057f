"""Backtests on trade and quote ticks: merge them with any bars into one event stream.

In: `TickFrame`s (and the bars of the same run). Out: every event in time order — bars by
close time, ticks by their own time, ties in source order (`iter_events`) — which the
backtest hands to `engine.runtime.driver.Driver.run` (the same step the bar loop and the
node take), and the marks of the equity curve (`tick_marks`). A run without ticks never
comes here, so the bar loop stays as lean as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

import numpy as np

from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.model import Bar, QuoteTick, TradeTick
from engine.runtime.driver import Event

__all__ = ["iter_events", "tick_marks"]


def _tick_objects(frame: TickFrame) -> list[TradeTick] | list[QuoteTick]:
    ts = frame.ts_ns.tolist()
    names = repeat(frame.symbol)
    make = tuple.__new__
    if frame.kind == "trades":
        columns = frame.columns
        rows = zip(
            names, ts, ts, columns["price"].tolist(), columns["size"].tolist(),
            frame.sides, frame.ids, strict=False,
        )  # fmt: skip
        return list(map(make, repeat(TradeTick), rows))
    c = frame.columns
    rows = zip(
        names, ts, ts, c["bid"].tolist(), c["ask"].tolist(), c["bid_size"].tolist(),
        c["ask_size"].tolist(), strict=False,
    )  # fmt: skip
    return list(map(make, repeat(QuoteTick), rows))


def iter_events(bars: list[BarFrame], ticks: list[TickFrame]) -> Iterator[Event]:
    """Yield every bar and tick merged by the time it becomes known (stable by source)."""
    sources: list[list[Event]] = []
    times = []
    for frame in bars:
        close = frame.ts_close_ns.tolist()
        tf = frame.timeframe_ns
        rows = zip(
            repeat(frame.symbol), close, close, frame.open.tolist(), frame.high.tolist(),
            frame.low.tolist(), frame.close.tolist(), frame.volume.tolist(), repeat(tf),
            strict=False,
        )  # fmt: skip
        sources.append(list(map(tuple.__new__, repeat(Bar), rows)))
        times.append(frame.ts_close_ns)
    for tick_frame in ticks:
        sources.append(list(_tick_objects(tick_frame)))
        times.append(tick_frame.ts_ns)
    if not sources:
        return
    ts = np.concatenate(times)
    source = np.concatenate([np.full(t.size, i, dtype=np.int64) for i, t in enumerate(times)])
    row = np.concatenate([np.arange(t.size, dtype=np.int64) for t in times])
    order = np.lexsort((row, source, ts))
    for i, j in zip(source[order].tolist(), row[order].tolist(), strict=True):
        yield sources[i][j]


def tick_marks(ticks: list[TickFrame]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return ``(symbol, ts, mark)`` per tick frame: trade price, or quote mid price."""
    marks = []
    for frame in ticks:
        if frame.kind == "trades":
            marks.append((frame.symbol, frame.ts_ns, frame.columns["price"]))
        else:
            mid = (frame.columns["bid"] + frame.columns["ask"]) / 2.0
            marks.append((frame.symbol, frame.ts_ns, mid))
    return marks
