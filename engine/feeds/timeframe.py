"""Timeframe and timestamp text: ``"4h"`` <-> nanoseconds, ISO-8601 <-> ns since epoch (UTC).

Timeframes are fixed lengths of time. Calendar periods (months, years) are not timeframes
here because their length varies; use a fixed timeframe such as ``"1w"`` instead.
"""

from __future__ import annotations

import re

import pandas as pd

from engine.errors import DataError

__all__ = [
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "NS_PER_WEEK",
    "format_duration",
    "format_timeframe",
    "format_timestamp",
    "parse_timeframe",
    "parse_timestamp",
]

NS_PER_MILLISECOND = 1_000_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR
NS_PER_WEEK = 7 * NS_PER_DAY

# Largest unit first: format_timeframe picks the first unit that divides exactly.
_UNITS: tuple[tuple[str, int], ...] = (
    ("w", NS_PER_WEEK),
    ("d", NS_PER_DAY),
    ("h", NS_PER_HOUR),
    ("m", NS_PER_MINUTE),
    ("s", NS_PER_SECOND),
    ("ms", NS_PER_MILLISECOND),
)
_UNIT_NS = dict(_UNITS)
MAX_TIMEFRAME_NS = 3650 * NS_PER_DAY  # ten years: longer is a typo, and overflows int64 ns
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-zA-Z]+)\s*$")


def parse_timeframe(text: str) -> int:
    """Parse a timeframe such as ``"30s"``, ``"1m"``, ``"4h"``, ``"1d"`` or ``"1w"`` into ns.

    Units: ``ms``, ``s``, ``m`` (minutes), ``h``, ``d``, ``w`` (7 days). Units are
    case-insensitive except ``M``, which is refused because it could mean months.

    Args:
        text: A positive whole number followed by a unit, at most ten years (``3650d``).

    Returns:
        The timeframe length in nanoseconds.

    Raises:
        DataError: If the text is not a positive whole number and a known unit, or is
            longer than ten years.
    """
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise DataError(
            f"Timeframe {text!r} is not a number followed by a unit; "
            "write it like '1m', '5m', '1h', '4h', '1d' or '1w'."
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        raise DataError(
            f"Timeframe {text!r} is ambiguous: months are not a fixed length and 'M' is not "
            f"minutes; write '{count}m' for minutes or use '1w' or '1d' bars."
        )
    unit = unit.lower()
    if unit not in _UNIT_NS:
        raise DataError(
            f"Timeframe {text!r} has unknown unit {unit!r}; use one of "
            "'ms', 's', 'm', 'h', 'd', 'w' (for example '4h')."
        )
    if count <= 0:
        raise DataError(f"Timeframe {text!r} must be longer than zero; use for example '1h'.")
    if count * _UNIT_NS[unit] > MAX_TIMEFRAME_NS:
        raise DataError(
            f"Timeframe {text!r} is longer than ten years ({format_timeframe(MAX_TIMEFRAME_NS)}); "
            "use for example '1d' or '1w'."
        )
    return count * _UNIT_NS[unit]


def format_timeframe(ns: int) -> str:
    """Format a timeframe in nanoseconds with the largest unit that divides it exactly.

    Args:
        ns: Timeframe length in nanoseconds (positive).

    Returns:
        Text that :func:`parse_timeframe` reads back to ``ns`` (``"4h"``, ``"90m"``, ``"1w"``),
        or ``"<n>ns"`` for lengths that are not whole milliseconds.
    """
    if ns > 0:
        for unit, size in _UNITS:
            if ns % size == 0:
                return f"{ns // size}{unit}"
    return f"{ns}ns"


def format_duration(ns: int) -> str:
    """Format a duration in ns for messages, e.g. ``"2h"``, ``"1d 3h"`` or ``"90s"``.

    Args:
        ns: Duration in nanoseconds.

    Returns:
        Human text using days, hours, minutes and seconds (largest units first).
    """
    if ns <= 0 or ns % NS_PER_SECOND:
        return format_timeframe(ns)
    parts: list[str] = []
    rest = ns
    for unit, size in (("d", NS_PER_DAY), ("h", NS_PER_HOUR), ("m", NS_PER_MINUTE)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    if rest:
        parts.append(f"{rest // NS_PER_SECOND}s")
    return " ".join(parts)


def format_timestamp(ns: int) -> str:
    """Format ns since the Unix epoch as ISO-8601 UTC, e.g. ``"2021-02-21T03:00:00Z"``.

    Args:
        ns: Nanoseconds since 1970-01-01T00:00:00 UTC.

    Returns:
        ISO-8601 text with a ``Z`` suffix; fractional seconds only when present.
    """
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat().replace("+00:00", "Z")


# ISO-8601 in its extended form: a date, then a time to the minute or finer, then Z or an
# offset (the time may follow a space, as str() of a date-time writes it)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def parse_timestamp(text: str, *, what: str = "timestamp") -> int:
    """Parse an ISO-8601 date or date-time into ns since the epoch; naive text means UTC.

    Args:
        text: For example ``"2021-01-01"``, ``"2021-01-01T04:00"`` or
            ``"2021-01-01T04:00:00+02:00"`` (converted to UTC).
        what: Name of the value for the error message (``"start"``, ``"end"``).

    Returns:
        Nanoseconds since 1970-01-01T00:00:00 UTC.

    Raises:
        DataError: If the text is not an ISO-8601 date or date-time, or lies outside
            1677-09-22 to 2262-04-11 (what int64 nanoseconds hold).
    """
    text = text.strip() if isinstance(text, str) else text
    try:
        if not isinstance(text, str) or not _ISO.fullmatch(text):
            # pandas would guess: "01/02/2021" as 2 January, "13/02/2021" as 13 February
            raise ValueError("not ISO-8601")
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError) as error:
        raise DataError(
            f"The {what} {text!r} is not an ISO-8601 date or time; "
            "write it like '2021-01-01' or '2021-01-01T04:00:00Z'."
        ) from error
    if pd.isna(stamp):
        raise DataError(f"The {what} {text!r} is empty; write it like '2021-01-01'.")
    try:
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.as_unit("ns").value)
    except (OverflowError, ValueError):  # OutOfBoundsDatetime: beyond int64 nanoseconds
        raise DataError(
            f"The {what} {text!r} is outside 1677-09-22 to 2262-04-11, the times nanoseconds "
            "since 1970 can hold; give a time in that range."
        ) from None
