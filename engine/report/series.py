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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from engine.errors import DataError
from engine.feeds import BarFrame, format_timestamp

if TYPE_CHECKING:
    from engine.portfolio.fx import RateSeries

__all__ = [
    "NS_PER_DAY",
    "Drawdown",
    "FloatArray",
    "IntArray",
    "bar_benchmark",
    "benchmark_values",
    "check_benchmark_span",
    "drawdown",
    "period_ends",
    "period_returns",
    "series_on",
    "worst_drawdowns",
]

NS_PER_DAY = 86_400 * 10**9

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Period = Literal["D", "M", "Y"]


def drawdown(values: FloatArray, before: float | None = None) -> FloatArray:
    """Return ``values / running_max(values) − 1`` (fractions ≤ 0; empty for empty input).

    ``before``: a value preceding ``values`` that starts the running maximum (an equity
    curve's initial cash); the result still has one value per element of ``values``.
    """
    if values.size == 0:
        return np.empty(0)
    peak: FloatArray = np.maximum.accumulate(values)
    if before is not None:  # max is exact: the same maxima as accumulating [before, *values]
        np.maximum(peak, before, out=peak)
    np.divide(values, peak, out=peak)  # in place: the same bits, no temporaries
    peak -= 1.0
    return peak


class Drawdown(NamedTuple):
    """One drawdown period of an equity curve (times in ns UTC; depth a fraction < 0).

    It starts at ``peak_ns`` (the last time the curve stood at its running high before
    falling), bottoms at ``trough_ns`` and ends at ``recovery_ns``, the first time the
    curve is back at or above the peak (None while it is still under water at the end).
    ``length_ns`` runs from the peak to the recovery, or to the curve's last time.
    """

    peak_ns: int
    trough_ns: int
    recovery_ns: int | None
    depth: float
    length_ns: int


