"""Vectorized bar validation, timeframe inference and gap analysis (no per-row Python loops).

Errors (returned as sentences, raised as :class:`~engine.errors.DataError` by the loader):
unsorted or duplicate timestamps, missing (NaN), infinite or negative prices or volume,
``high < low``, ``high < max(open, close)``, ``low > min(open, close)``.

Warnings (never errors): gaps, i.e. spacings longer than one timeframe, counted in missing
bars; spacings that are not whole multiples of the timeframe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.feeds.readers import Extracted, rows_sentence
from engine.feeds.timeframe import (
    NS_PER_DAY,
    format_duration,
    format_timeframe,
    format_timestamp,
)

__all__ = [
    "Spacing",
    "analyze_spacing",
    "check_order",
    "check_values",
    "distinct_sorted",
    "infer_timeframe",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_FIX_ROWS = "fix or remove those rows"
# A gap of at most this long that contains a whole Saturday is called a weekend gap.
_WEEKEND_GAP_MAX_NS = 4 * NS_PER_DAY


def check_order(source: str, ts_ns: IntArray) -> list[str]:
    """Report timestamps that go backwards or repeat.

    Args:
        source: Name for messages.
        ts_ns: Open times in ns UTC, in file order (all parsed).

    Returns:
        Problem sentences (empty when strictly increasing).
    """
    problems: list[str] = []
    if len(ts_ns) < 2:
        return problems
    step = np.diff(ts_ns)
    backwards = np.concatenate(([False], step < 0))
    if backwards.any():
        row = int(np.argmax(backwards))
        problems.append(
            rows_sentence(
                source,
                backwards,
                "timestamps go backwards (data is not sorted by time)",
                "sort the file by timestamp",
                ts_ns,
                f"after {format_timestamp(int(ts_ns[row - 1]))}",
            )
        )
    repeated = np.concatenate(([False], step == 0))
    if backwards.any():
        # Unsorted: repeats need not be neighbours. Mark every later copy of a time.
        order = np.argsort(ts_ns, kind="stable")
        again = np.concatenate(([False], np.diff(ts_ns[order]) == 0))
        repeated = np.zeros(len(ts_ns), dtype=np.bool_)
        repeated[order[again]] = True
    if repeated.any():
        problems.append(
            rows_sentence(
                source,
                repeated,
                "a timestamp repeats an earlier row's",
                "keep one bar per timestamp",
                ts_ns,
            )
        )
    return problems


def check_values(raw: Extracted) -> list[str]:
    """Report missing, infinite or negative values and inconsistent OHLC rows.

    Args:
        raw: Columns as extracted; ``raw.values`` must hold open, high, low, close, volume.

    Returns:
        Problem sentences, one per kind of problem, each with a count and the first row.
    """
    source, ts = raw.source, raw.ts_ns if raw.ts_ok else None
    names = ("open", "high", "low", "close", "volume")
    table = np.column_stack([raw.values[name] for name in names])
    reported = raw.reported if raw.reported is not None else np.zeros(raw.rows, dtype=bool)
    problems: list[str] = []

    def first_bad_column(mask_2d: BoolArray, row_mask: BoolArray) -> str:
        row = int(np.argmax(row_mask))
        column = int(np.argmax(mask_2d[row]))
        return f"{names[column]}={float(table[row, column])!r}"

    missing_2d = np.isnan(table)
    missing = _rows(missing_2d) & ~reported
    if missing.any():
        problems.append(
            rows_sentence(
                source,
                missing,
                "a value is missing (empty or NaN)",
                _FIX_ROWS,
                ts,
                first_bad_column(missing_2d, missing),
            )
        )
    infinite_2d = np.isinf(table)
    infinite = _rows(infinite_2d)
    if infinite.any():
        problems.append(
            rows_sentence(
                source,
                infinite,
                "a value is infinite",
                _FIX_ROWS,
                ts,
                first_bad_column(infinite_2d, infinite),
            )
        )
    negative_2d = table < 0
    negative = _rows(negative_2d)
    if negative.any():
        problems.append(
            rows_sentence(
                source,
                negative,
                "a price or volume is negative",
                _FIX_ROWS,
                ts,
                first_bad_column(negative_2d, negative),
            )
        )
    problems.extend(_check_ohlc(raw, ts))
    return problems


def _rows(mask_2d: BoolArray) -> BoolArray:
    """Return True for rows where any column is True."""
    return np.asarray(mask_2d.any(axis=1), dtype=np.bool_)


def _values(row: int, **columns: FloatArray) -> str:
    """Format one row's values as ``name=value`` pairs for a message."""
    return ", ".join(f"{name}={float(values[row])!r}" for name, values in columns.items())


