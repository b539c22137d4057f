"""Timestamps into epoch nanoseconds, and the sentence that names bad rows by their time.

In: a timestamp column (numbers or text) of a data file. Out: int64 ns since the epoch,
UTC (`to_epoch_ns`), with one problem sentence per kind of bad row (`rows_sentence`:
count, first row and its time, what to do). Rules: numbers are epoch seconds,
milliseconds, microseconds or nanoseconds chosen by the column's largest magnitude, and a
column mixing units (seconds rows among milliseconds) is reported as such; text is
ISO-8601 and naive text is UTC. `engine.feeds.readers` reads the files and calls these.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.feeds.timeframe import format_timestamp

__all__ = ["rows_sentence", "to_epoch_ns"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Epoch unit by the column's largest |value|: below 1e11 seconds (1e11 s is the year 5138),
# below 1e14 milliseconds (1e11 ms is 1973-03-03), below 1e17 microseconds, else ns.
_UNIT_LIMITS = np.array([1e11, 1e14, 1e17])
_UNIT_NS = np.array([1_000_000_000, 1_000_000, 1_000, 1], dtype=np.int64)
_INT64_MAX = np.iinfo(np.int64).max
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_UNIT_NAMES = ("seconds", "milliseconds", "microseconds", "nanoseconds")
# Rows of a smaller epoch unit than the column's are called mixed-in when, read in their
# own unit, they fall within this much of the column's times (seconds among milliseconds).
_MIXED_MARGIN_NS = 366 * 86_400 * 1_000_000_000


def rows_sentence(
    source: str,
    mask: BoolArray,
    what: str,
    fix: str,
    ts_ns: IntArray | None = None,
    detail: str = "",
) -> str:
    """Describe the rows selected by ``mask`` in one sentence: count, first row, what to do.

    Args:
        source: Path or ``"<DataFrame>"``.
        mask: True for each offending row (rows numbered from 1, header not counted).
        what: What is wrong, e.g. ``"high is below low"``.
        fix: What to do, e.g. ``"fix or remove those rows"``.
        ts_ns: Open times, to show the first offending row's time.
        detail: Extra text about the first offending row, e.g. ``"high=1.0, low=2.0"``.

    Returns:
        The sentence, ending with a period.
    """
    count = int(np.count_nonzero(mask))
    first = int(np.argmax(mask))
    where = f"row {first + 1}"
    extras = []
    if ts_ns is not None:
        extras.append(_safe_iso(int(ts_ns[first])))
    if detail:
        extras.append(detail)
    if extras:
        where += f" ({', '.join(extras)})"
    plural = "row" if count == 1 else "rows"
    return f"{source}: {what} in {count} {plural}, first at {where}; {fix}."


def _safe_iso(ns: int) -> str:
    """Format a timestamp, tolerating the int64 sentinel used for unparsed values."""
    if ns == np.iinfo(np.int64).min:
        return "no time"
    return format_timestamp(ns)


def to_epoch_ns(column: pd.Series, source: str, name: str) -> tuple[IntArray, list[str]]:
    """Convert a timestamp column to int64 ns since the epoch, UTC.

    Rules:
        * datetime64 values: tz-aware ones are converted to UTC, naive ones are UTC.
        * Numbers (or text holding numbers): one unit for the whole column, chosen by its
          largest ``|v|``: epoch seconds if ``< 1e11``, milliseconds if ``< 1e14``,
          microseconds if ``< 1e17``, else nanoseconds. Fractions are kept to the ns.
          Rows of a smaller unit that, read in their own unit, fall within a year of the
          others' times are reported as a mix of units (seconds among milliseconds).
        * Other text: ISO-8601 (``2021-01-01``, ``2021-01-01 04:00:00``,
          ``2021-01-01T04:00:00+02:00``); naive text is UTC. Day-first or month-first
          formats such as ``01/02/2021`` are refused rather than guessed.

    Args:
        column: The timestamp values.
        source: File name for messages.
        name: Column name for messages.

    Returns:
        The int64 ns array (the int64 minimum marks rows that did not parse) and the
        problems found.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        return _datetimes_to_ns(column, source, name)
    if pd.api.types.is_bool_dtype(column):
        sentinel = np.full(len(column), np.iinfo(np.int64).min, dtype=np.int64)
        return sentinel, [f"{source}: timestamp column {name!r} holds booleans; give times."]
    if pd.api.types.is_numeric_dtype(column):
        exact = pd.api.types.is_integer_dtype(column) and not bool(column.isna().any())
        raw = column.to_numpy(dtype=np.int64 if exact else np.float64, na_value=np.nan)
        return _numbers_to_ns(raw, source, name)
    text = column.astype("string")
    present = text.notna().to_numpy()
    first_text = str(text.iloc[int(np.argmax(present))]).strip() if present.any() else ""
    if _NUMBER.match(first_text):
        # Decided by the first value: parsing a million ISO strings as numbers is slow.
        numbers = pd.to_numeric(text.str.strip(), errors="coerce")
        parsed = numbers.notna().to_numpy()
        bad = present & ~parsed
        exact = pd.api.types.is_integer_dtype(numbers) and bool(parsed.all())
        raw = numbers.to_numpy(dtype=np.int64 if exact else np.float64, na_value=np.nan)
        values, problems = _numbers_to_ns(raw, source, name, reported=bad)
        if bad.any():
            example = str(text.iloc[int(np.argmax(bad))])
            problems.insert(
                0,
                rows_sentence(
                    source,
                    bad,
                    f"timestamp column {name!r} has text that is not an epoch number",
                    "write every time as an epoch number, or every time as ISO-8601",
                    detail=f"{example!r}",
                ),
            )
        return values, problems
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return _datetimes_to_ns(stamps, source, name, original=text)


