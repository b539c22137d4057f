"""Rolling extremes with TA-Lib's tie rules, shared by MAX/MIN, Aroon, stochastics, ...

A new value replaces the current extreme on ties (``>=``), but a rescan after the extreme
leaves the window keeps the earliest of equal values (``>``): that is what TA-Lib does, and
it decides which index MAXINDEX/MININDEX and Aroon report.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan


@kernel
def rolling_max_index(x: FloatArray, period: int, start: int) -> FloatArray:
    """Index of the highest value over the last ``period`` values (NaN during warm-up)."""
    n = x.shape[0]
    out = np.full(n, NAN)
    best = -1
    highest = 0.0
    for today in range(start + period - 1, n):
        trailing = today - period + 1
        value = x[today]
        if best < trailing:
            best = trailing
            highest = x[best]
            for i in range(best + 1, today + 1):
                if x[i] > highest:
                    best = i
                    highest = x[i]
        elif value >= highest:
            best = today
            highest = value
        out[today] = best
    return out


@kernel
def rolling_min_index(x: FloatArray, period: int, start: int) -> FloatArray:
    """Index of the lowest value over the last ``period`` values (NaN during warm-up)."""
    n = x.shape[0]
    out = np.full(n, NAN)
    best = -1
    lowest = 0.0
    for today in range(start + period - 1, n):
        trailing = today - period + 1
        value = x[today]
        if best < trailing:
            best = trailing
            lowest = x[best]
            for i in range(best + 1, today + 1):
                if x[i] < lowest:
                    best = i
                    lowest = x[i]
        elif value <= lowest:
            best = today
            lowest = value
        out[today] = best
    return out


@kernel
def rolling_max(x: FloatArray, period: int, start: int) -> FloatArray:
    """Highest value over the last ``period`` values, in one pass."""
    n = x.shape[0]
    out = np.full(n, NAN)
    best = -1
    highest = 0.0
    for today in range(start + period - 1, n):
        trailing = today - period + 1
        value = x[today]
        if best < trailing:
            best = trailing
            highest = x[best]
            for i in range(best + 1, today + 1):
                if x[i] > highest:
                    best = i
                    highest = x[i]
        elif value >= highest:
            best = today
            highest = value
        out[today] = highest
    return out


@kernel
def rolling_min(x: FloatArray, period: int, start: int) -> FloatArray:
    """Lowest value over the last ``period`` values, in one pass."""
    n = x.shape[0]
    out = np.full(n, NAN)
    best = -1
    lowest = 0.0
    for today in range(start + period - 1, n):
        trailing = today - period + 1
        value = x[today]
        if best < trailing:
            best = trailing
            lowest = x[best]
            for i in range(best + 1, today + 1):
                if x[i] < lowest:
                    best = i
                    lowest = x[i]
        elif value <= lowest:
            best = today
            lowest = value
        out[today] = lowest
    return out


@kernel
def rolling_sum(x: FloatArray, period: int, start: int) -> FloatArray:
    """Sum over the last ``period`` values."""
    n = x.shape[0]
    out = np.full(n, NAN)
    first = start + period - 1
    if first >= n:
        return out
    total = 0.0
    for i in range(start, first):
        total += x[i]
    for i in range(first, n):
        total += x[i]
        out[i] = total
        total -= x[i - period + 1]
    return out


@kernel
def extremes(high: FloatArray, low: FloatArray, period: int, mode: int) -> FloatArray:
    """One pass over rolling highest ``high`` and lowest ``low``, combined per ``mode``.

    Modes: 0 midpoint ``(hh + ll) / 2``, 2 highest high, 3 lowest low.
    """
    n = high.shape[0]
    first = period - 1
    out = np.empty(n)
    out[: min(first, n)] = NAN
    hi = -1
    lo = -1
    highest = 0.0
    lowest = 0.0
    for today in range(first, n):
        trailing = today - period + 1
        if hi < trailing:
            hi = trailing
            highest = high[hi]
            for i in range(hi + 1, today + 1):
                if high[i] > highest:
                    hi = i
                    highest = high[i]
        elif high[today] >= highest:
            hi = today
            highest = high[today]
        if lo < trailing:
            lo = trailing
            lowest = low[lo]
            for i in range(lo + 1, today + 1):
                if low[i] < lowest:
                    lo = i
                    lowest = low[i]
        elif low[today] <= lowest:
            lo = today
            lowest = low[today]
        if mode == 0:
            out[today] = (highest + lowest) / 2.0
        elif mode == 2:
            out[today] = highest
        else:
            out[today] = lowest
    return out
