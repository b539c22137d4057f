"""Rolling extremes with TA-Lib's tie rules, shared by MAX/MIN, Aroon, stochastics, ...

A new value replaces the current extreme on ties (``>=``), but a rescan after the extreme
leaves the window keeps the earliest of equal values (``>``): that is what TA-Lib does, and
it decides which index MAXINDEX/MININDEX and Aroon report.

The value-only extremes (MAX, MIN, MIDPOINT, stochastics, ...) do not need that scan: its
result is just the maximum of the window, and the scan's branches mispredict on every
rescan (5 ns a bar on a random walk, five times TA-Lib). They use a branch-free doubling
instead: ``m2[i] = max(x[i], x[i+1])``, ``m4[i] = max(m2[i], m2[i+2])``, ... up to the
largest power of two ``k <= period``; the window maximum is then ``max(mk[i - period + 1],
mk[i - k + 1])``. Every pass is a contiguous pairwise max that LLVM vectorises; done in
blocks that stay in L1, it costs ~log2(period) cheap passes. A NaN inside the data would
make the pairwise order matter, so a NaN seen by the first pass reruns the exact scan.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import copy_into, nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel, kernel

NAN = np.nan


@kernel
def rolling_max_index(x: FloatArray, period: int, start: int) -> FloatArray:
    """Index of the highest value over the last ``period`` values (NaN during warm-up)."""
    n = x.shape[0]
    out = nan_head(n, start + period - 1)
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
    out = nan_head(n, start + period - 1)
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


BLOCK = 1024  # outputs per doubling block: keeps both scratch buffers in L1


@kernel
def _pair_max(first: FloatArray, second: FloatArray, out: FloatArray, check: bool) -> bool:
    """``out = max(first, second)`` element-wise; with ``check``, True if any input is NaN.

    Kept a separate kernel on contiguous views with zero-based indices: LLVM vectorises it
    only when it can prove the indices never wrap around (negative numba indices would).
    """
    if check:
        bad = False
        for i in range(out.shape[0]):
            u = first[i]
            v = second[i]
            bad |= (u != u) | (v != v)
            out[i] = v if v > u else u
        return bad
    for i in range(out.shape[0]):
        u = first[i]
        v = second[i]
        out[i] = v if v > u else u
    return False


@kernel
def _pair_min(first: FloatArray, second: FloatArray, out: FloatArray, check: bool) -> bool:
    """``out = min(first, second)`` element-wise; with ``check``, True if any input is NaN."""
    if check:
        bad = False
        for i in range(out.shape[0]):
            u = first[i]
            v = second[i]
            bad |= (u != u) | (v != v)
            out[i] = v if v < u else u
        return bad
    for i in range(out.shape[0]):
        u = first[i]
        v = second[i]
        out[i] = v if v < u else u
    return False


@kernel
def new_scratch(period: int) -> FloatArray:
    """Return the two work rows :func:`block_extreme` needs for ``period``."""
    return np.empty((2, BLOCK + period))


@kernel
def block_extreme(
    x: FloatArray,
    period: int,
    o0: int,
    o1: int,
    is_max: bool,
    dest: FloatArray,
    scratch: FloatArray,
) -> bool:
    """Write the rolling max (or min) of ``x`` at outputs ``o0 .. o1 - 1`` into ``dest``.

    ``dest`` is a zero-based view of length ``o1 - o0``; ``o0 >= period - 1`` and the block
    spans at most :data:`BLOCK` outputs; ``scratch`` is :func:`new_scratch`'s buffer.
    Returns True when the window holds a NaN (``dest``
    is then unreliable and the caller must use the exact scan).
    """
    if period == 1:
        copy_into(dest, x[o0:o1])
        return False
    k = 1
    while k * 2 <= period:
        k *= 2
    length = o1 - (o0 - period + 1)
    source = x[o0 - period + 1 : o1]
    target = scratch[0]
    spare = scratch[1]
    step = 1
    while step < k:
        length -= step
        head = source[:length]
        ahead = source[step : step + length]
        if is_max:
            bad = _pair_max(head, ahead, target[:length], step == 1)
        else:
            bad = _pair_min(head, ahead, target[:length], step == 1)
        if bad:
            return True
        source = target
        target, spare = spare, target
        step *= 2
    m = o1 - o0
    shift = period - k
    if is_max:
        return _pair_max(source[:m], source[shift : shift + m], dest, k == 1)
    return _pair_min(source[:m], source[shift : shift + m], dest, k == 1)


@kernel
def _doubling(x: FloatArray, period: int, start: int, out: FloatArray, is_max: bool) -> bool:
    """Write the rolling max (or min) of ``x[start:]`` into ``out`` from ``start+period-1``.

    Returns True when the data holds a NaN (``out`` is then unreliable).
    """
    n = x.shape[0]
    scratch = new_scratch(period)
    for o0 in range(start + period - 1, n, BLOCK):
        o1 = min(o0 + BLOCK, n)
        if block_extreme(x, period, o0, o1, is_max, out[o0:o1], scratch):
            return True
    return False


@kernel
def rolling_max_into(x: FloatArray, period: int, start: int, out: FloatArray) -> None:
    """Write the highest of the last ``period`` values into ``out[start + period - 1:]``."""
    if _doubling(x, period, start, out, True):
        first = start + period - 1
        copy_into(out[first:], scan_extreme(x, period, start, True)[first:])


@kernel
def rolling_min_into(x: FloatArray, period: int, start: int, out: FloatArray) -> None:
    """Write the lowest of the last ``period`` values into ``out[start + period - 1:]``."""
    if _doubling(x, period, start, out, False):
        first = start + period - 1
        copy_into(out[first:], scan_extreme(x, period, start, False)[first:])


@kernel
def rolling_max(x: FloatArray, period: int, start: int) -> FloatArray:
    """Highest value over the last ``period`` values (NaN during warm-up)."""
    n = x.shape[0]
    out = new_array(n)
    out[: min(start + period - 1, n)] = NAN
    rolling_max_into(x, period, start, out)
    return out


@kernel
def rolling_min(x: FloatArray, period: int, start: int) -> FloatArray:
    """Lowest value over the last ``period`` values (NaN during warm-up)."""
    n = x.shape[0]
    out = new_array(n)
    out[: min(start + period - 1, n)] = NAN
    rolling_min_into(x, period, start, out)
    return out


@kernel
def rolling_min_max(x: FloatArray, period: int, start: int) -> tuple[FloatArray, FloatArray]:
    """MINMAX: the rolling lowest and highest values, both from one kernel call."""
    return rolling_min(x, period, start), rolling_max(x, period, start)


@kernel
def scan_extreme(x: FloatArray, period: int, start: int, is_max: bool) -> FloatArray:
    """TA-Lib's rescanning extreme: the exact reference when the data holds NaNs."""
    index = rolling_max_index(x, period, start) if is_max else rolling_min_index(x, period, start)
    out = np.full(x.shape[0], NAN)
    for i in range(start + period - 1, x.shape[0]):
        out[i] = x[int(index[i])]
    return out


