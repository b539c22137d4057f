"""Historical market data: read, validate, resample and merge OHLCV bars.

```
CSV / .csv.gz / Parquet / DataFrame
   └─ readers.read_source ─▶ readers.extract (columns, timestamps -> int64 ns UTC)
        └─ validate (order, NaN/inf/negative, OHLC consistency)  -> DataError
             └─ resample.resample_arrays (optional, epoch-aligned, last partial bar dropped)
                  └─ [start, end) window ─▶ BarFrame (read-only numpy columns, gaps, warnings)
several BarFrames ─▶ merge_order (by ts_close_ns, ties in the given frame order)
```

Times are int64 nanoseconds since the Unix epoch, UTC. ``BarFrame.ts_open_ns`` is each
bar's open time; ``BarFrame.ts_close_ns`` (open + timeframe) is when the bar is known and
is used as ``Bar.ts_event``.
"""

from engine.feeds.frame import BarFrame, merge_order
from engine.feeds.inspect import DataInspection, GapSummary, inspect_file
from engine.feeds.loader import load_bars
from engine.feeds.timeframe import (
    format_timeframe,
    format_timestamp,
    parse_timeframe,
    parse_timestamp,
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
