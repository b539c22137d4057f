"""BarFrame: one symbol's validated bars as read-only columnar numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.errors import DataError
from engine.feeds.timeframe import format_timeframe, format_timestamp
from engine.feeds.validate import analyze_spacing

__all__ = ["BarFrame", "merge_order"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class BarFrame:
    """One symbol's validated bars, columnar, sorted by open time, unique.

    Build it with :func:`engine.feeds.load_bars`, which validates the data. The arrays are
    made read-only so no stage can change history under another's feet.

    Attributes:
        symbol: Instrument symbol, e.g. ``"BTC/USDT"``.
        timeframe_ns: Bar length in ns (inferred as the most common positive spacing of
            ``ts_open_ns``, or given by the caller).
        ts_open_ns: int64 bar OPEN times, ns since the Unix epoch, UTC, strictly increasing.
        open: float64 opening prices.
        high: float64 highest prices.
        low: float64 lowest prices.
        close: float64 closing prices.
        volume: float64 traded volume in base units (0.0 when the source has no volume).
        source: The file path read, or ``"<DataFrame>"``.
        gaps: Number of missing bars: the sum over spacings longer than one timeframe of
            ``spacing // timeframe_ns - 1`` (weekday slots only under the weekday calendar).
        warnings: Human sentences about the data that are not errors (gaps, dropped bars).
        calendar: The trading calendar gaps were counted against (``"24/7"`` or
            ``"weekdays"``, see `engine.feeds.validate`); None: inferred from the bars.
        gap_runs: Number of gaps (runs of missing bars: ``gaps`` counts their bars), as
            the loader counted them; None when not counted (the report counts then: on
            10 M bars that costs ~120 MiB of peak memory at the end of a run).
    """

    symbol: str
    timeframe_ns: int
    ts_open_ns: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    source: str = "<DataFrame>"
    gaps: int = 0
    warnings: tuple[str, ...] = ()
    calendar: str | None = None
    gap_runs: int | None = None

    def __post_init__(self) -> None:
        """Check shapes and dtypes, then freeze the arrays (contents are not re-validated)."""
        if self.timeframe_ns <= 0:
            raise DataError(
                f"{self.source}: timeframe_ns must be positive, got {self.timeframe_ns}; "
                "pass a timeframe such as '1h'."
            )
        ts = np.ascontiguousarray(self.ts_open_ns, dtype=np.int64)
        object.__setattr__(self, "ts_open_ns", ts)
        for name in _PRICE_FIELDS:
            column = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if column.shape != ts.shape or column.ndim != 1:
                raise DataError(
                    f"{self.source}: column {name} has shape {column.shape} but the "
                    f"timestamps have shape {ts.shape}; give one value per bar."
                )
            object.__setattr__(self, name, column)
        for name in ("ts_open_ns", *_PRICE_FIELDS):
            array: np.ndarray = getattr(self, name)
            if array.flags.writeable:
                # The caller may still hold this array; freeze a private copy, not theirs.
                array = array.copy()
                object.__setattr__(self, name, array)
            array.flags.writeable = False

    def __len__(self) -> int:
        """Return the number of bars."""
        return int(self.ts_open_ns.shape[0])

    def __repr__(self) -> str:
        """Return a short description (symbol, timeframe, count, range)."""
        span = ""
        if len(self):
            first = format_timestamp(int(self.ts_open_ns[0]))
            last = format_timestamp(int(self.ts_open_ns[-1]))
            span = f", {first} .. {last}"
        return (
            f"BarFrame({self.symbol!r}, {format_timeframe(self.timeframe_ns)}, "
            f"{len(self)} bars{span}, gaps={self.gaps})"
        )

    @cached_property
    def ts_close_ns(self) -> IntArray:
        """Bar close times in ns UTC: ``ts_open_ns + timeframe_ns`` (computed once, read-only).

        This is when a bar's values are known, so it is the time a bar becomes visible to a
        strategy (``Bar.ts_event``).
        """
        result: IntArray = self.ts_open_ns + np.int64(self.timeframe_ns)
        result.flags.writeable = False
        return result

    def head(self, count: int) -> BarFrame:
        """Return the first ``count`` bars as a new frame (for truncation/no-look-ahead tests).

        Args:
            count: Number of bars to keep (clipped to ``0..len(self)``).

        Returns:
            A frame with the same symbol, timeframe and source; ``gaps`` and the spacing
            warnings are recounted for the kept bars, other warnings are kept.
        """
        keep = max(0, min(int(count), len(self)))
        spacing = analyze_spacing(self.ts_open_ns[:keep], self.timeframe_ns, self.calendar)
        whole = analyze_spacing(self.ts_open_ns, self.timeframe_ns, self.calendar)
        old = set(whole.sentences(self.source))
        notes = tuple(w for w in self.warnings if w not in old)
        notes += tuple(spacing.sentences(self.source))
        return BarFrame(
            symbol=self.symbol,
            timeframe_ns=self.timeframe_ns,
            ts_open_ns=self.ts_open_ns[:keep],
            open=self.open[:keep],
            high=self.high[:keep],
            low=self.low[:keep],
            close=self.close[:keep],
            volume=self.volume[:keep],
            source=self.source,
            gaps=spacing.missing_bars,
            warnings=notes,
            calendar=self.calendar,
            gap_runs=spacing.gaps,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """Return the bars as a DataFrame indexed by open time (``DatetimeIndex``, UTC).

        Returns:
            Columns ``open, high, low, close, volume`` (float64), index named ``timestamp``.
        """
        index = pd.DatetimeIndex(
            pd.to_datetime(self.ts_open_ns, unit="ns", utc=True), name="timestamp"
        )
        return pd.DataFrame({name: getattr(self, name).copy() for name in _PRICE_FIELDS}, index)


def merge_order(frames: Sequence[BarFrame]) -> tuple[IntArray, IntArray]:
    """Order the bars of several frames by the time they become visible (k-way merge).

    Bars are ordered by ``ts_close_ns``; bars that close at the same ns keep the order of
    ``frames`` (frame 0 first), so the merge is deterministic. Sort ``frames`` by symbol
    first if the caller's order is not itself deterministic.

    Args:
        frames: The frames to merge (any timeframes).

    Returns:
        ``(frame_index, row_index)``: two int64 arrays of equal length; entry ``k`` says the
        ``k``-th visible bar is ``frames[frame_index[k]]`` row ``row_index[k]``.
    """
    if not frames:
        empty: IntArray = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    closes = np.concatenate([frame.ts_close_ns for frame in frames])
    frame_ids = np.concatenate(
        [np.full(len(frame), position, dtype=np.int64) for position, frame in enumerate(frames)]
    )
    rows = np.concatenate([np.arange(len(frame), dtype=np.int64) for frame in frames])
    order = np.lexsort((rows, frame_ids, closes))
    return frame_ids[order], rows[order]
