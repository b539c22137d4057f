"""inspect_file: describe a bar file and list every problem in it (``kestrel data inspect``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.feeds.loader import validated
from engine.feeds.readers import extract, read_source
from engine.feeds.timeframe import (
    format_duration,
    format_timeframe,
    format_timestamp,
    parse_timeframe,
)
from engine.feeds.validate import (
    analyze_spacing,
    check_calendar,
    distinct_sorted,
    infer_timeframe,
)

__all__ = ["DataInspection", "GapSummary", "inspect_file"]


@dataclass(frozen=True)
class GapSummary:
    """Gaps against the inferred timeframe.

    Attributes:
        count: Number of spacings longer than one timeframe.
        missing_bars: Bars missing in those gaps.
        largest: Longest stretch of missing bars as text (``"3h"``), or None.
        largest_at: ISO-8601 UTC open time of its first missing bar, or None.
        weekend: Gaps of at most 4 days that contain a whole Saturday (UTC); 0 under the
            weekday calendar, where weekends are no gaps.
        calendar: The calendar gaps were counted against (``"24/7"`` or ``"weekdays"``),
            given or inferred exactly as `engine.feeds.load_bars` does.
    """

    count: int = 0
    missing_bars: int = 0
    largest: str | None = None
    largest_at: str | None = None
    weekend: int = 0
    calendar: str | None = None


@dataclass(frozen=True)
class DataInspection:
    """What :func:`inspect_file` found in one file.

    Attributes:
        path: The file inspected (or ``"<DataFrame>"``).
        rows: Data rows (header not counted).
        columns: Column names as found.
        first: ISO-8601 UTC of the earliest open time, or None.
        last: ISO-8601 UTC of the latest open time, or None.
        timeframe: Inferred timeframe text (``"1h"``), or None.
        timeframe_ns: Inferred timeframe in ns, or None.
        gaps: Gap counts against the inferred timeframe.
        problems: Every problem found; each would make ``load_bars`` raise ``DataError``.
        warnings: Notes that are not errors (gaps, irregular spacing, no volume).
    """

    path: str
    rows: int
    columns: list[str]
    first: str | None = None
    last: str | None = None
    timeframe: str | None = None
    timeframe_ns: int | None = None
    gaps: GapSummary = field(default_factory=GapSummary)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether ``load_bars`` would accept the file (no problems)."""
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        """Return plain JSON-ready values (for ``--json`` output or reports)."""
        return asdict(self)


def inspect_file(
    source: str | os.PathLike[str] | pd.DataFrame,
    calendar: str | None = None,
    timeframe: str | None = None,
) -> DataInspection:
    """Read a bar file and report rows, time range, timeframe, gaps and all problems.

    Unlike :func:`engine.feeds.load_bars` this does not stop at the first problem: it runs
    every check and lists each kind of problem with its count and first row. Gaps are
    computed on the valid timestamps in time order, against the inferred timeframe.

    Args:
        source: Path to ``.csv``/``.csv.gz``/``.parquet`` (or a DataFrame).
        calendar: ``"24/7"`` or ``"weekdays"`` for the gap count; inferred when None.
        timeframe: The bars' timeframe (``"1h"``; a catalog file's is in its path): gaps
            are counted against it. Inferred from the spacing when None.

    Returns:
        The inspection.

    Raises:
        DataError: Only if the file does not exist, is a folder or is not a supported type.
    """
    name = str(source) if not isinstance(source, pd.DataFrame) else "<DataFrame>"
    check_calendar(calendar, name)
    try:
        frame, name = read_source(source)
    except DataError as error:
        text = str(error)
        if any(what in text for what in ("no such file", "is a folder", "unsupported file type")):
            raise
        return DataInspection(path=name, rows=0, columns=[], problems=[str(error)])
    raw = extract(frame, name)
    problems = validated(raw)
    warnings: list[str] = []
    if raw.complete and not raw.has_volume:
        warnings.append(f"{name}: has no volume column; volume would be 0.0 for every bar.")
    if raw.ts_ns is None:
        return DataInspection(
            path=name, rows=raw.rows, columns=raw.columns, problems=problems, warnings=warnings
        )
    valid = raw.ts_ns[raw.ts_ns != np.iinfo(np.int64).min]
    times = distinct_sorted(valid)  # so gaps are meaningful even in unsorted data
    if times.size == 0:
        return DataInspection(
            path=name, rows=raw.rows, columns=raw.columns, problems=problems, warnings=warnings
        )
    timeframe_ns = parse_timeframe(timeframe) if timeframe else infer_timeframe(times)
    gaps = GapSummary()
    if timeframe_ns is not None:
        spacing = analyze_spacing(times, timeframe_ns, calendar)
        warnings.extend(spacing.sentences(name))
        gaps = GapSummary(
            count=spacing.gaps,
            missing_bars=spacing.missing_bars,
            largest=format_duration(spacing.largest_missing_ns) if spacing.gaps else None,
            largest_at=(
                format_timestamp(spacing.largest_at_ns)
                if spacing.largest_at_ns is not None
                else None
            ),
            weekend=spacing.weekend_gaps,
            calendar=spacing.calendar,
        )
    return DataInspection(
        path=name,
        rows=raw.rows,
        columns=raw.columns,
        first=format_timestamp(int(times[0])),
        last=format_timestamp(int(times[-1])),
        timeframe=format_timeframe(timeframe_ns) if timeframe_ns is not None else None,
        timeframe_ns=timeframe_ns,
        gaps=gaps,
        problems=problems,
        warnings=warnings,
    )