@kernel
def rolling_sum(x: FloatArray, period: int, start: int) -> FloatArray:
    """Sum over the last ``period`` values."""
    n = x.shape[0]
    first = start + period - 1
    out = nan_head(n, first)
    if first >= n:
        return out
    total = 0.0
    for i in range(start, first):
        total += x[i]
    for i in range(first, n):
        # Unsigned indices: numba then skips its negative-index wrap-around select.
        total += x[np.uint64(i)]
        out[np.uint64(i)] = total
        total -= x[np.uint64(i - period + 1)]
    return out


@kernel
def extremes(high: FloatArray, low: FloatArray, period: int, mode: int) -> FloatArray:
    """Rolling highest ``high`` and lowest ``low``, combined per ``mode``.

    Modes: 0 midpoint ``(hh + ll) / 2``, 2 highest high, 3 lowest low. The midpoint is
    built block by block so no full-length temporary is allocated: on this kind of machine
    first-touching a fresh 8 MB array costs more than the whole computation.
    """
    n = high.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    if mode == 2:
        rolling_max_into(high, period, 0, out)
        return out
    if mode == 3:
        rolling_min_into(low, period, 0, out)
        return out
    lowest = np.empty(BLOCK)
    scratch = new_scratch(period)
    for o0 in range(period - 1, n, BLOCK):
        o1 = min(o0 + BLOCK, n)
        m = o1 - o0
        bad = block_extreme(high, period, o0, o1, True, out[o0:o1], scratch)
        bad = bad or block_extreme(low, period, o0, o1, False, lowest[:m], scratch)
        if bad:
            hh = scan_extreme(high, period, 0, True)
            ll = scan_extreme(low, period, 0, False)
            _midpoints(hh[period - 1 :], ll[period - 1 :], out[period - 1 :])
            return out
        _midpoints(out[o0:o1], lowest[:m], out[o0:o1])
    return out


