"""Directional-movement family (TA-Lib group "Momentum Indicators"): DM, DI, DX, ADX, ...

All of them smooth with Wilder's rule ``prev - prev / period + new``, first summing
``period - 1`` raw values, exactly as TA-Lib's C code does.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel
from engine.indicators.families.volatility.kernels import true_range_at

NAN = np.nan


@kernel
def moves(high: FloatArray, low: FloatArray, i: int) -> tuple[float, float]:
    """Return (+DM, -DM) of bar ``i`` against bar ``i - 1``."""
    up = high[i] - high[i - 1]
    down = low[i - 1] - low[i]
    plus = up if (up > 0 and up > down) else 0.0
    minus = down if (down > 0 and down > up) else 0.0
    return plus, minus


@kernel
def dm(high: FloatArray, low: FloatArray, period: int, want_plus: bool) -> FloatArray:
    """Smoothed +DM or -DM; with ``period == 1`` the raw movement."""
    n = high.shape[0]
    out = nan_head(n, 1 if period <= 1 else period - 1)
    if period <= 1:
        for i in range(1, n):
            plus, minus = moves(high, low, i)
            out[i] = plus if want_plus else minus
        return out
    if period - 1 >= n:
        return out
    total = 0.0
    for i in range(1, period):
        plus, minus = moves(high, low, i)
        total += plus if want_plus else minus
    out[period - 1] = total
    # ``prev * (1 - 1/p) + new``: one fused multiply-add on the chain instead of a divide
    # and two adds (within an ulp per step of TA-Lib's ``prev - prev / p + new``).
    keep = (period - 1.0) / period
    for i in range(period, n):
        plus, minus = moves(high, low, i)
        total = total * keep + (plus if want_plus else minus)
        out[i] = total
    return out


@kernel
def directional(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, mode: int
) -> FloatArray:
    """+DI (mode 0), -DI (1), DX (2) or ADX (3) in one pass over Wilder-smoothed sums.

    +DM, -DM and the true range are summed raw over bars 1..period-1, then smoothed with
    ``prev - prev / period + new``; ADX is seeded by the mean of its first ``period`` DX.
    A DX with a ~0 range or DI sum is skipped by ADX and repeats the last DX in DX.
    """
    n = high.shape[0]
    first = 2 * period - 1 if mode == 3 else period
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    plus_total = 0.0
    minus_total = 0.0
    tr_total = 0.0
    for i in range(1, period):
        plus, minus = moves(high, low, i)
        plus_total += plus
        minus_total += minus
        tr_total += true_range_at(high, low, close, i)
    last_dx = 0.0
    adx_sum = 0.0
    keep = (period - 1.0) / period  # one FMA per smoothing step, as in ``dm``
    for i in range(period, n):
        plus, minus = moves(high, low, i)
        plus_total = plus_total * keep + plus
        minus_total = minus_total * keep + minus
        tr_total = tr_total * keep + true_range_at(high, low, close, i)
        if mode < 2:
            move = plus_total if mode == 0 else minus_total
            out[i] = 0.0 if tr_total == 0.0 else 100.0 * (move / tr_total)
            continue
        value = dx_value(plus_total, minus_total, tr_total, -1.0)
        if mode == 2:
            if value >= 0.0:
                last_dx = value
            out[i] = last_dx
        elif i < first:
            if value >= 0.0:
                adx_sum += value
        elif i == first:
            if value >= 0.0:
                adx_sum += value
            adx_sum /= period
            out[i] = adx_sum
        else:
            if value >= 0.0:
                adx_sum = (adx_sum * (period - 1) + value) / period
            out[i] = adx_sum
    return out


@kernel
def di(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, want_plus: bool
) -> FloatArray:
    """+DI or -DI: 100 * smoothed DM / smoothed true range (0 when the range is ~0).

    With ``period == 1`` TA-Lib returns the raw ratio without the factor 100.
    """
    n = high.shape[0]
    if period > 1:
        return directional(high, low, close, period, 0 if want_plus else 1)
    out = nan_head(n, 1)
    for i in range(1, n):
        plus, minus = moves(high, low, i)
        tr = true_range_at(high, low, close, i)
        move = plus if want_plus else minus
        out[i] = 0.0 if tr == 0.0 else move / tr
    return out


@kernel
def dx_value(plus: float, minus: float, tr: float, fallback: float) -> float:
    """DX from smoothed parts; ``fallback`` when the range or the DI sum is ~0."""
    if tr == 0.0:
        return fallback
    minus_di = 100.0 * (minus / tr)
    plus_di = 100.0 * (plus / tr)
    total = minus_di + plus_di
    if total == 0.0:
        return fallback
    return 100.0 * (abs(minus_di - plus_di) / total)


@kernel
def dx(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Directional movement index."""
    return directional(high, low, close, period, 2)