def _datetimes_to_ns(
    stamps: pd.Series, source: str, name: str, original: pd.Series | None = None
) -> tuple[IntArray, list[str]]:
    """Convert a datetime64 series to int64 ns UTC and report NaT rows."""
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        stamps = stamps.dt.as_unit("ns")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as error:
        sentinel = np.full(len(stamps), np.iinfo(np.int64).min, dtype=np.int64)
        return sentinel, [
            f"{source}: timestamp column {name!r} has times outside 1677-2262 ({error}); "
            "give times the engine can store as int64 ns."
        ]
    values: IntArray = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    missing = stamps.isna().to_numpy()
    problems: list[str] = []
    if missing.any():
        if original is not None and bool(original.notna().to_numpy()[missing].any()):
            bad = missing & original.notna().to_numpy()
            example = str(original.iloc[int(np.argmax(bad))])
            problems.append(
                rows_sentence(
                    source,
                    bad,
                    f"timestamp column {name!r} has text that is not an ISO-8601 time",
                    "write times like 2021-01-01T04:00:00Z or as epoch milliseconds",
                    detail=f"{example!r}",
                )
            )
            missing = missing & ~bad
        if missing.any():
            problems.append(
                rows_sentence(
                    source, missing, "the timestamp is missing", "fill in or remove those rows"
                )
            )
    return values, problems


def _numbers_to_ns(
    raw: npt.NDArray[np.generic], source: str, name: str, reported: BoolArray | None = None
) -> tuple[IntArray, list[str]]:
    """Convert epoch numbers (unit by magnitude) to int64 ns UTC.

    Rows in ``reported`` were already reported by the caller and are not reported again.
    """
    sentinel = np.iinfo(np.int64).min
    problems: list[str] = []
    is_float = np.issubdtype(raw.dtype, np.floating)
    numbers = raw.astype(np.float64) if is_float else raw.astype(np.int64)
    usable = np.isfinite(numbers) if is_float else np.ones(len(numbers), dtype=bool)
    unreported = ~usable if reported is None else ~usable & ~reported
    if unreported.any():
        problems.append(
            rows_sentence(
                source,
                unreported,
                f"timestamp column {name!r} is missing or not finite",
                "fill in or remove those rows",
            )
        )
    magnitude = np.abs(np.where(usable, numbers, 0).astype(np.float64))
    result = np.full(len(numbers), sentinel, dtype=np.int64)
    if not usable.any():
        return result, problems
    # One unit for the whole column, from its largest value: synthetic ns series that start
    # at 0 stay ns. A row in another unit then lands decades away and fails the order check.
    unit = int(np.searchsorted(_UNIT_LIMITS, magnitude.max(), side="right"))
    scale = _UNIT_NS[unit]
    limit = _INT64_MAX // scale
    out_of_range = usable & (magnitude >= limit)
    if out_of_range.any():
        problems.append(
            rows_sentence(
                source,
                out_of_range,
                f"timestamp column {name!r} has times outside 1677-2262 (int64 ns overflow)",
                "check the unit of the timestamps",
            )
        )
        return result, problems
    if is_float:
        whole = np.floor(np.where(usable, numbers, 0.0))
        fraction = np.where(usable, numbers, 0.0) - whole
        converted = whole.astype(np.int64) * scale + np.rint(fraction * scale).astype(np.int64)
    else:
        converted = numbers.astype(np.int64) * scale
    result[usable] = converted[usable]
    if unit:
        problems.extend(_mixed_units(numbers, magnitude, usable, unit, result, source, name))
    return result, problems


def _mixed_units(
    numbers: npt.NDArray[np.generic],
    magnitude: FloatArray,
    usable: BoolArray,
    unit: int,
    converted: IntArray,
    source: str,
    name: str,
) -> list[str]:
    """Report rows written in a smaller epoch unit than the column's (seconds among ms).

    The column's unit comes from its largest value, so an epoch-seconds row among
    milliseconds lands in January 1970 and looked like unsorted data. A smaller row is
    called mixed-in only when, read in its own unit, it falls within a year of the
    column's other times: a series counted from 0 is no mix.
    """
    row_unit = np.searchsorted(_UNIT_LIMITS, magnitude, side="right")
    smaller = usable & (row_unit < unit) & (magnitude > 0)
    main = usable & (row_unit == unit)
    if not smaller.any() or not main.any():
        return []
    own_ns = magnitude * _UNIT_NS[row_unit].astype(np.float64)
    low = float(converted[main].min()) - _MIXED_MARGIN_NS
    high = float(converted[main].max()) + _MIXED_MARGIN_NS
    mixed = smaller & (own_ns >= low) & (own_ns <= high)
    if not mixed.any():
        return []
    first = int(np.argmax(mixed))
    value = float(numbers[first])
    shown = str(int(value)) if value.is_integer() else repr(value)
    return [
        rows_sentence(
            source,
            mixed,
            f"timestamp column {name!r} mixes epoch units, epoch "
            f"{_UNIT_NAMES[int(row_unit[first])]} among epoch {_UNIT_NAMES[unit]},",
            "write every time in the same unit",
            detail=shown,
        )
    ]