def _check_ohlc(raw: Extracted, ts: IntArray | None) -> list[str]:
    """Report rows where high/low do not bound each other and the open and close."""
    source = raw.source
    open_, high, low, close = (raw.values[name] for name in ("open", "high", "low", "close"))
    problems: list[str] = []
    # NaN compares False, so rows with missing values (reported above) never match here.
    inverted = high < low
    if inverted.any():
        row = int(np.argmax(inverted))
        problems.append(
            rows_sentence(
                source,
                inverted,
                "high is below low",
                _FIX_ROWS,
                ts,
                _values(row, high=high, low=low),
            )
        )
    high_short = (high < np.maximum(open_, close)) & ~inverted
    if high_short.any():
        row = int(np.argmax(high_short))
        problems.append(
            rows_sentence(
                source,
                high_short,
                "high is below the open or close",
                _FIX_ROWS,
                ts,
                _values(row, open=open_, high=high, close=close),
            )
        )
    low_long = (low > np.minimum(open_, close)) & ~inverted
    if low_long.any():
        row = int(np.argmax(low_long))
        problems.append(
            rows_sentence(
                source,
                low_long,
                "low is above the open or close",
                _FIX_ROWS,
                ts,
                _values(row, open=open_, low=low, close=close),
            )
        )
    return problems


def distinct_sorted(ts_ns: IntArray) -> IntArray:
    """Return the distinct values of ``ts_ns`` in increasing order.

    Args:
        ts_ns: Times in ns, in any order.

    Returns:
        A new strictly increasing int64 array (``ts_ns`` itself if already so).
    """
    if ts_ns.size < 2 or bool(np.all(ts_ns[1:] > ts_ns[:-1])):
        return ts_ns
    ordered = np.sort(ts_ns)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def infer_timeframe(ts_ns: IntArray) -> int | None:
    """Infer the bar length: the most common positive spacing of the open times.

    Ties go to the shorter spacing. Needs at least two distinct times.

    Args:
        ts_ns: Open times in ns UTC.

    Returns:
        The timeframe in ns, or None with fewer than two distinct times.
    """
    step = np.diff(ts_ns)
    step = step[step > 0]
    if step.size == 0:
        return None
    # Sort and count runs: faster than np.unique's hashing when most steps are equal.
    ordered = np.sort(step)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.concatenate((starts, [ordered.size])))
    return int(ordered[starts[int(np.argmax(counts))]])


