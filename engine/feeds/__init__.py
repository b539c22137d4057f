"""Historical market data: read, validate, resample and merge OHLCV bars.

```
CSV / .csv.gz / Parquet / DataFrame
   └─ readers.read_source ─▶ readers.extract (columns, timestamps -> int64 ns UTC)
        └─ validate (order, NaN/inf/negative, OHLC consistency)  -> DataError
             └─ resample.resample_arrays (optional, epoch-aligned, last partial bar dropped)
                  └─ [start, end) window ─▶ BarFrame (read-only numpy columns, gaps, warnings)
several BarFrames ─▶ merge_order (by ts_close_ns, ties in the given frame order)
```

Rules (the reference; tests in ``tests/unit/feeds`` pin each one):

* Times are int64 nanoseconds since the Unix epoch, UTC. Timestamps in files are bar OPEN
  times. ``BarFrame.ts_close_ns`` (open + timeframe) is when a bar is known: it is the
  time the bar becomes visible (``Bar.ts_event``).
* Timestamp column: ``timestamp, time, date, datetime, ts, open_time`` (case-insensitive,
  first found), else an unnamed first column or a ``DatetimeIndex``; separate ``date`` and
  ``time`` columns are joined.
* Epoch numbers: one unit per column from its largest ``|value|``: ``< 1e11`` seconds,
  ``< 1e14`` milliseconds, ``< 1e17`` microseconds, else nanoseconds. Text: ISO-8601;
  naive text and naive datetime64 are UTC; offsets are converted to UTC. ``01/02/2021``
  style dates are refused, not guessed.
* Columns ``open, high, low, close`` are required and ``volume`` is optional (0.0 with a
  warning); names are case-insensitive; other columns are ignored.
* Errors (``DataError``, first problem plus a count of the others): unreadable or empty
  file, missing columns (with "did you mean"), unparseable, unsorted or duplicate times,
  missing/NaN or infinite values, zero or negative prices, negative volume, non-numeric
  values, ``high < low``, ``high < max(open, close)``, ``low > min(open, close)``. A zero
  volume is a quiet bar, not an error.
* Warnings (``BarFrame.warnings``, never errors): gaps with counts (``BarFrame.gaps`` is
  the number of missing bars), irregular spacing, no volume, resampling notes.
* Gap calendar (``calendar=`` / ``[[data]] calendar``): ``"24/7"`` expects every bar slot;
  ``"weekdays"`` expects none on Saturdays and Sundays (UTC), so weekends are no gaps and
  holidays are. Inferred when not given: bars of a day or less, none on a weekend though
  the data spans one → ``"weekdays"``; else ``"24/7"`` (see `engine.feeds.validate`).
* Timeframe: inferred as the most common positive spacing (ties: the shorter), or given.
* Resampling: whole multiples only; buckets aligned to the epoch (whole weeks: to Monday
  00:00 UTC); a bar is labelled by its open time and visible at its close; the last
  bucket is dropped when the data ends before it closes.
* ``start``/``end``: ISO-8601; a bar is kept when ``start <= open`` and
  ``open + timeframe <= end`` (whole bars inside ``[start, end)``), after resampling.
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# Imported on first use (`engine.lazy`): `engine.feeds.catalog` or a CLI command's
# `from engine.feeds import ...` loads pandas only when it runs.
if TYPE_CHECKING:
    from engine.feeds.frame import BarFrame, merge_order
    from engine.feeds.inspect import DataInspection, GapSummary, inspect_file
    from engine.feeds.loader import load_bars
    from engine.feeds.timeframe import (
        format_timeframe,
        format_timestamp,
        parse_timeframe,
        parse_timestamp,
    )
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "BarFrame": "engine.feeds.frame",
            "DataInspection": "engine.feeds.inspect",
            "GapSummary": "engine.feeds.inspect",
            "format_timeframe": "engine.feeds.timeframe",
            "format_timestamp": "engine.feeds.timeframe",
            "inspect_file": "engine.feeds.inspect",
            "load_bars": "engine.feeds.loader",
            "merge_order": "engine.feeds.frame",
            "parse_timeframe": "engine.feeds.timeframe",
            "parse_timestamp": "engine.feeds.timeframe",
        },
    )

__all__ = [
    "BarFrame",
    "DataInspection",
    "GapSummary",
    "format_timeframe",
    "format_timestamp",
    "inspect_file",
    "load_bars",
    "merge_order",
    "parse_timeframe",
    "parse_timestamp",
]