def worst_drawdowns(
    ts: IntArray,
    values: FloatArray,
    count: int = 5,
    start: tuple[int, float] | None = None,
) -> list[Drawdown]:
    """Return the ``count`` deepest drawdown periods of ``values``, deepest first.

    Args:
        ts: Time of each value, ns UTC, increasing (include the starting value with the
            run's start time, so a loss from the very first bar has a peak).
        values: Account values (> 0) at those times.
        count: How many periods to return (fewer when the curve has fewer).
        start: ``(time, value)`` of a starting point that precedes ``ts`` and ``values``
            (the run's start and initial cash): the same periods as with it prepended to
            both, without copying a 10 M-bar curve twice (issue 13's peak memory).

    Equal depths are ordered by peak time. Computed on the full curve (not thinned).
    """
    if values.size == 0:  # (a start point alone has no drawdown either)
        return []
    under = drawdown(values, before=None if start is None else start[1]) < 0
    edges = np.flatnonzero(np.diff(np.concatenate(([False], under, [False])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # each run under water: [start, end) of values
    if starts.size == 0:
        return []
    # without ``start`` the first value is its own peak, so start - 1 >= 0; with it, a run
    # from the first value has the start point as its peak
    # reduceat spans start_k .. start_(k+1): run k plus the values above water after it,
    # which are at or above run k's peak, so the minimum is run k's trough
    minima = np.minimum.reduceat(values, starts)
    before = starts - 1
    peaks = values[np.maximum(before, 0)]
    if start is not None:
        peaks[before < 0] = start[1]
    depths = minima / peaks - 1.0
    chosen = np.lexsort((starts, depths))[:count]
    found = []
    last = int(ts[-1])
    for k in chosen.tolist():
        first, end = int(starts[k]), int(ends[k])
        trough = first + int(np.argmin(values[first:end]))
        peak_ns = int(ts[first - 1]) if first > 0 or start is None else int(start[0])
        recovery = int(ts[end]) if end < values.size else None
        length = (recovery if recovery is not None else last) - peak_ns
        found.append(Drawdown(peak_ns, int(ts[trough]), recovery, float(depths[k]), length))
    return found


def period_keys(ts: IntArray, period: Period) -> npt.NDArray[np.datetime64]:
    """Return the UTC calendar period (``datetime64[D|M|Y]``) each close time belongs to."""
    days = ts - 1
    days //= NS_PER_DAY  # in place: one array of the curve's length, not three
    keys = days.view("datetime64[D]")
    return keys if period == "D" else keys.astype(f"datetime64[{period}]")


def period_ends(ts: IntArray, period: Period) -> IntArray:
    """Return the index of each period's last close time in sorted ``ts`` (`period_keys`).

    Found by searching ``ts`` for where each calendar period from the first close's to the
    last close's ends, not by labelling every close: a 10 M-bar curve needs no array of
    its length here (issue 13's peak memory). A close at ``t`` belongs to the UTC day of
    ``t − 1 ns``, so the period ending at midnight ``m`` holds the closes ``≤ m``; a
    period without closes repeats the previous one's index and is dropped.
    """
    first, final = period_keys(np.asarray(ts[[0, -1]], dtype=np.int64), period)
    labels = np.arange(first, final + 1)
    next_days = (labels + 1).astype("datetime64[D]").astype(np.int64)
    ends_ns = np.minimum(next_days, np.iinfo(np.int64).max // NS_PER_DAY) * NS_PER_DAY
    last: IntArray = np.searchsorted(ts, ends_ns, side="right") - 1
    return last[np.concatenate(([True], last[1:] != last[:-1]))]


def period_returns(
    ts: IntArray, equity: FloatArray, initial: float, period: Period
) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
    """Return ``(period labels, compounded returns)`` per UTC calendar period.

    A period's return is its last equity over the previous period's last equity (the
    initial value for the first period), minus one. Periods without bars are absent.
    """
    if ts.size == 0:
        return np.empty(0, dtype=f"datetime64[{period}]"), np.empty(0)
    last = period_ends(ts, period)
    ends = equity[last]
    base = np.concatenate(([initial], ends[:-1]))
    returns: FloatArray = ends / base - 1.0
    return period_keys(ts[last], period), returns


def series_on(ts: IntArray, source_ts: IntArray, values: FloatArray, before: float) -> FloatArray:
    """Return the last ``values`` at or before each ``ts`` (``before`` when there is none)."""
    if ts.size == source_ts.size + 1 and ts[0] < source_ts[0] and np.array_equal(ts[1:], source_ts):
        # the equity curve of one symbol's bars: its own close times, after the start
        aligned: FloatArray = np.concatenate(([before], values))
        return aligned
    index = np.searchsorted(source_ts, ts, side="right")
    result: FloatArray = np.concatenate(([before], values))[index]
    return result


def bar_benchmark(frame: BarFrame) -> tuple[IntArray, FloatArray]:
    """Return a benchmark's bars as ``(ts_ns, values)``: the first open, then each close.

    The run starts at its first bar's open, which is when a bar file's first value is
    known: its closes alone start one bar late, so the run's own file was said to cover
    part of the run and was held at its first close over the first bar (audit finding 9).
    """
    if not len(frame):
        return frame.ts_close_ns, frame.close
    ts: IntArray = np.concatenate((frame.ts_open_ns[:1], frame.ts_close_ns))
    values: FloatArray = np.concatenate((frame.open[:1], frame.close))
    return ts, values


def benchmark_values(
    times: IntArray,
    frames: Sequence[BarFrame] | None = None,
    series: tuple[IntArray, FloatArray] | None = None,
    rates: Mapping[str, RateSeries] | None = None,
) -> FloatArray | None:
    """Return a benchmark's value at ``times``, normalized to 1.0 at ``times[0]``.

    With ``series`` = ``(ts_ns, values)`` (any price or equity series, sorted by time) the
    benchmark is its last value at or before each time (its first value before it starts).
    Otherwise it is buy-and-hold of the traded symbols: each symbol bought at its first
    bar's open with an equal share of the initial value and never rebalanced, marked at
    the last close at or before each time. None when there is nothing to compare with.

    In the account currency: a symbol in ``rates`` (the run's quote-to-account rates, the
    ones the portfolio marks with, `engine.portfolio.fx`) is bought at its first open ×
    the rate as of that open (the series' first rate when none is known yet) and valued
    at close × the rate as of each time; before its first open its share is still cash
    (1.0). Symbols not in ``rates`` are quoted in the account currency (rate 1, the same
    bits as without ``rates``).
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
    total: FloatArray | None = None
    for frame in usable:  # the sum of each symbol's value relative to its first open
        start = float(frame.open[0])
        aligned = series_on(times, frame.ts_close_ns, frame.close, start)
        rate = (rates or {}).get(frame.symbol)
        if rate is not None:
            aligned *= _rate_ratio(times, int(frame.ts_open_ns[0]), rate)
        aligned /= start  # in place, the same bits as ``aligned / start``
        if total is None:
            total = aligned  # (0.0 + x is x: a sum need not start from an array of zeros)
        else:
            total += aligned
        del aligned
    assert total is not None
    total /= len(usable)
    return total


def _rate_ratio(times: IntArray, first_open: int, rate: RateSeries) -> FloatArray:
    """Return the rate as of each time over the rate at ``first_open`` (1.0 before it)."""
    known = int(np.searchsorted(rate.ts, first_open, side="right")) - 1
    entry = float(rate.rate[max(known, 0)])  # not known yet at the open: the first rate
    ratio = series_on(times, rate.ts, rate.rate, entry)
    ratio[times < first_open] = entry  # still cash in the account currency
    ratio /= entry
    return ratio


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