@kernel
def donchian(
    high: FloatArray, low: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channel (highest high, midpoint, lowest low) in one blockwise pass."""
    n = high.shape[0]
    upper = new_array(n)
    middle = new_array(n)
    lower = new_array(n)
    head = min(period - 1, n)
    upper[:head] = NAN
    middle[:head] = NAN
    lower[:head] = NAN
    scratch = new_scratch(period)
    for o0 in range(period - 1, n, BLOCK):
        o1 = min(o0 + BLOCK, n)
        bad = block_extreme(high, period, o0, o1, True, upper[o0:o1], scratch)
        bad = bad or block_extreme(low, period, o0, o1, False, lower[o0:o1], scratch)
        if bad:
            copy_into(upper[period - 1 :], scan_extreme(high, period, 0, True)[period - 1 :])
            copy_into(lower[period - 1 :], scan_extreme(low, period, 0, False)[period - 1 :])
            _midpoints(upper[period - 1 :], lower[period - 1 :], middle[period - 1 :])
            return upper, middle, lower
        _midpoints(upper[o0:o1], lower[o0:o1], middle[o0:o1])
    return upper, middle, lower


@kernel
def _midpoints(highest: FloatArray, lowest: FloatArray, out: FloatArray) -> None:
    """``out = (highest + lowest) / 2`` on zero-based views (so LLVM vectorises it)."""
    for i in range(out.shape[0]):
        out[i] = (highest[i] + lowest[i]) / 2.0


@kernel
def reanchor_interval(period: int) -> int:
    """Bars between exact recomputations of the anchored window sums (STDDEV,
    VAR, BBANDS: the statistic family's kernels and the moment streams).

    A whole number of periods, at least ~64 bars: re-anchoring every period cost about as
    much as the sliding updates for short periods (a period-long multiply-add chain plus a
    mispredicted branch), while the rounding a sum can gather in 64 bars is ~1e-14.
    """
    return period * max(1, 64 // period)


@kernel
def wma_reanchor_interval(period: int) -> int:
    """Bars between exact recomputations of a WMA's running sums.

    The O(1) update (add ``value * period``, subtract the plain sum) gathers rounding:
    after 10^6 bars near 1000 it was 1.8e-6 off the exact average (HMA, built on three
    WMAs, 1e-5); TA-Lib 0.8.1 stays within 1e-11. Re-summing the window every 64 bars (or
    every period, if longer) bounds that at O(1) amortised cost.
    """
    return max(64, period)


@exact_kernel
def wma_sums(x: FloatArray, begin: int, period: int) -> tuple[float, float]:
    """Return (sum of ``x[begin + k] * (k + 1)``, plain sum) over ``period`` values.

    Additions only, newest first (the newest value is in every partial sum, the oldest in
    one): no product a caller's fastmath flags could fuse, so the stream's Python re-sum
    (``wma_window_sums``) rounds identically.
    """
    weighted = 0.0
    plain = 0.0
    for k in range(period - 1, -1, -1):
        plain += x[begin + k]
        weighted += plain
    return weighted, plain
