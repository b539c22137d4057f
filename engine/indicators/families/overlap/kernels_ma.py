"""Moving-average kernels shared by most other indicators.

Every kernel takes ``start``: the first index of ``x`` holding data (earlier entries are
NaN warm-up of an upstream stage) and writes NaN until its own warm-up has passed. Seeding
follows TA-Lib's default compatibility mode: exponential averages start from the simple
mean of their first ``period`` values and TA-Lib's unstable period is 0.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel, kernel
from engine.indicators.families.overlap.kernels_kama import kama as kama  # one module of its own
from engine.indicators.kernels_window import wma_reanchor_interval, wma_sums

NAN = np.nan


@kernel
def sma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Simple moving average; first value at ``start + period - 1``.

    The mean multiplies by ``1 / period``: a divide per bar was the loop's bottleneck, and
    the result moves by at most an ulp, far inside parity tolerance. Unsigned indices let
    numba skip its wrap-around selects.
    """
    n = x.shape[0]
    first = start + period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    total = 0.0
    for i in range(start, first):
        total += x[i]
    scale = 1.0 / period
    for i in range(first, n):
        total += x[np.uint64(i)]
        out[np.uint64(i)] = total * scale
        total -= x[np.uint64(i - period + 1)]
    return out


@kernel
def ema_k(x: FloatArray, period: int, k: float, start: int) -> FloatArray:
    """Exponential average with factor ``k`` seeded by the mean of the first ``period`` values."""
    n = x.shape[0]
    first = start + period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    prev = 0.0
    for i in range(start, first + 1):
        prev += x[i]
    prev /= period
    out[first] = prev
    for i in range(first + 1, n):
        prev = prev * (1.0 - k) + x[i] * k
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


