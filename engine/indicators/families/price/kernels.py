"""Price transforms, math operators and fractals: cheap element-wise or windowed kernels."""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan


@kernel
def heikin_ashi(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Heikin-Ashi candles; the first open is the mid-point of the first real body."""
    n = open_.shape[0]
    ha_open = new_array(n)
    ha_high = new_array(n)
    ha_low = new_array(n)
    ha_close = new_array(n)
    if n == 0:
        return ha_open, ha_high, ha_low, ha_close
    # The recursive open stays in registers (reading it back from the output array put a
    # store-to-load round trip on the chain).
    bar_open = (open_[0] + close[0]) / 2.0
    previous_close = 0.0
    for i in range(n):
        bar_close = (open_[i] + high[i] + low[i] + close[i]) / 4.0
        if i > 0:
            bar_open = (bar_open + previous_close) / 2.0
        ha_open[i] = bar_open
        ha_close[i] = bar_close
        ha_high[i] = max(high[i], bar_open, bar_close)
        ha_low[i] = min(low[i], bar_open, bar_close)
        previous_close = bar_close
    return ha_open, ha_high, ha_low, ha_close


@kernel
def fractal(
    high: FloatArray, low: FloatArray, left: int, right: int
) -> tuple[FloatArray, FloatArray]:
    """Williams fractals: 100 at bar t when bar ``t - right`` is a strict swing high / low."""
    n = high.shape[0]
    swing_high = nan_head(n, left + right)
    swing_low = nan_head(n, left + right)
    # Branch-free comparisons on unsigned indices: which neighbour breaks the swing is
    # random, so per-comparison branches mispredicted about every other bar.
    for t in range(left + right, n):
        center = t - right
        top = high[np.uint64(center)]
        bottom = low[np.uint64(center)]
        is_high = True
        is_low = True
        for k in range(center - left, center):
            is_high &= high[np.uint64(k)] < top
            is_low &= low[np.uint64(k)] > bottom
        for k in range(center + 1, t + 1):
            is_high &= high[np.uint64(k)] < top
            is_low &= low[np.uint64(k)] > bottom
        swing_high[np.uint64(t)] = 100.0 if is_high else 0.0
        swing_low[np.uint64(t)] = 100.0 if is_low else 0.0
    return swing_high, swing_low


@kernel
def cumsum(x: FloatArray) -> FloatArray:
    """Running total, added left to right as TA-Lib does (numpy's cumsum is 4x slower)."""
    n = x.shape[0]
    out = new_array(n)
    total = 0.0
    for i in range(n):
        total += x[i]
        out[i] = total
    return out


@kernel
def price_average(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, mode: int
) -> FloatArray:
    """AVGPRICE (0), MEDPRICE (1), TYPPRICE (2), WCLPRICE (3), summed left to right.

    One dedicated loop per transform (no weight array, no unused inputs read), so each is
    a plain vectorised pass.
    """
    n = a.shape[0]
    out = new_array(n)
    if mode == 0:
        for i in range(n):
            out[i] = (a[i] + b[i] + c[i] + d[i]) / 4.0
    elif mode == 1:
        for i in range(n):
            out[i] = (a[i] + b[i]) / 2.0
    elif mode == 2:
        for i in range(n):
            out[i] = (a[i] + b[i] + c[i]) / 3.0
    else:
        for i in range(n):
            out[i] = (a[i] + b[i] + c[i] * 2.0) / 4.0
    return out


@kernel
def arc(x: FloatArray, cosine: bool) -> FloatArray:
    """ACOS (``cosine``) or ASIN, with inputs outside [-1, 1] going straight to NaN.

    Prices are usually outside the domain; libm (numpy, TA-Lib) spends ~5 ns per value
    finding that out and flagging the error, a comparison takes well under one.
    """
    n = x.shape[0]
    out = new_array(n)
    for i in range(n):
        value = x[i]
        if -1.0 <= value <= 1.0:
            out[i] = math.acos(value) if cosine else math.asin(value)
        else:
            out[i] = value if value != value else NAN
    return out