@dataclass(frozen=True)
class Spacing:
    """Gap analysis of sorted open times against a timeframe.

    Attributes:
        timeframe_ns: The bar length used, ns.
        gaps: Number of spacings longer than one timeframe.
        missing_bars: Sum over those spacings of ``spacing // timeframe_ns - 1``.
        largest_missing_ns: Longest stretch of missing bars, ns (0 without gaps).
        largest_at_ns: Open time of the first missing bar of that stretch, ns UTC, or None.
        weekend_gaps: Gaps of at most 4 days that contain a whole Saturday (UTC).
        irregular: Spacings that are not a whole multiple of the timeframe.
        irregular_at_ns: Open time of the first bar after the first irregular spacing.
        shorter: Positive spacings shorter than the timeframe (bars would overlap).
        shorter_at_ns: Open time of the first bar after the first shorter spacing.
    """

    timeframe_ns: int
    gaps: int = 0
    missing_bars: int = 0
    largest_missing_ns: int = 0
    largest_at_ns: int | None = None
    weekend_gaps: int = 0
    irregular: int = 0
    irregular_at_ns: int | None = None
    shorter: int = 0
    shorter_at_ns: int | None = None

    def gap_sentence(self, source: str) -> str | None:
        """Describe the gaps in one sentence, or None without gaps."""
        if not self.gaps:
            return None
        tf = format_timeframe(self.timeframe_ns)
        noun = "gap" if self.gaps == 1 else "gaps"
        bars = "bar" if self.missing_bars == 1 else "bars"
        where = format_timestamp(self.largest_at_ns) if self.largest_at_ns is not None else "?"
        text = (
            f"{source}: {self.gaps} {noun} ({self.missing_bars} missing {tf} {bars}), largest "
            f"{format_duration(self.largest_missing_ns)} missing from {where}"
        )
        if self.weekend_gaps:
            text += f"; {self.weekend_gaps} of them span a weekend (normal for markets that close)"
        return text + "."

    def sentences(self, source: str) -> list[str]:
        """Describe gaps and irregular spacing as warning sentences."""
        out = [s for s in (self.gap_sentence(source),) if s]
        tf = format_timeframe(self.timeframe_ns)
        if self.irregular and self.irregular_at_ns is not None:
            out.append(
                f"{source}: {_count(self.irregular, 'spacing is', 'spacings are')} not a whole "
                f"multiple of {tf}, first "
                f"before {format_timestamp(self.irregular_at_ns)}; the bars are irregular."
            )
        if self.shorter and self.shorter_at_ns is not None:
            out.append(
                f"{source}: {_count(self.shorter, 'spacing is', 'spacings are')} shorter than "
                f"{tf}, first before "
                f"{format_timestamp(self.shorter_at_ns)}; those bars overlap the next one."
            )
        return out


def _count(count: int, singular: str, plural: str) -> str:
    """Return ``"1 spacing is"`` or ``"3 spacings are"``."""
    return f"{count} {singular if count == 1 else plural}"


def analyze_spacing(ts_ns: IntArray, timeframe_ns: int) -> Spacing:
    """Count gaps, missing bars and irregular spacings of sorted open times.

    Args:
        ts_ns: Strictly increasing open times in ns UTC.
        timeframe_ns: Bar length in ns.

    Returns:
        The analysis; all counts are 0 for fewer than two bars.
    """
    if len(ts_ns) < 2:
        return Spacing(timeframe_ns)
    step = np.diff(ts_ns)
    shorter = (step > 0) & (step < timeframe_ns)
    irregular = (step > timeframe_ns) & (step % timeframe_ns != 0)
    is_gap = step > timeframe_ns
    missing = np.where(is_gap, step // timeframe_ns - 1, 0)
    gaps = int(np.count_nonzero(is_gap))
    result = Spacing(
        timeframe_ns,
        gaps=gaps,
        missing_bars=int(missing.sum()),
        irregular=int(np.count_nonzero(irregular)),
        irregular_at_ns=int(ts_ns[int(np.argmax(irregular)) + 1]) if irregular.any() else None,
        shorter=int(np.count_nonzero(shorter)),
        shorter_at_ns=int(ts_ns[int(np.argmax(shorter)) + 1]) if shorter.any() else None,
    )
    if not gaps:
        return result
    missing_span = np.where(is_gap, step - timeframe_ns, 0)
    largest = int(np.argmax(missing_span))
    gap_start = ts_ns[:-1][is_gap] + timeframe_ns
    gap_end = ts_ns[1:][is_gap]
    return Spacing(
        **{
            **result.__dict__,
            "largest_missing_ns": int(missing_span[largest]),
            "largest_at_ns": int(ts_ns[largest] + timeframe_ns),
            "weekend_gaps": _count_weekend_gaps(gap_start, gap_end),
        }
    )


def _count_weekend_gaps(start_ns: IntArray, end_ns: IntArray) -> int:
    """Count gaps [start, end) of at most 4 days that contain a whole Saturday (UTC)."""
    first_day = -np.floor_divide(-start_ns, NS_PER_DAY)  # first midnight at or after start
    # 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays and 5 on Saturdays.
    saturday = first_day + (5 - (first_day + 3) % 7) % 7
    covers = (saturday + 1) * NS_PER_DAY <= end_ns
    short = (end_ns - start_ns) <= _WEEKEND_GAP_MAX_NS
    return int(np.count_nonzero(covers & short))