@kernel
def adx(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Average directional index."""
    return directional(high, low, close, period, 3)


@kernel
def adxr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """ADX rating: the mean of ADX now and ``period - 1`` bars ago."""
    line = directional(high, low, close, period, 3)
    n = high.shape[0]
    out = nan_head(n, 3 * period - 2)
    for i in range(3 * period - 2, n):
        out[i] = (line[i] + line[i - period + 1]) / 2.0
    return out


@kernel
def _aroon_scan(
    high: FloatArray, low: FloatArray, period: int, down: FloatArray, up: FloatArray
) -> None:
    """Aroon from the indices of the highest high and lowest low over ``period + 1`` bars.

    Ties go to the latest bar. With an empty ``down`` the oscillator (up - down) is written
    to ``up``; otherwise both lines. Outputs are written directly, with no index arrays.
    """
    n = high.shape[0]
    factor = 100.0 / period
    both = down.shape[0] > 0
    hi = -1
    lo = -1
    highest = 0.0
    lowest = 0.0
    for today in range(period, n):
        trailing = today - period
        if lo < trailing:
            lo = trailing
            lowest = low[lo]
            for i in range(lo + 1, today + 1):
                if low[i] <= lowest:
                    lo = i
                    lowest = low[i]
        elif low[today] <= lowest:
            lo = today
            lowest = low[today]
        if hi < trailing:
            hi = trailing
            highest = high[hi]
            for i in range(hi + 1, today + 1):
                if high[i] >= highest:
                    hi = i
                    highest = high[i]
        elif high[today] >= highest:
            hi = today
            highest = high[today]
        if both:
            up[today] = factor * (period - (today - hi))
            down[today] = factor * (period - (today - lo))
        else:
            up[today] = factor * (float(hi) - float(lo))


@kernel
def aroon(high: FloatArray, low: FloatArray, period: int) -> tuple[FloatArray, FloatArray]:
    """Aroon down and up: 100 * (period - bars since the extreme) / period."""
    n = high.shape[0]
    down = nan_head(n, period)
    up = nan_head(n, period)
    _aroon_scan(high, low, period, down, up)
    return down, up


@kernel
def aroonosc(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """Aroon oscillator: Aroon up minus Aroon down."""
    out = nan_head(high.shape[0], period)
    _aroon_scan(high, low, period, np.empty(0), out)
    return out


@kernel
def vortex(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray]:
    """Vortex indicator: sums of |high - previous low| and |low - previous high| over TR."""
    n = high.shape[0]
    plus_out = nan_head(n, period)
    minus_out = nan_head(n, period)
    if period >= n:
        return plus_out, minus_out
    plus_total = 0.0
    minus_total = 0.0
    tr_total = 0.0
    for i in range(1, n):
        # Unsigned indices: numba then skips its negative-index wrap-around selects.
        u = np.uint64(i)
        back = np.uint64(i - 1)
        plus_total += abs(high[u] - low[back])
        minus_total += abs(low[u] - high[back])
        tr_total += true_range_at(high, low, close, i)
        if i >= period:
            if tr_total == 0.0:
                plus_out[u] = 0.0
                minus_out[u] = 0.0
            else:
                plus_out[u] = plus_total / tr_total
                minus_out[u] = minus_total / tr_total
            old = np.uint64(i - period + 1)
            older = np.uint64(i - period)
            plus_total -= abs(high[old] - low[older])
            minus_total -= abs(low[old] - high[older])
            tr_total -= true_range_at(high, low, close, i - period + 1)
    return plus_out, minus_out
