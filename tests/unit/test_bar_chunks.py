"""The backtest's bar stream: every bar once, merged by close time, across chunk borders."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from engine.feeds import BarFrame
from engine.model import Bar
from engine.runtime import backtest
from engine.runtime.backtest import iter_bar_chunks

MINUTE = 60 * 10**9


def frame(symbol: str, start_minute: int, count: int, step: int, base: float) -> BarFrame:
    """Return ``count`` bars of ``step`` minutes from ``start_minute``, prices from ``base``."""
    ts = (start_minute + np.arange(count, dtype=np.int64) * step) * MINUTE
    close = base + np.arange(count, dtype=np.float64)
    return BarFrame(symbol, step * MINUTE, ts, close, close + 1.0, close - 1.0, close, close * 10.0)


def expected(frames: list[BarFrame]) -> list[Bar]:
    """Every bar of every frame, sorted by close time (ties: frame order), built by hand."""
    rows = []
    for position, f in enumerate(frames):
        for i in range(len(f)):
            close_ts = int(f.ts_close_ns[i])
            bar = Bar(
                f.symbol,
                close_ts,
                close_ts,
                float(f.open[i]),
                float(f.high[i]),
                float(f.low[i]),
                float(f.close[i]),
                float(f.volume[i]),
                f.timeframe_ns,
            )
            rows.append((close_ts, position, i, bar))
    return [bar for *_, bar in sorted(rows, key=lambda row: row[:3])]


@pytest.mark.parametrize(("chunk", "gather"), [(7, 16), (512, 65_536), (3, 3)])
def test_merged_stream_crosses_chunk_and_gather_borders(
    monkeypatch: pytest.MonkeyPatch, chunk: int, gather: int
) -> None:
    monkeypatch.setattr(backtest, "CHUNK", chunk)
    monkeypatch.setattr(backtest, "GATHER", gather)
    frames = [frame("A", 0, 50, 1, 100.0), frame("B", 3, 20, 5, 200.0), frame("C", 10, 1, 60, 5.0)]
    chunks = list(iter_bar_chunks(frames))
    # up to `chunk` bars (fewer at a gather block's end), and the rest of the last bar's
    # close time (at most two more bars here: three frames): never half a close time
    assert all(0 < len(c) <= chunk + 2 for c in chunks)
    assert all(before[-1].ts_event < after[0].ts_event for before, after in pairwise(chunks))
    assert [bar for c in chunks for bar in c] == expected(frames)
    assert all(type(bar) is Bar for c in chunks for bar in c)


@pytest.mark.parametrize("chunk", [1, 7, 512])
def test_single_frame_stream_is_every_bar_in_order(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(backtest, "CHUNK", chunk)
    only = [frame("A", 0, 40, 1, 100.0)]
    chunks = list(iter_bar_chunks(only))
    assert [len(c) for c in chunks[:-1]] == [chunk] * (len(chunks) - 1)
    assert [bar for c in chunks for bar in c] == expected(only)


def test_chunks_never_split_a_close_time_at_the_real_sizes() -> None:
    # `Driver.run_bars(shared_closes=True)` marks a chunk's last bar as its time's last.
    # Three symbols on one calendar: neither GATHER (65,536) nor CHUNK (512) is a multiple
    # of 3, so fixed-size chunks would cut close times in two; the third starts later.
    n = backtest.GATHER // 3 + 2 * backtest.CHUNK
    frames = [frame("A", 0, n, 1, 100.0), frame("B", 0, n, 1, 200.0), frame("C", 7, n, 1, 5.0)]
    chunks = list(iter_bar_chunks(frames))
    assert all(before[-1].ts_event < after[0].ts_event for before, after in pairwise(chunks))
    assert [bar for c in chunks for bar in c] == expected(frames)
