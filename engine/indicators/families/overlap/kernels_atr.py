"""Overlap studies built on the volatility family's ATR: Keltner channels and SuperTrend.

In: high, low, close float64 arrays and the periods; out: the bands (NaN warm-up). Apart
from ``kernels.py`` so that an SMA or EMA run does not load the volatility kernels; the
overlap binding imports this module the first time one of these two is computed.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import nan_head
from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel
from engine.indicators.families.overlap.kernels_ma import ema
from engine.indicators.families.volatility.kernels import atr

NAN = np.nan


@kernel
def kc(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, atr_period: int, nbdev: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Keltner channels: EMA of the typical price plus/minus ``nbdev`` ATRs."""
    atr_lookback = max(atr_period, 1)
    lookback = max(period - 1, atr_lookback)
    typical = (high + low + close) / 3.0
    middle = ema(typical, period, lookback - (period - 1))
    width = atr(high, low, close, atr_period, lookback - atr_lookback)
    band = width * nbdev
    return middle + band, middle, middle - band


@kernel
def supertrend(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, multiplier: float
) -> tuple[FloatArray, FloatArray]:
    """SuperTrend line and trend (+1 long, -1 short); the first bar is seeded long."""
    # The ATR is read at bar i just before the line is written there: one array serves both.
    n = high.shape[0]
    line = atr(high, low, close, period, 0)
    line[: min(period, n)] = NAN
    trend = nan_head(n, period)
    if period >= n:
        return line, trend
    width = line
    median = (high[period] + low[period]) / 2.0
    band = multiplier * width[period]
    final_upper = median + band
    final_lower = median - band
    uptrend = True
    previous_close = close[period]
    line[period] = final_lower
    trend[period] = 1.0
    for i in range(period + 1, n):
        median = (high[i] + low[i]) / 2.0
        band = multiplier * width[i]
        basic_upper = median + band
        basic_lower = median - band
        # Each band ratchets toward price until a close on its far side releases it.
        if basic_upper < final_upper or previous_close > final_upper:
            final_upper = basic_upper
        if basic_lower > final_lower or previous_close < final_lower:
            final_lower = basic_lower
        if uptrend:
            if close[i] < final_lower:
                uptrend = False
        elif close[i] > final_upper:
            uptrend = True
        line[i] = final_lower if uptrend else final_upper
        trend[i] = 1.0 if uptrend else -1.0
        previous_close = close[i]
    return line, trend
