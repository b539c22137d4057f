"""Return series shared by the metrics and the report's charts.

In: an equity curve (bar close times in ns, equity values) and the account value before
the first bar. Out: per-bar simple returns, calendar-period (UTC day, month, year) returns,
drawdowns and benchmark values aligned to the curve. Nothing here is downsampled: the
report thins series for display only, after every number has been computed from these.

A bar that closes exactly at midnight UTC belongs to the day (month, year) that ends
there: periods are keyed by ``(ts_close_ns - 1)``, so a daily bar of 2021-03-01 (closing
at 2021-03-02T00:00Z) is 2021-03-01's return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.errors import DataError
from engine.feeds import BarFrame, format_timestamp

__all__ = [
    "NS_PER_DAY",
    "FloatArray",
    "IntArray",
    "benchmark_values",
    "check_benchmark_span",
    "drawdown",
    "period_returns",
    "series_on",
]

NS_PER_DAY = 86_400 * 10**9

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Period = Literal["D", "M", "Y"]


def drawdown(values: FloatArray) -> FloatArray:
    """Return ``values / running_max(values) − 1`` (fractions ≤ 0; empty for empty input)."""
    if values.size == 0:
        return np.empty(0)
    peak: FloatArray = np.maximum.accumulate(values)
    result: FloatArray = values / peak - 1.0
    return result


def period_keys(ts: IntArray, period: Period) -> npt.NDArray[np.datetime64]:
    """Return the UTC calendar period (``datetime64[D|M|Y]``) each close time belongs to."""
    days = ((ts - 1) // NS_PER_DAY).astype("datetime64[D]")
    return days if period == "D" else days.astype(f"datetime64[{period}]")


def period_returns(
    ts: IntArray, equity: FloatArray, initial: float, period: Period
) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
    """Return ``(period labels, compounded returns)`` per UTC calendar period.

    A period's return is its last equity over the previous period's last equity (the
    initial value for the first period), minus one. Periods without bars are absent.
    """
    if ts.size == 0:
        return np.empty(0, dtype=f"datetime64[{period}]"), np.empty(0)
    keys = period_keys(ts, period)
    last = np.flatnonzero(np.concatenate((keys[1:] != keys[:-1], [True])))
    ends = equity[last]
    base = np.concatenate(([initial], ends[:-1]))
    returns: FloatArray = ends / base - 1.0
    return keys[last], returns


def series_on(ts: IntArray, source_ts: IntArray, values: FloatArray, before: float) -> FloatArray:
    """Return the last ``values`` at or before each ``ts`` (``before`` when there is none)."""
    if ts.size == source_ts.size + 1 and ts[0] < source_ts[0] and np.array_equal(ts[1:], source_ts):
        # the equity curve of one symbol's bars: its own close times, after the start
        aligned: FloatArray = np.concatenate(([before], values))
        return aligned
    index = np.searchsorted(source_ts, ts, side="right")
    result: FloatArray = np.concatenate(([before], values))[index]
    return result


def benchmark_values(
    times: IntArray,
    frames: Sequence[BarFrame] | None = None,
    series: tuple[IntArray, FloatArray] | None = None,
) -> FloatArray | None:
    """Return a benchmark's value at ``times``, normalized to 1.0 at ``times[0]``.

    With ``series`` = ``(ts_ns, values)`` (any price or equity series, sorted by time) the
    benchmark is its last value at or before each time (its first value before it starts).
    Otherwise it is buy-and-hold of the traded symbols: each symbol bought at its first
    bar's open with an equal share of the initial value and never rebalanced, marked at
    the last close at or before each time. None when there is nothing to compare with.
    """
    if times.size == 0:
        return None
    if series is not None:
        series_ts = np.asarray(series[0], dtype=np.int64)
        series_values = np.asarray(series[1], dtype=np.float64)
        if series_values.size == 0 or not np.all(series_values > 0):
            return None
        aligned = series_on(times, series_ts, series_values, float(series_values[0]))
        normalized: FloatArray = aligned / aligned[0]
        return normalized
    usable = [frame for frame in frames or () if len(frame) and frame.open[0] > 0]
    if not usable:
        return None
    total = np.zeros(times.size)
    for frame in usable:
        start = float(frame.open[0])
        total += series_on(times, frame.ts_close_ns, frame.close, start) / start
    result: FloatArray = total / len(usable)
    return result


def check_benchmark_span(times: IntArray, series_ts: IntArray, label: str) -> str | None:
    """Refuse a benchmark that cannot move during the run; describe partial coverage.

    The benchmark at time ``t`` is its last value at or before ``t`` (its first value
    before it starts), so during the run it takes the values stamped inside
    ``(times[0], times[-1]]`` plus the one in effect at ``times[0]``. Fewer than two such
    values make it flat: its return would read 0.00 %, which is not a comparison.

    Args:
        times: The run's curve times (start, then each bar close), ns UTC, sorted.
        series_ts: The benchmark's value times (bar close times), ns UTC, sorted.
        label: The benchmark's name for messages (its file name).

    Returns:
        A note for the report when the benchmark starts after the run or ends before it
        (held flat outside its span), else None.

    Raises:
        DataError: The benchmark has fewer than two values in effect during the run.
    """
    start, end = int(times[0]), int(times[-1])
    inside = int(
        np.searchsorted(series_ts, end, "right") - np.searchsorted(series_ts, start, "right")
    )
    in_effect = inside + (1 if series_ts.size and int(series_ts[0]) <= start else 0)
    run_span = f"{format_timestamp(start)} → {format_timestamp(end)}"
    if series_ts.size == 0:
        raise DataError(f"benchmark {label} has no values; give a benchmark with bars")
    bench_span = f"{format_timestamp(int(series_ts[0]))} → {format_timestamp(int(series_ts[-1]))}"
    if in_effect < 2:
        raise DataError(
            f"benchmark {label} ({bench_span}) does not overlap the run ({run_span}), so it "
            "would read 0.00%; give a benchmark whose dates cover the run"
        )
    if int(series_ts[0]) > start or int(series_ts[-1]) < end:
        return (
            f"The benchmark {label} covers {bench_span} only, not the whole run ({run_span}); "
            "outside its span it is held at its nearest value."
        )
    return None
