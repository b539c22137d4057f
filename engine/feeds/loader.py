"""load_bars: read, validate, resample and window one symbol's bars into a BarFrame."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.feeds.frame import BarFrame
from engine.feeds.readers import Extracted, extract, read_source
from engine.feeds.resample import resample_arrays
from engine.feeds.timeframe import (
    format_timeframe,
    format_timestamp,
    parse_timeframe,
    parse_timestamp,
)
from engine.feeds.validate import (
    analyze_spacing,
    check_calendar,
    check_order,
    check_values,
    infer_timeframe,
)

__all__ = ["load_bars", "validated"]

_FIELDS = ("open", "high", "low", "close", "volume")


def validated(raw: Extracted) -> list[str]:
    """Run every check on extracted columns and return all problems found.

    Args:
        raw: Output of :func:`engine.feeds.readers.extract`.

    Returns:
        Problem sentences, structural ones (missing columns, bad timestamps) first.
    """
    problems = list(raw.problems)
    if not raw.complete:
        return problems
    assert raw.ts_ns is not None  # complete implies it
    if raw.ts_ok:
        problems.extend(check_order(raw.source, raw.ts_ns))
    problems.extend(check_values(raw))
    return problems


def load_bars(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    symbol: str,
    timeframe: str | None = None,
    resample: str | None = None,
    start: str | None = None,
    end: str | None = None,
    calendar: str | None = None,
) -> BarFrame:
    """Load one symbol's OHLCV bars from CSV, Parquet or a DataFrame and validate them.

    Columns (case-insensitive): a timestamp column named ``timestamp``, ``time``, ``date``,
    ``datetime``, ``ts`` or ``open_time``, else an unnamed first column (not beside a column
    named like a time, e.g. ``Gmt time``: that one is a pandas row index) or a
    ``DatetimeIndex``; ``open``, ``high``, ``low``, ``close`` (required); ``volume``
    (optional, 0.0 when absent), each named once. Other columns are ignored.

    Timestamps are bar OPEN times. Numbers are epoch seconds, milliseconds, microseconds or
    nanoseconds, one unit per column chosen by its largest ``|v|``: ``< 1e11`` seconds,
    ``< 1e14`` ms, ``< 1e17`` us, else ns. Text is ISO-8601; text without an offset is UTC;
    offsets are converted to UTC. datetime64 values: naive ones are UTC.

    The data is validated as a whole before anything else; the first problem is raised
    (with a count of the others; ``kestrel data inspect FILE`` lists them all). Gaps are
    not errors: they are counted in ``BarFrame.gaps`` and described in ``warnings``.

    Args:
        source: Path to ``.csv``/``.csv.gz``/``.parquet``, or a DataFrame.
        symbol: Instrument symbol to attach, e.g. ``"BTC/USDT"``.
        timeframe: Bar length of the source (``"1h"``); inferred as the most common
            spacing when None. Spacings shorter than a given timeframe are an error.
        resample: Coarser timeframe to aggregate to (whole multiple of the source one);
            see :mod:`engine.feeds.resample` for labels, alignment and the dropped last bar.
        start: Keep bars opening at or after this ISO-8601 time (naive = UTC).
        end: Keep bars closing at or before this ISO-8601 time, i.e. the window is
            ``[start, end)`` and a bar is kept only when it lies wholly inside it.
        calendar: ``"24/7"`` or ``"weekdays"``: which bar slots gaps are counted in (see
            `engine.feeds.validate`); inferred from the loaded bars when None.

    Returns:
        The validated, read-only bars.

    Raises:
        DataError: For unreadable files, missing columns, unparseable, unsorted or
            duplicate timestamps, missing/infinite/negative values, inconsistent OHLC,
            a bad timeframe or resample target, or an empty window.
    """
    if not isinstance(symbol, str) or not symbol.strip():
        raise DataError(f"The symbol must be a non-empty string, got {symbol!r}; pass symbol=.")
    frame, name = read_source(source)
    check_calendar(calendar, name)
    raw = extract(frame, name)
    problems = validated(raw)
    if problems:
        raise DataError(_first_of(problems, name))
    assert raw.ts_ns is not None
    ts = raw.ts_ns
    columns = {field: raw.values[field] for field in _FIELDS}
    warnings: list[str] = []
    if not raw.has_volume:
        warnings.append(f"{name}: has no volume column; volume is 0.0 for every bar.")

    source_ns = _source_timeframe(name, ts, timeframe, warnings)
    timeframe_ns = source_ns
    if resample is not None:
        timeframe_ns = parse_timeframe(resample)
        if timeframe_ns != source_ns:
            result = resample_arrays(  # its warnings describe the run's window's bars
                name, ts, columns, source_ns, timeframe_ns, calendar=calendar, start=start, end=end
            )
            ts = result.ts_open_ns
            columns = {field: getattr(result, field) for field in _FIELDS}
            warnings.extend(result.warnings)

    if start is not None or end is not None:
        ts, columns = _window(name, ts, columns, timeframe_ns, start, end)

    spacing = analyze_spacing(ts, timeframe_ns, calendar)
    warnings.extend(spacing.sentences(name))
    return BarFrame(
        symbol=symbol,
        timeframe_ns=timeframe_ns,
        ts_open_ns=_frozen(ts),
        open=_frozen(columns["open"]),
        high=_frozen(columns["high"]),
        low=_frozen(columns["low"]),
        close=_frozen(columns["close"]),
        volume=_frozen(columns["volume"]),
        source=name,
        gaps=spacing.missing_bars,
        warnings=tuple(warnings),
        calendar=spacing.calendar,
        gap_runs=spacing.gaps,
    )


def _first_of(problems: list[str], name: str) -> str:
    """Return the first problem, saying how many more there are and how to list them."""
    first, more = problems[0], len(problems) - 1
    if not more:
        return first
    where = f"kestrel data inspect {name}" if name != "<DataFrame>" else "inspect_file(frame)"
    noun = "problem" if more == 1 else "problems"
    return f"{first.removesuffix('.')} ({more} more {noun}: run `{where}` to list them all)."


_SPACINGS_TO_JUDGE = 20  # bar spacings, none one timeframe: the timeframe is wrong


def _source_timeframe(name: str, ts: np.ndarray, timeframe: str | None, notes: list[str]) -> int:
    """Return the source timeframe (given or inferred), checking it against the spacing."""
    inferred = infer_timeframe(ts)
    if timeframe is None:
        if inferred is None:
            raise DataError(
                f"{name}: cannot infer the timeframe from a single bar; give it in the file's "
                '[[data]] (or [[fx]]) table, e.g. timeframe = "1d" (or "1h", "5m", ...).'
            )
        return inferred
    given = parse_timeframe(timeframe)
    step = np.diff(ts)
    shorter = step < given
    if shorter.any():
        row = int(np.argmax(shorter)) + 1
        raise DataError(
            f"{name}: bars are {format_timeframe(int(step[row - 1]))} apart at row {row + 1} "
            f"({format_timestamp(int(ts[row]))}) but the timeframe is {timeframe}; to "
            f'aggregate them, set timeframe = "{format_timeframe(inferred or given)}" and '
            f'resample = "{timeframe}" in its [[data]] table.'
        )
    if step.size >= _SPACINGS_TO_JUDGE and step.min() > given:
        # each bar would count as closed one timeframe after it opens, before its data was
        # known (an hourly bar at open + 1m): look-ahead, not gaps. A few bars all apart
        # could be a sparse file of that timeframe (warned below); this many cannot.
        raise DataError(
            f"{name}: no two bars are {timeframe} apart (the closest are "
            f"{format_timeframe(int(step.min()))} apart) but the timeframe is {timeframe}: "
            f"each bar would be known before it closed (look-ahead); set timeframe = "
            f'"{format_timeframe(inferred or int(step.min()))}" or leave it out to infer it.'
        )
    if inferred is not None and inferred != given:
        notes.append(
            f"{name}: the most common spacing is {format_timeframe(inferred)} but timeframe "
            f"{timeframe} was given; check that the timeframe is right (a bar counts as "
            f"closed {timeframe} after it opens: if it is longer, that is look-ahead)."
        )
    return given


def _window(
    name: str,
    ts: np.ndarray,
    columns: dict[str, np.ndarray],
    timeframe_ns: int,
    start: str | None,
    end: str | None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Keep bars lying wholly inside ``[start, end)``: open >= start and close <= end."""
    start_ns = parse_timestamp(start, what="start") if start is not None else None
    end_ns = parse_timestamp(end, what="end") if end is not None else None
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise DataError(f"The end {end!r} is not after the start {start!r}; swap or fix them.")
    keep = np.ones(len(ts), dtype=bool)
    if start_ns is not None:
        keep &= ts >= start_ns
    if end_ns is not None:
        keep &= ts + timeframe_ns <= end_ns
    if not keep.any():
        raise DataError(
            f"{name}: no {format_timeframe(timeframe_ns)} bars lie between start {start!r} and "
            f"end {end!r}; the data covers {format_timestamp(int(ts[0]))} to "
            f"{format_timestamp(int(ts[-1]) + timeframe_ns)}."
        )
    return ts[keep], {field: values[keep] for field, values in columns.items()}


def _frozen(values: np.ndarray) -> np.ndarray:
    """Return a C-contiguous array this module owns, marked read-only."""
    owned = np.array(values, copy=True, order="C")
    owned.flags.writeable = False
    return owned
