"""Overlap-study kernels (TA-Lib group "Overlap Studies") beyond the plain averages.

Composites with a selectable MA type (BBANDS, MAVP, ...) live in ``composite.py``; the
channels built on the ATR (Keltner, SuperTrend) in ``kernels_atr.py``, so that loading this
family for a moving average does not load the volatility family's kernels.
"""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._alloc import copy_into, nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel, kernel
from engine.indicators.kernels_window import donchian as window_donchian
from engine.indicators.kernels_window import extremes

NAN = np.nan


@kernel
def midpoint(x: FloatArray, period: int) -> FloatArray:
    """Midpoint of the highest and lowest value over ``period`` values."""
    return extremes(x, x, period, 0)


@kernel
def midprice(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """Midpoint of the highest high and the lowest low over ``period`` bars."""
    return extremes(high, low, period, 0)


@kernel
def donchian(
    high: FloatArray, low: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channel: highest high, their midpoint, lowest low."""
    return window_donchian(high, low, period)


@kernel
def accbands(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Acceleration bands: SMAs of range-widened highs and lows around an SMA of close.

    One pass with three running sums (:func:`sma`'s arithmetic); rings keep the widened
    values the sums must drop, instead of two full-length arrays of them.
    """
    n = high.shape[0]
    upper = new_array(n)
    middle = new_array(n)
    lower = new_array(n)
    head = min(period - 1, n)
    upper[:head] = NAN
    middle[:head] = NAN
    lower[:head] = NAN
    ring_high = np.empty(period)
    ring_low = np.empty(period)
    slot = 0
    scale = 1.0 / period
    high_total = close_total = low_total = 0.0
    for i in range(n):
        total = high[i] + low[i]
        if total == 0.0:
            wide_high = high[i]
            wide_low = low[i]
        else:
            factor = 4.0 * (high[i] - low[i]) / total
            wide_high = high[i] * (1.0 + factor)
            wide_low = low[i] * (1.0 - factor)
        ring_high[slot] = wide_high
        ring_low[slot] = wide_low
        slot = slot + 1 if slot + 1 < period else 0
        high_total += wide_high
        close_total += close[i]
        low_total += wide_low
        if i >= period - 1:
            upper[i] = high_total * scale
            middle[i] = close_total * scale
            lower[i] = low_total * scale
            high_total -= ring_high[slot]
            close_total -= close[i - period + 1]
            low_total -= ring_low[slot]
    return upper, middle, lower


@exact_kernel
def vwma(x: FloatArray, volume: FloatArray, period: int) -> FloatArray:
    """Volume-weighted moving average over ``period`` bars, divided as TA-Lib 0.8.1 does.

    ``(sum(x * v) / period) / (sum(v) / period)``: a window with no volume is 0 / 0 =
    NaN, not 0 (which made ``close > vwma`` always true), and period 1 is ``x`` itself.
    """
    n = x.shape[0]
    if period <= 1:
        out = new_array(n)
        copy_into(out, x)
        return out
    out = nan_head(n, period - 1)
    if period > n:
        return out
    weighted = 0.0
    total = 0.0
    for i in range(n):
        weighted += x[i] * volume[i]
        total += volume[i]
        if i >= period - 1:
            out[i] = volume_ratio(weighted / period, total / period)
            old = i - period + 1
            weighted -= x[old] * volume[old]
            total -= volume[old]
    return out


@exact_kernel
def volume_ratio(top: float, bottom: float) -> float:
    """Return ``top / bottom`` as IEEE division gives it: 0 / 0 is NaN, x / 0 is +-inf.

    (numba's Python error model raises ZeroDivisionError instead.)
    """
    if bottom == 0.0:
        if top == 0.0 or math.isnan(top):
            return math.nan
        return math.copysign(math.inf, top) * math.copysign(1.0, bottom)
    return top / bottom