@exact_kernel
def wma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Linearly weighted moving average (weights 1..period, newest heaviest).

    Compiled without FMA contraction: fusing ``weighted += value * period`` would put the
    multiply's latency on the running sum's chain (1.7 ms instead of 1.0 on 1M bars).
    """
    n = x.shape[0]
    first = start + period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first >= n:
        return out
    divider = period * (period + 1) / 2.0
    weighted = 0.0
    plain = 0.0
    for i in range(start, first):
        weighted += x[i] * (i - start + 1)
        plain += x[i]
    interval = wma_reanchor_interval(period)
    countdown = interval
    for i in range(first, n):
        # Unsigned indices: numba then skips its negative-index wrap-around select.
        value = x[np.uint64(i)]
        if countdown == 0:
            countdown = interval
            weighted, plain = wma_sums(x, i - period + 1, period)
        else:
            weighted += value * period
            plain += value
        countdown -= 1
        out[np.uint64(i)] = weighted / divider
        # Dropping one weight from every term is the same as subtracting the plain sum.
        weighted -= plain
        plain -= x[np.uint64(i - period + 1)]
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
    out = new_array(n)
    out[: min(first, n)] = NAN
    values = np.zeros(depth)
    counts = np.zeros(depth, dtype=np.int64)
    # Seeding: stages fill one after another, so a bar may stop at any stage.
    for i in range(start, min(first + 1, n)):
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
                values[j] = values[j] * (1.0 - k) + v * k
            v = values[j]
        if i >= first:
            total = 0.0
            for j in range(depth):
                total += weights[j] * values[j]
            out[i] = total
    if first + 1 < n:
        _cascade_steady(x, k, weights, values, first + 1, out)
    return out


@kernel
def _cascade_steady(
    x: FloatArray, k: float, weights: FloatArray, values: FloatArray, begin: int, out: FloatArray
) -> None:
    """Every stage seeded: the same updates with the stages in registers, not an array.

    Keeping ``values[j]`` in memory puts a store-to-load round trip on the recursive chain
    of every stage; named scalars for the depths TA-Lib uses (2, 3, 6) remove it.
    """
    n = x.shape[0]
    depth = values.shape[0]
    if depth == 2:
        e1, e2 = values[0], values[1]
        w1, w2 = weights[0], weights[1]
        for i in range(begin, n):
            e1 = e1 * (1.0 - k) + x[i] * k
            e2 = e2 * (1.0 - k) + e1 * k
            total = 0.0
            total += w1 * e1
            total += w2 * e2
            out[i] = total
    elif depth == 3:
        e1, e2, e3 = values[0], values[1], values[2]
        w1, w2, w3 = weights[0], weights[1], weights[2]
        for i in range(begin, n):
            e1 = e1 * (1.0 - k) + x[i] * k
            e2 = e2 * (1.0 - k) + e1 * k
            e3 = e3 * (1.0 - k) + e2 * k
            total = 0.0
            total += w1 * e1
            total += w2 * e2
            total += w3 * e3
            out[i] = total
    elif depth == 6:
        e1, e2, e3, e4, e5, e6 = values[0], values[1], values[2], values[3], values[4], values[5]
        w1, w2, w3, w4, w5, w6 = (
            weights[0],
            weights[1],
            weights[2],
            weights[3],
            weights[4],
            weights[5],
        )
        for i in range(begin, n):
            e1 = e1 * (1.0 - k) + x[i] * k
            e2 = e2 * (1.0 - k) + e1 * k
            e3 = e3 * (1.0 - k) + e2 * k
            e4 = e4 * (1.0 - k) + e3 * k
            e5 = e5 * (1.0 - k) + e4 * k
            e6 = e6 * (1.0 - k) + e5 * k
            total = 0.0
            total += w1 * e1
            total += w2 * e2
            total += w3 * e3
            total += w4 * e4
            total += w5 * e5
            total += w6 * e6
            out[i] = total
    else:
        for i in range(begin, n):
            v = x[i]
            for j in range(depth):
                values[j] = values[j] * (1.0 - k) + v * k
                v = values[j]
            total = 0.0
            for j in range(depth):
                total += weights[j] * values[j]
            out[i] = total


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
    """Triangular moving average: a simple average of a simple average, in one pass.

    The inner average feeds the outer running sum as it is produced; a ring keeps the
    inner values the outer sum must drop. Both sums add, emit, then drop, as :func:`sma`;
    the means multiply by reciprocals (two divides per bar were the bottleneck; an ulp of
    difference, far inside parity tolerance).
    """
    inner_period = (period + 1) // 2
    outer_period = inner_period if period % 2 == 1 else period // 2 + 1
    n = x.shape[0]
    first_inner = start + inner_period - 1
    first = first_inner + outer_period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    if first_inner >= n:
        return out
    inner_total = 0.0
    for i in range(start, first_inner):
        inner_total += x[i]
    ring = np.empty(outer_period)
    slot = 0
    outer_total = 0.0
    inner_scale = 1.0 / inner_period
    outer_scale = 1.0 / outer_period
    for i in range(first_inner, n):
        inner_total += x[np.uint64(i)]
        inner = inner_total * inner_scale
        inner_total -= x[np.uint64(i - inner_period + 1)]
        ring[slot] = inner
        slot = slot + 1 if slot + 1 < outer_period else 0
        outer_total += inner
        if i >= first:
            out[np.uint64(i)] = outer_total * outer_scale
            outer_total -= ring[slot]
    return out


@exact_kernel
def wma_inplace(buf: FloatArray, period: int, start: int) -> None:
    """Replace ``buf[start:]`` by its weighted average, with :func:`wma`'s exact arithmetic.

    Chained averages (HMA, COPPOCK) reuse one array this way: a fresh full-length
    temporary costs more in first-touch page faults than the pass itself. A ring keeps the
    raw values the running sums must drop.
    """
    n = buf.shape[0]
    first = start + period - 1
    if first >= n:
        buf[start:] = NAN
        return
    divider = period * (period + 1) / 2.0
    ring = np.empty(period)
    weighted = 0.0
    plain = 0.0
    for i in range(start, first):
        value = buf[i]
        ring[i - start] = value
        weighted += value * (i - start + 1)
        plain += value
    slot = period - 1
    interval = wma_reanchor_interval(period)
    countdown = interval
    for i in range(first, n):
        value = buf[i]
        ring[slot] = value
        if countdown == 0:
            # Re-sum the window (oldest first, in the ring after ``slot``); see :func:`wma`.
            countdown = interval
            weighted = 0.0
            plain = 0.0
            for k in range(period - 1, -1, -1):  # additions only, as :func:`wma_sums`
                plain += ring[(slot + 1 + k) % period]
                weighted += plain
        else:
            weighted += value * period
            plain += value
        countdown -= 1
        buf[i] = weighted / divider
        weighted -= plain
        slot = slot + 1 if slot + 1 < period else 0
        plain -= ring[slot]
    buf[start:first] = NAN


@kernel
def ema_inplace(buf: FloatArray, period: int, k: float, start: int) -> None:
    """Replace ``buf[start:]`` by its EMA, with :func:`ema_k`'s exact arithmetic."""
    n = buf.shape[0]
    first = start + period - 1
    if first >= n:
        buf[start:] = NAN
        return
    prev = 0.0
    for i in range(start, first + 1):
        prev += buf[i]
    prev /= period
    buf[start:first] = NAN
    buf[first] = prev
    for i in range(first + 1, n):
        prev = prev * (1.0 - k) + buf[i] * k
        buf[i] = prev


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


