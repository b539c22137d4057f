"""Vectorized bar validation, timeframe inference and gap analysis (no per-row Python loops).

Errors (returned as sentences, raised as :class:`~engine.errors.DataError` by the loader):
unsorted or duplicate timestamps, missing (NaN) or infinite values, zero or negative prices,
negative volume,
``high < low``, ``high < max(open, close)``, ``low > min(open, close)``.

Warnings (never errors): gaps, i.e. spacings longer than one timeframe, counted in missing
bars; spacings that are not whole multiples of the timeframe.

Gaps are counted against a trading calendar (`CALENDARS`): ``"24/7"`` (crypto: every
bar slot is expected) or ``"weekdays"`` (stocks: slots opening on a Saturday or Sunday,
UTC, are not expected, so a weekend is no gap; exchange holidays still are, since no
holiday list is kept). Unless given, the calendar is inferred from the data
(`infer_calendar`): bars of a day or less, none opening on a weekend although the data
spans one, mean ``"weekdays"``; anything else ``"24/7"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.errors import DataError, did_you_mean
from engine.feeds.readers import Extracted, rows_sentence
from engine.feeds.timeframe import (
    NS_PER_DAY,
    NS_PER_WEEK,
    format_duration,
    format_timeframe,
    format_timestamp,
)

__all__ = [
    "CALENDARS",
    "Spacing",
    "analyze_spacing",
    "check_calendar",
    "check_order",
    "check_values",
    "distinct_sorted",
    "infer_calendar",
    "infer_timeframe",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_FIX_ROWS = "fix or remove those rows"
# A gap of at most this long that contains a whole Saturday is called a weekend gap.
_WEEKEND_GAP_MAX_NS = 4 * NS_PER_DAY
CALENDARS = ("24/7", "weekdays")
# 1970-01-05 00:00 UTC, the first Monday after the epoch: weeks are counted from it.
_MONDAY_NS = 4 * NS_PER_DAY
_WEEKDAYS_NS = 5 * NS_PER_DAY  # Monday 00:00 to Saturday 00:00


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


_SMALLEST_PRICE = float(np.finfo(np.float64).tiny)  # the smallest normal float64


def check_values(raw: Extracted) -> list[str]:
    """Report missing or infinite values, non-positive prices, negative volume, bad OHLC rows.

    Args:
        raw: Columns as extracted; ``raw.values`` must hold open, high, low, close, volume.

    Returns:
        Problem sentences, one per kind of problem, each with a count and the first row.
    """
    source, ts = raw.source, raw.ts_ns if raw.ts_ok else None
    names = ("open", "high", "low", "close", "volume")
    if _all_sane(raw):  # the usual file: no row to find, no 2-D table to build
        return _check_ohlc(raw, ts)
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
    # A price of zero is as wrong as a negative one (a fill or a valuation at 0 is a silently
    # wrong number; the tick loader refuses both too); a volume of zero is a quiet bar.
    prices = table[:, :4]
    not_positive_2d = np.column_stack([prices <= 0, np.zeros(len(table), dtype=np.bool_)])
    not_positive = _rows(not_positive_2d)
    if not_positive.any():
        problems.append(
            rows_sentence(
                source,
                not_positive,
                "a price is zero or negative",
                _FIX_ROWS,
                ts,
                first_bad_column(not_positive_2d, not_positive),
            )
        )
    # A subnormal price (below the smallest normal float, ~2.2e-308) is not a price: its
    # reciprocal overflows (a quantity sized on it, a return measured from it).
    tiny_2d = np.column_stack(
        [(prices > 0) & (prices < _SMALLEST_PRICE), np.zeros(len(table), dtype=np.bool_)]
    )
    tiny = _rows(tiny_2d)
    if tiny.any():
        problems.append(
            rows_sentence(
                source,
                tiny,
                f"a price is too small to compute with (below {_SMALLEST_PRICE:.1e})",
                _FIX_ROWS,
                ts,
                first_bad_column(tiny_2d, tiny),
            )
        )
    negative_volume_2d = np.column_stack([np.zeros_like(prices, dtype=np.bool_), table[:, 4] < 0])
    negative_volume = _rows(negative_volume_2d)
    if negative_volume.any():
        problems.append(
            rows_sentence(
                source,
                negative_volume,
                "a volume is negative",
                _FIX_ROWS,
                ts,
                first_bad_column(negative_volume_2d, negative_volume),
            )
        )
    problems.extend(_check_ohlc(raw, ts))
    return problems


def _all_sane(raw: Extracted) -> bool:
    """Return True when every price is finite and > 0 and every volume finite and >= 0.

    Then `check_values` has no missing, infinite, non-positive, subnormal or negative value
    to report
    and skips building its 5-column table and masks (~0.1 s of CPU on 1 M bars); a NaN
    fails both comparisons, so any doubt takes the full path and its messages.
    """
    values = raw.values
    for name in ("open", "high", "low", "close"):
        column = values[name]
        if not np.logical_and(column >= _SMALLEST_PRICE, column < np.inf).all():
            return False
    volume = values["volume"]
    return bool(np.logical_and(volume >= 0.0, volume < np.inf).all())


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
    calendar: str = "24/7"

    def gap_sentence(self, source: str) -> str | None:
        """Describe the gaps in one sentence, or None without gaps."""
        if not self.gaps:
            return None
        tf = format_timeframe(self.timeframe_ns)
        noun = "gap" if self.gaps == 1 else "gaps"
        bars = "bar" if self.missing_bars == 1 else "bars"
        if self.calendar == "weekdays":
            bars = f"weekday {bars}"
        where = format_timestamp(self.largest_at_ns) if self.largest_at_ns is not None else "?"
        text = (
            f"{source}: {self.gaps} {noun} ({self.missing_bars} missing {tf} {bars}), largest "
            f"{format_duration(self.largest_missing_ns)} missing from {where}"
        )
        if self.calendar == "weekdays":
            text += "; weekday calendar: weekends are not gaps, holidays are"
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


def check_calendar(calendar: str | None, source: str) -> None:
    """Raise `DataError` (with "did you mean") unless ``calendar`` is None or in `CALENDARS`."""
    if calendar is not None and calendar not in CALENDARS:
        raise DataError(
            f"{source}: unknown calendar {calendar!r}{did_you_mean(calendar, CALENDARS)}; "
            f"use one of {', '.join(repr(c) for c in CALENDARS)}."
        )


def _weekend_ns_before(ts_ns: IntArray) -> IntArray:
    """Return the weekend time (Saturday and Sunday, UTC) between 1970-01-05 and each time."""
    since = ts_ns - _MONDAY_NS
    weeks, into_week = np.divmod(since, NS_PER_WEEK)
    closed: IntArray = weeks * (2 * NS_PER_DAY) + np.maximum(into_week - _WEEKDAYS_NS, 0)
    return closed


def infer_calendar(ts_ns: IntArray, timeframe_ns: int) -> str:
    """Return ``"weekdays"`` when bars of a day or less skip every weekend, else ``"24/7"``.

    Evidence is needed both ways: no bar opens on a Saturday or Sunday (UTC), and at least
    one spacing spans a whole weekend (a few weekdays of data say nothing).
    """
    if timeframe_ns > NS_PER_DAY or len(ts_ns) < 2:
        return "24/7"
    weekday = (ts_ns // NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if bool((weekday >= 5).any()):
        return "24/7"
    skipped = _weekend_ns_before(ts_ns[1:]) - _weekend_ns_before(ts_ns[:-1] + timeframe_ns)
    return "weekdays" if bool((skipped >= 2 * NS_PER_DAY).any()) else "24/7"


def analyze_spacing(ts_ns: IntArray, timeframe_ns: int, calendar: str | None = None) -> Spacing:
    """Count gaps, missing bars and irregular spacings of sorted open times.

    Args:
        ts_ns: Strictly increasing open times in ns UTC.
        timeframe_ns: Bar length in ns.
        calendar: ``"24/7"`` or ``"weekdays"`` (see the module docstring); inferred from
            ``ts_ns`` when None. Under ``"weekdays"`` only time on Monday to Friday (UTC)
            is expected to hold bars: missing bars are the weekday slots of a spacing.

    Returns:
        The analysis; all counts are 0 for fewer than two bars.
    """
    used = calendar if calendar is not None else infer_calendar(ts_ns, timeframe_ns)
    if len(ts_ns) < 2:
        return Spacing(timeframe_ns, calendar=used)
    step = np.diff(ts_ns)
    shorter = (step > 0) & (step < timeframe_ns)
    irregular = (step > timeframe_ns) & (step % timeframe_ns != 0)
    # Time between one bar's close and the next bar's open in which bars were expected.
    expected = step - timeframe_ns
    if used == "weekdays":
        gap_start = ts_ns[:-1] + timeframe_ns
        weekend = _weekend_ns_before(ts_ns[1:]) - _weekend_ns_before(gap_start)
        expected = expected - np.where(expected > 0, weekend, 0)
    is_gap = expected > 0
    missing = np.where(is_gap, expected // timeframe_ns, 0)
    gaps = int(np.count_nonzero(is_gap))
    result = Spacing(
        timeframe_ns,
        gaps=gaps,
        missing_bars=int(missing.sum()),
        irregular=int(np.count_nonzero(irregular)),
        irregular_at_ns=int(ts_ns[int(np.argmax(irregular)) + 1]) if irregular.any() else None,
        shorter=int(np.count_nonzero(shorter)),
        shorter_at_ns=int(ts_ns[int(np.argmax(shorter)) + 1]) if shorter.any() else None,
        calendar=used,
    )
    if not gaps:
        return result
    missing_span = np.where(is_gap, expected, 0)
    largest = int(np.argmax(missing_span))
    largest_at = int(ts_ns[largest] + timeframe_ns)
    if used == "weekdays" and (largest_at // NS_PER_DAY + 3) % 7 >= 5:
        largest_at = _next_monday(largest_at)  # the first missing slot the calendar expects
    return Spacing(
        **{
            **result.__dict__,
            "largest_missing_ns": int(missing_span[largest]),
            "largest_at_ns": largest_at,
            "weekend_gaps": (
                _count_weekend_gaps(ts_ns[:-1][is_gap] + timeframe_ns, ts_ns[1:][is_gap])
                if used == "24/7"
                else 0
            ),
        }
    )


def _next_monday(ts_ns: int) -> int:
    """Return the Monday 00:00 UTC after a Saturday or Sunday time."""
    since = ts_ns - _MONDAY_NS
    return _MONDAY_NS + (since // NS_PER_WEEK + 1) * NS_PER_WEEK


def _count_weekend_gaps(start_ns: IntArray, end_ns: IntArray) -> int:
    """Count gaps [start, end) of at most 4 days that contain a whole Saturday (UTC)."""
    first_day = -np.floor_divide(-start_ns, NS_PER_DAY)  # first midnight at or after start
    # 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays and 5 on Saturdays.
    saturday = first_day + (5 - (first_day + 3) % 7) % 7
    covers = (saturday + 1) * NS_PER_DAY <= end_ns
    short = (end_ns - start_ns) <= _WEEKEND_GAP_MAX_NS
    return int(np.count_nonzero(covers & short))
