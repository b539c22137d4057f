"""Statistic kernels (TA-Lib group "Statistic Functions"): variance, regression, ...

Rolling variance is computed around an anchor that is re-centred on the window's mean every
few periods. The textbook ``E[x^2] - E[x]^2`` loses about ten digits on prices near
1e4 with small windows; TA-Lib 0.8 is accurate there, and so must we be.
"""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import BETA_FRESH_SUMS, FloatArray
from engine.indicators._jit import exact_kernel, kernel
from engine.indicators.kernels_window import reanchor_interval

NAN = np.nan


@kernel
def anchored_sums(x: FloatArray, i: int, period: int) -> tuple[float, float, float]:
    """Return ``(anchor, Σ(x - anchor), Σ(x - anchor)²)`` over the window ending at ``i``.

    The anchor is the window's mean, so the deviation sums start exact; the kernels then
    slide them until the next `reanchor_interval`.
    """
    total = 0.0
    for k in range(i - period + 1, i + 1):
        total += x[k]
    anchor = total / period
    s1 = 0.0
    s2 = 0.0
    for k in range(i - period + 1, i + 1):
        d = x[k] - anchor
        s1 += d
        s2 += d * d
    return anchor, s1, s2


@kernel
def changes_in(x: FloatArray, i: int, period: int) -> int:
    """Return how many bars of the window ending at ``i`` differ from the bar before.

    Zero means a flat window, whose variance is exactly 0 (TA-Lib reads 0 there; sliding
    sums would leave a ~1e-20 residue, 1e-10 once square-rooted). The kernels slide the
    count: ``+ (x[i] != x[i - 1]) - (x[i - period + 1] != x[i - period])``.
    """
    count = 0
    for k in range(i - period + 2, i + 1):
        count += x[k] != x[k - 1]
    return count


@kernel
def rolling_moments(x: FloatArray, period: int, start: int, root: bool, scale: float) -> FloatArray:
    """Rolling population variance (or ``scale * stddev`` with ``root``).

    The sums run around an anchor re-centred on the window mean every few periods:
    the textbook ``E[x^2] - E[x]^2`` loses about ten digits on prices near 1e4 with small
    windows, and TA-Lib 0.8 is accurate there. A countdown (not ``i % period``) decides
    when to re-centre (see :func:`reanchor_interval`), and the means multiply by ``1 /
    period`` (an ulp from dividing, far inside parity tolerance).
    """
    n = x.shape[0]
    first = start + period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    inverse = 1.0 / period
    anchor = 0.0
    s1 = 0.0
    s2 = 0.0
    countdown = 0
    changes = changes_in(x, first, period) if first < n else 0
    for i in range(first, n):
        if countdown == 0:
            countdown = reanchor_interval(period)
            anchor, s1, s2 = anchored_sums(x, i, period)
        else:
            # Unsigned indices: numba then skips its negative-index wrap-around select.
            d_new = x[np.uint64(i)] - anchor
            d_old = x[np.uint64(i - period)] - anchor
            s1 += d_new - d_old
            s2 += d_new * d_new - d_old * d_old
        if i > first:
            changes += (x[np.uint64(i)] != x[np.uint64(i - 1)]) - (
                x[np.uint64(i - period + 1)] != x[np.uint64(i - period)]
            )
        countdown -= 1
        out[np.uint64(i)] = _moment(s1, s2, inverse, root, scale) if changes else 0.0
    return out


@kernel
def _moment(s1: float, s2: float, inverse: float, root: bool, scale: float) -> float:
    m1 = s1 * inverse
    variance = s2 * inverse - m1 * m1
    variance = variance if variance > 0.0 else 0.0
    return float(np.sqrt(variance) * scale) if root else variance


@kernel
def rolling_var(x: FloatArray, period: int, start: int) -> FloatArray:
    """Population variance over the last ``period`` values."""
    return rolling_moments(x, period, start, False, 1.0)


