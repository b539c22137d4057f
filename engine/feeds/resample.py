"""Resample bars to a coarser timeframe without look-ahead.

Rules:
    * The target must be a whole multiple of the source timeframe.
    * Buckets are aligned to the Unix epoch (1970-01-01T00:00Z), so 4h bars open at
      00:00, 04:00, ... UTC and 1d bars at 00:00 UTC. Timeframes that are whole weeks are
      aligned to Monday 1970-01-05T00:00Z instead, so weekly bars run Monday to Monday.
    * A resampled bar is labelled by its bucket's OPEN time; it closes, and becomes
      visible to strategies, at open + target timeframe (``BarFrame.ts_close_ns``).
    * open = first source open, high = max, low = min, close = last source close,
      volume = sum. Buckets without source bars produce no bar (they are gaps).
    * The last bucket is DROPPED when the data ends before it closes, so a partial bar
      never appears as a finished one. Other buckets with missing source bars (gaps, or a
      first bucket that starts before the data) are kept and counted in a warning.
    * A source bar that would straddle a bucket boundary is an error.

Warnings describe the bars a run uses: given the run's ``start``/``end`` window (the
loader keeps the bars lying wholly inside it), a bucket outside it is neither counted as
partial nor named as the dropped last bar. A bucket is partial when it holds fewer source
bars than its slots under the gap calendar (`engine.feeds.validate`, inferred from the
source bars when not given): every slot under ``"24/7"``, the weekday slots under
``"weekdays"`` — a week of 5 daily bars is complete, one with a holiday is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.errors import DataError
from engine.feeds.timeframe import (
    NS_PER_DAY,
    NS_PER_WEEK,
    format_timeframe,
    format_timestamp,
    parse_timestamp,
)
from engine.feeds.validate import _weekend_ns_before, infer_calendar

__all__ = ["Resampled", "bucket_origin_ns", "resample_arrays"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MONDAY_1970_01_05_NS = 4 * NS_PER_DAY


@dataclass(frozen=True)
class Resampled:
    """Resampled columns plus notes for the frame's warnings.

    Attributes:
        ts_open_ns: Bucket open times, ns UTC.
        open: First open per bucket.
        high: Highest high per bucket.
        low: Lowest low per bucket.
        close: Last close per bucket.
        volume: Summed volume per bucket.
        warnings: Sentences about dropped or partial buckets.
    """

    ts_open_ns: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    warnings: tuple[str, ...]


def bucket_origin_ns(target_ns: int) -> int:
    """Return the alignment origin for a target timeframe: epoch, or Monday for weeks.

    Args:
        target_ns: Target timeframe in ns.

    Returns:
        Origin in ns since the epoch (0, or 1970-01-05T00:00Z for whole weeks).
    """
    return _MONDAY_1970_01_05_NS if target_ns % NS_PER_WEEK == 0 else 0


def resample_arrays(
    source: str,
    ts_open_ns: IntArray,
    columns: dict[str, FloatArray],
    source_ns: int,
    target_ns: int,
    *,
    calendar: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Resampled:
    """Aggregate validated bars into coarser buckets (see the module rules).

    Args:
        source: Name for messages.
        ts_open_ns: Strictly increasing open times, ns UTC.
        columns: float64 ``open, high, low, close, volume`` arrays.
        source_ns: Source timeframe, ns.
        target_ns: Target timeframe, ns; a whole multiple of ``source_ns``.
        calendar: ``"24/7"`` or ``"weekdays"``: the slots a complete bucket holds;
            inferred from the source bars when None.
        start: The run's start (ISO-8601): warnings skip buckets opening before it.
        end: The run's end: warnings skip buckets closing after it. All buckets are
            returned either way (the caller windows them).

    Returns:
        The resampled columns.

    Raises:
        DataError: If the target is not a whole multiple of the source timeframe, a source
            bar straddles a bucket boundary, or no bucket is complete.
    """
    src, dst = format_timeframe(source_ns), format_timeframe(target_ns)
    if target_ns < source_ns or target_ns % source_ns:
        raise DataError(
            f"{source}: cannot resample {src} bars to {dst}; the target must be a whole "
            f"multiple of {src}, such as {format_timeframe(2 * source_ns)} or "
            f"{format_timeframe(4 * source_ns)}."
        )
    origin = bucket_origin_ns(target_ns)
    bucket = np.floor_divide(ts_open_ns - origin, target_ns)
    end_bucket = np.floor_divide(ts_open_ns + (source_ns - 1) - origin, target_ns)
    straddles = bucket != end_bucket
    if straddles.any():
        row = int(np.argmax(straddles))
        raise DataError(
            f"{source}: the {src} bar opening at {format_timestamp(int(ts_open_ns[row]))} "
            f"(row {row + 1}) crosses a {dst} boundary, so it cannot be put in one {dst} bar; "
            f"resample to a timeframe its bars align with."
        )
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(ts_open_ns)])) - 1
    opens = bucket[starts] * target_ns + origin
    per_bucket = target_ns // source_ns
    counts = ends - starts + 1
    used = _in_window(opens, target_ns, start, end)
    keep = np.ones(len(starts), dtype=bool)
    warnings: list[str] = []
    last_close = int(ts_open_ns[-1]) + source_ns
    if last_close < int(opens[-1]) + target_ns:
        keep[-1] = False
        if used[-1]:  # a window ending before the bucket closes never wanted it
            warnings.append(
                f"{source}: dropped the last {dst} bar opening at "
                f"{format_timestamp(int(opens[-1]))} because the data ends at "
                f"{format_timestamp(last_close)}, before it closes ({counts[-1]} of "
                f"{per_bucket} {src} bars)."
            )
    if not keep.any():
        raise DataError(
            f"{source}: no complete {dst} bar can be built from {len(ts_open_ns)} {src} bars "
            f"ending at {format_timestamp(last_close)}; load more data or resample to less."
        )
    weekdays = (calendar or infer_calendar(ts_open_ns, source_ns)) == "weekdays"
    slots = _weekday_slots(opens, source_ns, target_ns) if weekdays else per_bucket
    used &= keep
    partial = used & (counts < slots)
    if partial.any():
        count, first = int(np.count_nonzero(partial)), int(np.argmax(partial))
        of = f"{count} of the {int(np.count_nonzero(used))} {dst} bars are built from fewer"
        at = format_timestamp(int(opens[first]))
        if weekdays:
            warnings.append(
                f"{source}: {of} {src} bars than their weekdays hold (weekday calendar: "
                f"holidays count as missing), first at {at} ({counts[first]} of "
                f"{np.broadcast_to(slots, counts.shape)[first]})."
            )
        else:
            warnings.append(
                f"{source}: {of} than {per_bucket} {src} bars because of missing data, "
                f"first at {at}."
            )
    # reduceat runs each segment to the next start, so reduce over all buckets, then drop.
    return Resampled(
        ts_open_ns=np.ascontiguousarray(opens[keep], dtype=np.int64),
        open=np.ascontiguousarray(columns["open"][starts[keep]]),
        high=np.maximum.reduceat(columns["high"], starts)[keep],
        low=np.minimum.reduceat(columns["low"], starts)[keep],
        close=np.ascontiguousarray(columns["close"][ends[keep]]),
        volume=np.add.reduceat(columns["volume"], starts)[keep],
        warnings=tuple(warnings),
    )


def _in_window(opens: IntArray, target_ns: int, start: str | None, end: str | None) -> BoolArray:
    """Return which buckets lie wholly inside ``[start, end)`` (the loader's window rule)."""
    inside = np.ones(len(opens), dtype=bool)
    if start is not None:
        inside &= opens >= parse_timestamp(start, what="start")
    if end is not None:
        inside &= opens + target_ns <= parse_timestamp(end, what="end")
    return inside


def _weekday_slots(opens: IntArray, source_ns: int, target_ns: int) -> IntArray:
    """Return the source-bar slots of each bucket that fall on Monday to Friday (UTC).

    A bucket wholly in a weekend has none, yet holds bars (an explicit weekdays calendar
    on data with weekend bars): all its slots count, so it is judged as under 24/7.
    """
    weekend = _weekend_ns_before(opens + target_ns) - _weekend_ns_before(opens)
    slots: IntArray = (target_ns - weekend) // source_ns
    return np.where(slots > 0, slots, target_ns // source_ns)
