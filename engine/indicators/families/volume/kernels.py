"""Volume kernels (TA-Lib group "Volume Indicators")."""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel, kernel
from engine.indicators.families.overlap.kernels_ma import sma

NAN = np.nan


@exact_kernel
def ad(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> FloatArray:
    """Chaikin accumulation/distribution line."""
    n = high.shape[0]
    out = new_array(n)
    total = 0.0
    for i in range(n):
        span = high[i] - low[i]
        if span > 0.0:
            total += (((close[i] - low[i]) - (high[i] - close[i])) / span) * volume[i]
        out[i] = total
    return out


@kernel
def adosc(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, fast: int, slow: int
) -> FloatArray:
    """Chaikin oscillator: fast minus slow EMA of the A/D line, both seeded with its first value.

    TA-Lib seeds these EMAs with the first A/D value (not a simple average).
    """
    n = high.shape[0]
    lookback = max(fast, slow) - 1
    out = new_array(n)
    out[: min(lookback, n)] = NAN
    if lookback >= n:
        return out
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    total = 0.0
    fast_ema = 0.0
    slow_ema = 0.0
    for i in range(n):
        span = high[i] - low[i]
        if span > 0.0:
            total += (((close[i] - low[i]) - (high[i] - close[i])) / span) * volume[i]
        if i == 0:
            fast_ema = total
            slow_ema = total
        else:
            fast_ema = k_fast * total + (1.0 - k_fast) * fast_ema
            slow_ema = k_slow * total + (1.0 - k_slow) * slow_ema
        if i >= lookback:
            out[i] = fast_ema - slow_ema
    return out


@kernel
def cmf(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, period: int
) -> FloatArray:
    """Chaikin money flow: summed money-flow volume over summed volume."""
    # A ring of the last ``period`` flows replaces a full-length flow array.
    n = high.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    ring = np.empty(period)
    slot = 0
    flow_sum = 0.0
    volume_sum = 0.0
    for i in range(n):
        flow = _flow_at(high, low, close, volume, i)
        ring[slot] = flow
        slot = slot + 1 if slot + 1 < period else 0
        flow_sum += flow
        volume_sum += volume[i]
        if i >= period - 1:
            out[i] = 0.0 if volume_sum == 0.0 else flow_sum / volume_sum
            flow_sum -= ring[slot]
            volume_sum -= volume[i - period + 1]
    return out


@kernel
def _flow_at(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, i: int
) -> float:
    """Money-flow volume of bar ``i``: close-location value times volume, 0 with no range."""
    span = high[i] - low[i]
    if span > 0.0:
        return float((((close[i] - low[i]) - (high[i] - close[i])) / span) * volume[i])
    return 0.0


@kernel
def efi(close: FloatArray, volume: FloatArray, period: int) -> FloatArray:
    """Elder's force index: EMA of price change times volume, seeded by a plain mean."""
    n = close.shape[0]
    out = new_array(n)
    out[: min(period, n)] = NAN
    if period >= n:
        return out
    k = 2.0 / (period + 1)
    value = 0.0
    for i in range(1, period + 1):
        value += (close[i] - close[i - 1]) * volume[i]
    value /= period
    out[period] = value
    for i in range(period + 1, n):
        value = value * (1.0 - k) + ((close[i] - close[i - 1]) * volume[i]) * k
        out[i] = value
    return out


@kernel
def marketfi(high: FloatArray, low: FloatArray, volume: FloatArray) -> FloatArray:
    """Market facilitation index: range per unit of volume (0 without volume)."""
    n = high.shape[0]
    out = new_array(n)
    for i in range(n):
        out[i] = 0.0 if volume[i] == 0.0 else (high[i] - low[i]) / volume[i]
    return out


@kernel
def volume_index(close: FloatArray, volume: FloatArray, positive: bool) -> FloatArray:
    """Positive (or negative) volume index, from 1000, moving only when volume rises (falls)."""
    n = close.shape[0]
    out = new_array(n)
    if n == 0:
        return out
    value = 1000.0
    out[0] = value
    for i in range(1, n):
        moved = volume[i] > volume[i - 1] if positive else volume[i] < volume[i - 1]
        if moved and close[i - 1] != 0.0:
            value += value * (close[i] - close[i - 1]) / close[i - 1]
        out[i] = value
    return out


@kernel
def obv(close: FloatArray, volume: FloatArray) -> FloatArray:
    """On-balance volume, starting from the first bar's volume."""
    n = close.shape[0]
    out = new_array(n)
    if n == 0:
        return out
    total = volume[0]
    out[0] = total
    for i in range(1, n):
        if close[i] > close[i - 1]:
            total += volume[i]
        elif close[i] < close[i - 1]:
            total -= volume[i]
        out[i] = total
    return out


@exact_kernel
def pvt(close: FloatArray, volume: FloatArray) -> FloatArray:
    """Price-volume trend: cumulative relative price change times volume."""
    n = close.shape[0]
    out = new_array(n)
    total = 0.0
    if n:
        out[0] = 0.0
    for i in range(1, n):
        if close[i - 1] != 0.0:
            total += (close[i] - close[i - 1]) / close[i - 1] * volume[i]
        out[i] = total
    return out


@kernel
def rvol(volume: FloatArray, period: int) -> FloatArray:
    """Relative volume: volume over the mean volume of the previous ``period`` bars."""
    # The ratio overwrites the average in place, newest bar first, so each bar still reads
    # an unmodified average behind it.
    n = volume.shape[0]
    out = sma(volume, period, 0)
    for i in range(n - 1, period - 1, -1):
        previous = out[i - 1]
        out[i] = 0.0 if previous == 0.0 else volume[i] / previous
    out[: min(period, n)] = NAN
    return out


@exact_kernel
def vwap(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> FloatArray:
    """Volume-weighted average typical price, cumulative from the first bar.

    0 until some volume has traded, as TA-Lib 0.8.1 (not the bar's typical price).
    """
    n = high.shape[0]
    out = new_array(n)
    weighted = 0.0
    total = 0.0
    for i in range(n):
        typical = (high[i] + low[i] + close[i]) / 3.0
        weighted += typical * volume[i]
        total += volume[i]
        out[i] = 0.0 if total == 0.0 else weighted / total
    return out
