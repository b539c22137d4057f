"""Volatility kernels (TA-Lib group "Volatility Indicators") and the true range they share."""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import nan_array, nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel
from engine.indicators.families.statistic.kernels import rolling_var

NAN = np.nan


@kernel
def true_range_at(high: FloatArray, low: FloatArray, close: FloatArray, i: int) -> float:
    """True range of bar ``i`` (needs ``i >= 1``), in TA-Lib's comparison order."""
    u = np.uint64(i)  # unsigned: no wrap-around selects
    previous = close[np.uint64(i - 1)]
    greatest = float(high[u] - low[u])
    up = abs(previous - high[u])
    if up > greatest:
        greatest = up
    down = abs(previous - low[u])
    if down > greatest:
        greatest = down
    return greatest


@kernel
def trange(high: FloatArray, low: FloatArray, close: FloatArray, start: int) -> FloatArray:
    """True range; the first bar has no previous close, so the output starts at bar 1."""
    n = high.shape[0]
    out = nan_head(n, start + 1)
    for i in range(start + 1, n):
        out[i] = true_range_at(high, low, close, i)
    return out


@kernel
def atr(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, start: int
) -> FloatArray:
    """Average true range: Wilder smoothing seeded by the mean of the first true ranges.

    With ``period == 1`` TA-Lib returns the true range itself.
    """
    return _atr(high, low, close, period, start, False)


@kernel
def natr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Average true range as a percentage of the close (0 where the close is ~0)."""
    return _atr(high, low, close, period, 0, True)


@kernel
def _atr(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    start: int,
    normalised: bool,
) -> FloatArray:
    """ATR, or with ``normalised`` NATR, written in one pass (no second pass for NATR)."""
    n = high.shape[0]
    if period <= 1:
        # TA-Lib returns the raw true range here, for NATR too.
        return trange(high, low, close, start)
    first = start + period
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    total = 0.0
    for i in range(start + 1, first + 1):
        total += true_range_at(high, low, close, i)
    prev = total / period
    out[first] = _scaled(prev, close[first], normalised)
    # One fused multiply-add on the recursive chain (see ``rsi``): within an ulp per step.
    inverse = 1.0 / period
    keep = (period - 1.0) / period
    for i in range(first + 1, n):
        prev = prev * keep + true_range_at(high, low, close, i) * inverse
        out[np.uint64(i)] = _scaled(prev, close[np.uint64(i)], normalised)
    return out


@kernel
def _scaled(average: float, close: float, normalised: bool) -> float:
    if not normalised:
        return average
    return 0.0 if close == 0.0 else (average / close) * 100.0


@kernel
def range_sma(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """Simple average of ``high - low`` over ``period`` bars."""
    n = high.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    total = 0.0
    scale = 1.0 / period  # as in ``sma``
    for i in range(n):
        total += high[i] - low[i]
        if i >= period - 1:
            out[i] = total * scale
            total -= high[i - period + 1] - low[i - period + 1]
    return out


@kernel
def adr(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """Average day range: the simple average of ``high - low``."""
    return range_sma(high, low, period)


@kernel
def range_ema(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """EMA of ``high - low`` seeded by the mean of the first ``period`` ranges."""
    n = high.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    if period - 1 >= n:
        return out
    k = 2.0 / (period + 1)
    value = 0.0
    for i in range(period):
        value += high[i] - low[i]
    value /= period
    out[period - 1] = value
    for i in range(period, n):
        value = value * (1.0 - k) + (high[i] - low[i]) * k
        out[i] = value
    return out


@kernel
def cvi(high: FloatArray, low: FloatArray, period: int, roc_period: int) -> FloatArray:
    """Chaikin volatility: rate of change (%) of an EMA of ``high - low``."""
    # ROC in place, newest bar first, so each bar still reads an unmodified EMA behind it.
    out = range_ema(high, low, period)
    n = high.shape[0]
    first = period - 1 + roc_period
    for i in range(n - 1, first - 1, -1):
        previous = out[i - roc_period]
        out[i] = 0.0 if previous == 0.0 else (out[i] - previous) / previous * 100.0
    out[: min(first, n)] = NAN
    return out


@kernel
def massi(high: FloatArray, low: FloatArray, fast: int, slow: int) -> FloatArray:
    """Mass index: the sum over ``slow`` bars of EMA(range) / EMA(EMA(range))."""
    n = high.shape[0]
    begin = 2 * (fast - 1)
    first = begin + slow - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    if begin >= n:
        return out
    k = 2.0 / (fast + 1)
    ratios = np.empty(slow)
    # The single EMA is :func:`range_ema`, inlined so no full-length array is needed.
    single = 0.0
    for i in range(fast):
        single += high[i] - low[i]
    single /= fast
    double = 0.0
    total = 0.0
    slot = 0
    for i in range(fast - 1, n):
        if i >= fast:
            single = single * (1.0 - k) + (high[i] - low[i]) * k
        if i < begin:
            double += single
            continue
        double = (double + single) / fast if i == begin else double * (1.0 - k) + single * k
        ratio = 1.0 if double == 0.0 else single / double
        if i - begin >= slow:
            total -= ratios[slot]
        ratios[slot] = ratio
        total += ratio
        slot = slot + 1 if slot + 1 < slow else 0
        if i >= first:
            out[i] = total
    return out


@kernel
def rvi(x: FloatArray, period: int, stddev_period: int) -> FloatArray:
    """Relative volatility index: Wilder averages of the stddev on up bars and on down bars.

    The first average is the plain mean of ``period`` values; a bar with no change feeds
    neither side, and an all-zero pair reads 50 (TA-Lib's convention).
    """
    n = x.shape[0]
    first_sigma = stddev_period - 1
    first = first_sigma + period - 1
    if first >= n:
        return nan_array(n)
    # The variance is read at bar i just before RVI is written there: one array serves both.
    out = rolling_var(x, stddev_period, 0)
    beta = (period - 1) / period
    alpha = 1.0 - beta
    up = 0.0
    down = 0.0
    for i in range(first_sigma, first + 1):
        sigma = np.sqrt(out[i])
        delta = x[i] - x[i - 1]
        if delta > 0.0:
            up += sigma
        elif delta < 0.0:
            down += sigma
    up /= period
    down /= period
    out[first_sigma:first] = NAN
    for i in range(first, n):
        if i > first:
            sigma = np.sqrt(out[i])
            delta = x[i] - x[i - 1]
            up = beta * up + alpha * (sigma if delta > 0.0 else 0.0)
            down = beta * down + alpha * (sigma if delta < 0.0 else 0.0)
        total = up + down
        out[i] = 50.0 if total == 0.0 else 100.0 * (up / total)
    return out