@exact_kernel
def hma(x: FloatArray, period: int, start: int) -> FloatArray:
    """Hull moving average ``WMA(2 * WMA(x, p / 2) - WMA(x, p), sqrt(p))``, in one array.

    An exact kernel like the WMAs it calls: numba compiles a callee first reached from a
    caller with the caller's fastmath flags, which would bring the contraction back.
    """
    half = max(period // 2, 1)
    root = max(int(math.sqrt(period)), 1)
    out = wma(x, half, start)
    _double_minus_wma(x, period, start, out)
    wma_inplace(out, root, start + period - 1)
    return out


@exact_kernel
def _double_minus_wma(x: FloatArray, period: int, start: int, buf: FloatArray) -> None:
    """``buf = 2 * buf - wma(x, period, start)`` without materialising the second WMA."""
    n = x.shape[0]
    first = start + period - 1
    buf[: min(first, n)] = NAN
    if first >= n:
        return
    divider = period * (period + 1) / 2.0
    weighted = 0.0
    plain = 0.0
    for i in range(start, first):
        weighted += x[i] * (i - start + 1)
        plain += x[i]
    trailing = start
    interval = wma_reanchor_interval(period)
    countdown = interval
    for i in range(first, n):
        value = x[i]
        if countdown == 0:
            countdown = interval  # as :func:`wma`
            weighted, plain = wma_sums(x, i - period + 1, period)
        else:
            weighted += value * period
            plain += value
        countdown -= 1
        buf[i] = 2.0 * buf[i] - weighted / divider
        weighted -= plain
        plain -= x[trailing]
        trailing += 1


@kernel
def zlema(x: FloatArray, period: int, start: int) -> FloatArray:
    """Zero-lag EMA: an EMA of ``2 * x[t] - x[t - lag]`` with ``lag = (period - 1) // 2``."""
    lag = (period - 1) // 2
    n = x.shape[0]
    out = new_array(n)
    out[: min(start + lag, n)] = NAN
    for i in range(start + lag, n):
        out[i] = 2.0 * x[i] - x[i - lag]
    ema_inplace(out, period, 2.0 / (period + 1), start + lag)
    return out


@kernel
def clamp_periods(periods: FloatArray, low: int, high: int) -> npt.NDArray[np.int64]:
    """MAVP's per-bar periods: truncated toward zero and clamped to ``[low, high]``."""
    n = periods.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        value = math.trunc(periods[i]) if periods[i] == periods[i] else low
        out[i] = min(max(value, low), high)
    return out


@kernel
def scatter_rows(
    out: FloatArray, line: FloatArray, chosen: npt.NDArray[np.int64], period: int, begin: int
) -> None:
    """``out[i] = line[i]`` wherever bar ``i >= begin`` chose ``period``."""
    for i in range(begin, out.shape[0]):
        if chosen[i] == period:
            out[i] = line[i]


@kernel
def mavp_sma(
    x: FloatArray,
    chosen: npt.NDArray[np.int64],
    periods: npt.NDArray[np.int64],
    begin: int,
    out: FloatArray,
) -> None:
    """MAVP's simple-average legs for all distinct ``periods`` (each > 1) in one pass.

    Each period keeps the running sum :func:`sma` would (started at ``begin - period +
    1``, so its first value lands on ``begin``); a bar reads the sum of the period it chose.
    One pass updating every sum is independent work the CPU overlaps, where one pass per
    period was a latency-bound chain each.
    """
    n = x.shape[0]
    m = periods.shape[0]
    slot_of = np.full(periods.max() + 1, -1, dtype=np.int64)
    totals = np.zeros(m)
    for j in range(m):
        period = periods[j]
        slot_of[period] = j
        total = 0.0
        for i in range(begin - period + 1, begin):
            total += x[i]
        totals[j] = total
    for i in range(begin, n):
        value = x[np.uint64(i)]
        period = chosen[np.uint64(i)]
        if period < slot_of.shape[0] and slot_of[period] >= 0:
            out[np.uint64(i)] = (totals[slot_of[period]] + value) / period
        for j in range(m):
            totals[j] = (totals[j] + value) - x[np.uint64(i - periods[j] + 1)]


@kernel
def ema_oscillator(x: FloatArray, fast: int, slow: int, percent: bool) -> FloatArray:
    """APO/PPO/PVO with exponential legs: both EMAs in one pass, no leg arrays.

    Each leg is :func:`ema` (seeded by its own first mean); the output starts where the
    slower leg does. ``percent`` gives ``(fast - slow) / slow * 100`` (0 if ``|slow| <
    1e-14``), as TA-Lib's PPO.
    """
    if slow < fast:
        fast, slow = slow, fast
    n = x.shape[0]
    out = new_array(n)
    out[: min(slow - 1, n)] = NAN
    if slow - 1 >= n:
        return out
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    fast_value = 0.0
    for i in range(fast):
        fast_value += x[i]
    fast_value /= fast
    slow_value = 0.0
    for i in range(slow):
        slow_value += x[i]
    slow_value /= slow
    for i in range(fast, slow):
        fast_value = fast_value * (1.0 - k_fast) + x[i] * k_fast
    for i in range(slow - 1, n):
        if i >= slow:
            fast_value = fast_value * (1.0 - k_fast) + x[i] * k_fast
            slow_value = slow_value * (1.0 - k_slow) + x[i] * k_slow
        if not percent:
            out[i] = fast_value - slow_value
        elif abs(slow_value) < 1e-14:
            out[i] = 0.0
        else:
            out[i] = ((fast_value - slow_value) / slow_value) * 100.0
    return out


@kernel
def macd_sma(
    x: FloatArray, fast: int, slow: int, signal: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACDEXT with simple averages on every leg (its default), in one pass.

    Replays the composite exactly: the fast SMA starts where it ends with the slow one
    (bar ``slow - 1``), the signal SMA runs over the MACD line from there; each running
    sum adds, emits, then drops its oldest input, as :func:`sma` does. ``fast <= slow``.
    """
    n = x.shape[0]
    begin = slow - 1 + signal - 1
    line = nan_head(n, begin)
    signal_out = nan_head(n, begin)
    hist = nan_head(n, begin)
    if slow - 1 >= n:
        return line, signal_out, hist
    fast_total = 0.0
    for i in range(slow - fast, slow - 1):
        fast_total += x[i]
    slow_total = 0.0
    for i in range(slow - 1):
        slow_total += x[i]
    ring = np.empty(signal)  # the MACD values the signal sum must drop
    slot = 0
    fast_scale = 1.0 / fast  # reciprocals, as in ``sma``
    slow_scale = 1.0 / slow
    signal_scale = 1.0 / signal
    signal_total = 0.0
    for i in range(slow - 1, n):
        u = np.uint64(i)
        value = x[u]
        fast_total += value
        slow_total += value
        macd = fast_total * fast_scale - slow_total * slow_scale
        fast_total -= x[np.uint64(i - fast + 1)]
        slow_total -= x[np.uint64(i - slow + 1)]
        ring[slot] = macd
        slot = slot + 1 if slot + 1 < signal else 0
        signal_total += macd
        if i >= begin:
            average = signal_total * signal_scale
            signal_total -= ring[slot]
            line[u] = macd
            signal_out[u] = average
            hist[u] = macd - average
    return line, signal_out, hist
