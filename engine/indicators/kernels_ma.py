"""Moving-average kernels shared by most other indicators.

Every kernel takes ``start``: the first index of ``x`` holding data (earlier entries are
NaN warm-up of an upstream stage) and writes NaN until its own warm-up has passed. Seeding
follows TA-Lib's default compatibility mode: exponential averages start from the simple
mean of their first ``period`` values and TA-Lib's unstable period is 0.
"""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan


@kernel
def sma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Simple moving average; first value at ``start + period - 1``."""
    n = x.shape[0]
    first = start + period - 1
    out = np.empty(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    total = 0.0
    for i in range(start, first):
        total += x[i]
    for i in range(first, n):
        total += x[i]
        out[i] = total / period
        total -= x[i - period + 1]
    return out


@kernel
def ema_k(x: FloatArray, period: int, k: float, start: int) -> FloatArray:
    """Exponential average with factor ``k`` seeded by the mean of the first ``period`` values."""
    n = x.shape[0]
    first = start + period - 1
    out = np.empty(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    prev = 0.0
    for i in range(start, first + 1):
        prev += x[i]
    prev /= period
    out[first] = prev
    for i in range(first + 1, n):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


@kernel
def ema(x: FloatArray, period: int, start: int) -> FloatArray:
    """Exponential moving average with TA-Lib's factor ``2 / (period + 1)``."""
    return ema_k(x, period, 2.0 / (period + 1), start)


@kernel
def rma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Wilder's smoothed average: an exponential average with factor ``1 / period``."""
    return ema_k(x, period, 1.0 / period, start)


@kernel
def wma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Linearly weighted moving average (weights 1..period, newest heaviest)."""
    n = x.shape[0]
    first = start + period - 1
    out = np.empty(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    divider = period * (period + 1) / 2.0
    weighted = 0.0
    plain = 0.0
    for i in range(start, first):
        weighted += x[i] * (i - start + 1)
        plain += x[i]
    trailing = start
    for i in range(first, n):
        value = x[i]
        weighted += value * period
        plain += value
        out[i] = weighted / divider
        # Dropping one weight from every term is the same as subtracting the plain sum.
        weighted -= plain
        plain -= x[trailing]
        trailing += 1
    return out


@kernel
def ema_cascade(
    x: FloatArray, period: int, k: float, weights: FloatArray, start: int
) -> FloatArray:
    """Blend of chained EMAs ``sum(weights[j] * e_(j+1))`` computed in one pass.

    Stage ``j + 1`` is an EMA of stage ``j``, seeded (as TA-Lib seeds DEMA, TEMA and T3)
    by the mean of stage ``j``'s first ``period`` values. One pass with a few scalars per
    stage is several times faster than materialising every stage as an array.
    """
    n = x.shape[0]
    depth = weights.shape[0]
    first = start + depth * (period - 1)
    out = np.empty(n)
    out[: min(first, n)] = NAN
    values = np.zeros(depth)
    counts = np.zeros(depth, dtype=np.int64)
    for i in range(start, n):
        v = x[i]
        for j in range(depth):
            c = counts[j]
            if c < period:
                values[j] += v
                counts[j] = c + 1
                if c + 1 < period:
                    break
                values[j] /= period
            else:
                values[j] = (v - values[j]) * k + values[j]
            v = values[j]
        if i >= first:
            total = 0.0
            for j in range(depth):
                total += weights[j] * values[j]
            out[i] = total
    return out


@kernel
def dema(x: FloatArray, period: int, start: int) -> FloatArray:
    """Double exponential moving average ``2 * e1 - e2``."""
    return ema_cascade(x, period, 2.0 / (period + 1), np.array([2.0, -1.0]), start)


@kernel
def tema(x: FloatArray, period: int, start: int) -> FloatArray:
    """Triple exponential moving average ``3 * e1 - 3 * e2 + e3``."""
    return ema_cascade(x, period, 2.0 / (period + 1), np.array([3.0, -3.0, 1.0]), start)


@kernel
def trima(x: FloatArray, period: int, start: int) -> FloatArray:
    """Triangular moving average: a simple average of a simple average."""
    if period % 2 == 1:
        half = (period + 1) // 2
        inner = sma(x, half, start)
        return sma(inner, half, start + half - 1)
    half = period // 2
    inner = sma(x, half, start)
    return sma(inner, half + 1, start + half - 1)


@kernel
def kama(x: FloatArray, period: int, start: int) -> FloatArray:
    """Kaufman adaptive moving average with TA-Lib's fast 2 / slow 30 constants."""
    n = x.shape[0]
    out = np.full(n, NAN)
    if period <= 1:
        out[start:] = x[start:]
        return out
    first = start + period
    if first >= n:
        return out
    const_max = 2.0 / 31.0
    const_diff = 2.0 / 3.0 - const_max
    noise = 0.0
    for i in range(start, first):
        noise += abs(x[i] - x[i + 1])
    prev = x[first - 1]
    for i in range(first, n):
        if i > first:
            noise -= abs(x[i - period] - x[i - period - 1])
            noise += abs(x[i] - x[i - 1])
        change = x[i] - x[i - period]
        # TA-Lib caps the efficiency ratio at 1 and treats a flat window as fully efficient.
        ratio = 1.0 if noise <= change or -1e-8 < noise < 1e-8 else abs(change / noise)
        sc = ratio * const_diff + const_max
        sc *= sc
        prev = (x[i] - prev) * sc + prev
        out[i] = prev
    return out


@kernel
def t3(x: FloatArray, period: int, vfactor: float, start: int) -> FloatArray:
    """Tillson T3: six chained exponential averages blended by the volume factor."""
    v2 = vfactor * vfactor
    v3 = v2 * vfactor
    c1 = -v3
    c2 = 3.0 * (v2 + v3)
    c3 = -6.0 * v2 - 3.0 * (vfactor + v3)
    c4 = 1.0 + 3.0 * vfactor + v3 + 3.0 * v2
    weights = np.array([0.0, 0.0, c4, c3, c2, c1])
    return ema_cascade(x, period, 2.0 / (period + 1), weights, start)


@kernel
def hma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Hull moving average ``WMA(2 * WMA(x, p / 2) - WMA(x, p), sqrt(p))``."""
    half = max(period // 2, 1)
    root = max(int(math.sqrt(period)), 1)
    raw = 2.0 * wma(x, half, start) - wma(x, period, start)
    return wma(raw, root, start + period - 1)


@kernel
def zlema(x: FloatArray, period: int, start: int) -> FloatArray:
    """Zero-lag EMA: an EMA of ``2 * x[t] - x[t - lag]`` with ``lag = (period - 1) // 2``."""
    lag = (period - 1) // 2
    n = x.shape[0]
    adjusted = np.full(n, NAN)
    for i in range(start + lag, n):
        adjusted[i] = 2.0 * x[i] - x[i - lag]
    return ema(adjusted, period, start + lag)