@kernel
def stddev(x: FloatArray, period: int, nbdev: float, start: int) -> FloatArray:
    """Population standard deviation times ``nbdev``."""
    return rolling_moments(x, period, start, True, nbdev)


@kernel
def bbands_sma(
    x: FloatArray, period: int, up: float, down: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands around a simple average, fused into one pass.

    The middle band is the running-sum SMA (as the ``sma`` kernel computes it) and the
    deviation uses the anchored sums of :func:`rolling_moments`.
    """
    n = x.shape[0]
    first = period - 1
    upper = new_array(n)
    middle = new_array(n)
    lower = new_array(n)
    stop = min(first, n)
    upper[:stop] = NAN
    middle[:stop] = NAN
    lower[:stop] = NAN
    if first >= n:
        return upper, middle, lower
    total = 0.0
    for i in range(first):
        total += x[i]
    anchor = 0.0
    s1 = 0.0
    s2 = 0.0
    countdown = 0
    scale = 1.0 / period  # reciprocal means, as in ``sma``
    changes = changes_in(x, first, period)
    for i in range(first, n):
        total += x[np.uint64(i)]
        mean = total * scale
        total -= x[np.uint64(i - period + 1)]
        if countdown == 0:
            countdown = reanchor_interval(period)
            anchor, s1, s2 = anchored_sums(x, i, period)
        else:
            d_new = x[np.uint64(i)] - anchor
            d_old = x[np.uint64(i - period)] - anchor
            s1 += d_new - d_old
            s2 += d_new * d_new - d_old * d_old
        if i > first:
            changes += (x[np.uint64(i)] != x[np.uint64(i - 1)]) - (
                x[np.uint64(i - period + 1)] != x[np.uint64(i - period)]
            )
        countdown -= 1
        m1 = s1 * scale
        variance = s2 * scale - m1 * m1
        # A flat window has no spread at all (see :func:`changes_in`).
        deviation = np.sqrt(variance) if variance > 0.0 and changes else 0.0
        middle[i] = mean
        upper[i] = mean + up * deviation
        lower[i] = mean - down * deviation
    return upper, middle, lower


@kernel
def var(x: FloatArray, period: int) -> FloatArray:
    """Population variance (TA-Lib ignores VAR's ``nbdev``)."""
    if period == 1:
        return np.zeros(x.shape[0])
    return rolling_var(x, period, 0)


@kernel
def linreg(x: FloatArray, period: int, mode: int) -> FloatArray:
    """Least-squares line over the last ``period`` values, TA-Lib style.

    ``mode``: 0 value at the newest bar (LINEARREG), 1 slope, 2 intercept, 3 angle in
    degrees, 4 one-bar-ahead forecast (TSF). As in TA-Lib, ``x`` runs backwards (0 = newest)
    in the sums and the intercept refers to that axis. The sums are updated in O(1) around
    an anchor and recomputed exactly every few periods (:func:`reanchor_interval`), so
    rounding cannot drift.
    """
    n = x.shape[0]
    first = period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    sum_x = period * (period - 1) * 0.5
    sum_xx = period * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_xx
    inverse = 1.0 / divisor
    scale = 1.0 / period
    sum_y = 0.0
    sum_xy = 0.0
    anchor = 0.0
    countdown = 0
    for t in range(first, n):
        if countdown == 0:
            # Sums are kept around an anchor (the slope is shift-invariant) to stay small.
            countdown = reanchor_interval(period)
            anchor = x[t]
            sum_y = 0.0
            sum_xy = 0.0
            for i in range(period):
                value = x[t - i] - anchor
                sum_y += value
                sum_xy += i * value
        else:
            # Every value ages by one bar: add the old plain sum, drop the leaving value.
            # Unsigned indices: numba then skips its negative-index wrap-around select.
            leaving = x[np.uint64(t - period)]
            sum_xy += sum_y - period * (leaving - anchor)
            sum_y += x[np.uint64(t)] - leaving
        countdown -= 1
        slope = (period * sum_xy - sum_x * sum_y) * inverse
        intercept = (sum_y - slope * sum_x) * scale + anchor
        if mode == 0:
            out[t] = intercept + slope * (period - 1)
        elif mode == 1:
            out[t] = slope
        elif mode == 2:
            out[t] = intercept
        elif mode == 3:
            out[t] = math.atan(slope) * (180.0 / math.pi)
        else:
            out[t] = intercept + slope * period
    return out


@exact_kernel
def beta(x: FloatArray, y: FloatArray, period: int) -> FloatArray:
    """Beta of ``y``'s one-bar returns regressed on ``x``'s over ``period`` returns.

    Running sums over rings of the last ``period`` returns. When every return of one input
    in the window is zero (a flat stretch, common on prices quoted in cents) its sums are
    reset to exactly 0: the subtractions would leave a ~1e-20 residue, and a residue in the
    denominator read as a beta of -0.94 where TA-Lib reads 0. A window of at most
    `BETA_FRESH_SUMS` returns is summed afresh at every bar (oldest first): with two
    returns the denominator is ``(x1 - x2)²`` and the running sums' carried rounding was
    a tenth of it (BETA(2) 0.109 relative from TA-Lib on EURUSD).
    """
    n = x.shape[0]
    out = nan_head(n, period)
    ring_x = np.zeros(period)
    ring_y = np.zeros(period)
    slot = 0
    s_xx = s_xy = s_x = s_y = 0.0
    moves_x = moves_y = 0  # nonzero returns in the window
    for i in range(1, n):
        u = np.uint64(i)
        back = np.uint64(i - 1)
        rx = 0.0 if x[back] == 0.0 else (x[u] - x[back]) / x[back]
        ry = 0.0 if y[back] == 0.0 else (y[u] - y[back]) / y[back]
        moves_x += rx != 0.0
        moves_y += ry != 0.0
        ring_x[slot] = rx
        ring_y[slot] = ry
        slot = slot + 1 if slot + 1 < period else 0
        s_xx += rx * rx
        s_xy += rx * ry
        s_x += rx
        s_y += ry
        if i >= period:
            if period <= BETA_FRESH_SUMS:
                s_xx = s_xy = s_x = s_y = 0.0
                for k in range(period):
                    j = slot + k if slot + k < period else slot + k - period
                    s_xx += ring_x[j] * ring_x[j]
                    s_xy += ring_x[j] * ring_y[j]
                    s_x += ring_x[j]
                    s_y += ring_y[j]
            denominator = period * s_xx - s_x * s_x
            if denominator == 0.0:
                out[u] = 0.0
            else:
                out[u] = (period * s_xy - s_x * s_y) / denominator
            old_x = ring_x[slot]
            old_y = ring_y[slot]
            s_xx -= old_x * old_x
            s_xy -= old_x * old_y
            s_x -= old_x
            s_y -= old_y
            moves_x -= old_x != 0.0
            moves_y -= old_y != 0.0
            if moves_x == 0:
                s_xx = s_x = s_xy = 0.0
            if moves_y == 0:
                s_y = s_xy = 0.0
    return out


@exact_kernel
def correl(x: FloatArray, y: FloatArray, period: int) -> FloatArray:
    """Pearson correlation over ``period`` bars (sums re-anchored for accuracy).

    Compiled without FMA contraction so a one-bar window's spread is exactly 0 (a fused
    ``s_xx - s_x * s_x * scale`` leaves a rounding residue that reads as +-1); that in
    turn allows multiplying by ``1 / period`` instead of three divides per bar.
    """
    n = x.shape[0]
    first = period - 1
    out = nan_head(n, first)
    if first >= n:
        return out
    ax = ay = 0.0
    s_x = s_y = s_xx = s_yy = s_xy = 0.0
    scale = 1.0 / period
    countdown = 0
    # A flat input has no spread: correlation 0 exactly (see :func:`changes_in`), where the
    # sliding sums' residue read as anything in -1..1.
    changes_x = changes_in(x, first, period)
    changes_y = changes_in(y, first, period)
    for t in range(first, n):
        if t > first:
            changes_x += (x[t] != x[t - 1]) - (x[t - period + 1] != x[t - period])
            changes_y += (y[t] != y[t - 1]) - (y[t - period + 1] != y[t - period])
        if countdown == 0:
            countdown = period  # a one-bar window must re-anchor every bar to read exactly 0
            ax = x[t]
            ay = y[t]
            s_x = s_y = s_xx = s_yy = s_xy = 0.0
            for i in range(t - period + 1, t + 1):
                dx = x[i] - ax
                dy = y[i] - ay
                s_x += dx
                s_y += dy
                s_xx += dx * dx
                s_yy += dy * dy
                s_xy += dx * dy
        else:
            dx = x[t] - ax
            dy = y[t] - ay
            ox = x[t - period] - ax
            oy = y[t - period] - ay
            s_x += dx - ox
            s_y += dy - oy
            s_xx += dx * dx - ox * ox
            s_yy += dy * dy - oy * oy
            s_xy += dx * dy - ox * oy
        countdown -= 1
        spread = (s_xx - s_x * s_x * scale) * (s_yy - s_y * s_y * scale)
        r = (s_xy - s_x * s_y * scale) / math.sqrt(spread) if spread > 0.0 else 0.0
        out[t] = min(max(r, -1.0), 1.0) if changes_x and changes_y else 0.0
    return out


@kernel
def avgdev(x: FloatArray, period: int) -> FloatArray:
    """Mean absolute deviation from the ``period``-bar mean.

    Each bar re-sums its window in order and divides by the period, as TA-Lib does; a
    running total drifts over a long series and left ~1e-13 where a flat window is 0.
    """
    n = x.shape[0]
    out = nan_head(n, period - 1)
    for t in range(period - 1, n):
        total = 0.0
        for k in range(t - period + 1, t + 1):
            total += x[k]
        mean = total / period
        deviation = 0.0
        for k in range(t - period + 1, t + 1):
            deviation += abs(x[k] - mean)
        out[t] = deviation / period
    return out


@kernel
def percentile(x: FloatArray, period: int, percent: float) -> FloatArray:
    """Nearest-rank percentile of the last ``period`` values, via a sorted window.

    Each bar removes the leaving value and inserts the new one with a single shift of the
    entries between their two positions: no temporary arrays inside the loop.
    """
    n = x.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    if period > n:
        return out
    window = np.sort(x[:period].copy())
    rank = math.ceil(percent / 100.0 * period)
    rank = min(max(rank, 1), period) - 1
    out[period - 1] = window[rank]
    for t in range(period, n):
        old = x[t - period]
        new = x[t]
        position = np.searchsorted(window, old)
        if new >= old:
            # Shift left the entries smaller than ``new`` that sit after the old slot.
            while position + 1 < period and window[position + 1] < new:
                window[position] = window[position + 1]
                position += 1
        else:
            while position > 0 and window[position - 1] > new:
                window[position] = window[position - 1]
                position -= 1
        window[position] = new
        out[t] = window[rank]
    return out


@kernel
def _count_below(window: FloatArray, value: float) -> int:
    """How many of ``window`` are below ``value`` (a zero-based view, so it vectorises)."""
    below = 0
    for i in range(window.shape[0]):
        below += window[i] < value
    return below


@kernel
def percentrank(x: FloatArray, period: int) -> FloatArray:
    """Percentage of the previous ``period`` values below the current one."""
    n = x.shape[0]
    out = new_array(n)
    out[: min(period, n)] = NAN
    for t in range(period, n):
        out[t] = 100.0 * _count_below(x[t - period : t], x[t]) / period
    return out
