"""Momentum kernels (TA-Lib group "Momentum Indicators"), part one: oscillators on one series.

A ratio whose denominator is exactly zero (a flat window) reads 0, as in TA-Lib 0.8.1. Older
TA-Lib releases zeroed any denominator within 1e-8 (``TA_IS_ZERO``); 0.8.1 does not, so
an instrument quoted at 1e-9 (SHIB/BTC) or a flat stretch whose Wilder averages have decayed
below 1e-8 still gets its real ratio. Only PPO/PVO keep a fixed band, 1e-14.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel, kernel
from engine.indicators.families.overlap.kernels_ma import wma_inplace
from engine.indicators.families.statistic.kernels import linreg

NAN = np.nan


@kernel
def is_zero(value: float) -> bool:
    """Return True when ``value`` is exactly zero, TA-Lib 0.8.1's test for a flat window."""
    return value == 0.0


@kernel
def rsi(x: FloatArray, period: int, start: int) -> FloatArray:
    """Relative strength index with Wilder smoothing seeded by plain averages."""
    n = x.shape[0]
    first = start + period
    out = nan_head(n, first)
    if first >= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(start + 1, first + 1):
        change = x[i] - x[i - 1]
        if change < 0:
            loss -= change
        else:
            gain += change
    gain /= period
    loss /= period
    total = gain + loss
    out[first] = 100.0 * (gain / total) if total > 0.0 else 0.0
    # ``avg * (p - 1) / p + new / p`` as one fused multiply-add on the recursive chain
    # (the ``new / p`` product is off it): a third of TA-Lib's latency per bar. It moves
    # results by about an ulp per step, damped by the average, far inside parity tolerance.
    inverse = 1.0 / period
    keep = (period - 1.0) / period
    for i in range(first + 1, n):
        change = x[i] - x[i - 1]
        if change != change:
            # A NaN bar poisons both averages, as in TA-Lib (max() would drop it).
            gain = loss = change
        # Branch-free: adding an exact 0.0 to the idle side rounds like not adding at all.
        gain = gain * keep + max(change, 0.0) * inverse
        loss = loss * keep + max(-change, 0.0) * inverse
        total = gain + loss
        # Written as a positive test so a NaN bar reads 0 afterwards, as in TA-Lib.
        out[i] = 100.0 * (gain / total) if total > 0.0 else 0.0
    return out


@kernel
def cmo(x: FloatArray, period: int) -> FloatArray:
    """Chande momentum oscillator with Wilder-smoothed gains and losses, like RSI.

    The smoothing is RSI's one-FMA form (see :func:`rsi`), within an ulp per step of
    TA-Lib's multiply-add-divide.
    """
    n = x.shape[0]
    out = new_array(n)
    out[: min(period, n)] = NAN
    if period >= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        change = x[i] - x[i - 1]
        if change < 0:
            loss -= change
        else:
            gain += change
    gain /= period
    loss /= period
    total = gain + loss
    out[period] = 0.0 if is_zero(total) else 100.0 * ((gain - loss) / total)
    inverse = 1.0 / period
    keep = (period - 1.0) / period
    for i in range(period + 1, n):
        change = x[np.uint64(i)] - x[np.uint64(i - 1)]
        if change != change:
            gain = loss = change
        gain = gain * keep + max(change, 0.0) * inverse
        loss = loss * keep + max(-change, 0.0) * inverse
        total = gain + loss
        out[np.uint64(i)] = 0.0 if is_zero(total) else 100.0 * ((gain - loss) / total)
    return out


@kernel
def cmou(x: FloatArray, period: int) -> FloatArray:
    """Chande momentum oscillator on plain sums of gains and losses over ``period`` changes."""
    n = x.shape[0]
    out = nan_head(n, period)
    gain = 0.0
    loss = 0.0
    for i in range(1, n):
        change = x[i] - x[i - 1]
        if change > 0:
            gain += change
        else:
            loss -= change
        if i >= period:
            total = gain + loss
            out[i] = 0.0 if is_zero(total) else 100.0 * ((gain - loss) / total)
            old = x[i - period + 1] - x[i - period]
            if old > 0:
                gain -= old
            else:
                loss += old
    return out


@kernel
def change(x: FloatArray, period: int, mode: int) -> FloatArray:
    """MOM (0), ROC (1), ROCP (2), ROCR (3), ROCR100 (4) over ``period`` bars.

    The loop runs on zero-based views of "now" and "``period`` bars ago", one loop per
    mode, so LLVM vectorises it (indices that might wrap around would prevent that).
    """
    n = x.shape[0]
    out = new_array(n)
    out[: min(period, n)] = NAN
    if period < n:
        _change_views(x[period:], x[: n - period], out[period:], mode)
    return out


@kernel
def _change_views(now: FloatArray, then: FloatArray, out: FloatArray, mode: int) -> None:
    m = out.shape[0]
    if mode == 0:
        for i in range(m):
            out[i] = now[i] - then[i]
    elif mode == 1:
        for i in range(m):
            out[i] = 0.0 if then[i] == 0.0 else ((now[i] / then[i]) - 1.0) * 100.0
    elif mode == 2:
        for i in range(m):
            out[i] = 0.0 if then[i] == 0.0 else (now[i] - then[i]) / then[i]
    elif mode == 3:
        for i in range(m):
            out[i] = 0.0 if then[i] == 0.0 else now[i] / then[i]
    else:
        for i in range(m):
            out[i] = 0.0 if then[i] == 0.0 else (now[i] / then[i]) * 100.0


@kernel
def macd_lines(
    fast_line: FloatArray, slow_line: FloatArray, signal_line_of: FloatArray, begin: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Blank everything before ``begin`` and return (macd, signal, histogram)."""
    line = fast_line - slow_line
    hist = line - signal_line_of
    line[:begin] = NAN
    hist[:begin] = NAN
    signal = signal_line_of.copy()
    signal[:begin] = NAN
    return line, signal, hist


@kernel
def macd(
    x: FloatArray, fast: int, slow: int, signal: int, fixed: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD with EMA legs in one pass; ``fixed`` uses MACDFIX's 0.15 / 0.075 factors.

    The fast EMA is seeded over the ``fast`` bars ending where the slow one is first
    defined, and the signal EMA by the mean of the first ``signal`` MACD values (TA-Lib).
    """
    if slow < fast:
        fast, slow = slow, fast
    k_fast = 0.15 if fixed else 2.0 / (fast + 1)
    k_slow = 0.075 if fixed else 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    n = x.shape[0]
    begin = slow - 1 + signal - 1
    line = nan_head(n, begin)
    signal_out = nan_head(n, begin)
    hist = nan_head(n, begin)
    if slow - 1 >= n:
        return line, signal_out, hist
    fast_value = 0.0
    slow_value = 0.0
    for i in range(slow - fast, slow):
        fast_value += x[i]
    for i in range(slow):
        slow_value += x[i]
    fast_value /= fast
    slow_value /= slow
    signal_value = 0.0
    for i in range(slow - 1, min(begin + 1, n)):
        if i >= slow:
            fast_value = fast_value * (1.0 - k_fast) + x[i] * k_fast
            slow_value = slow_value * (1.0 - k_slow) + x[i] * k_slow
        value = fast_value - slow_value
        if i < begin:
            signal_value += value
            continue
        signal_value = (signal_value + value) / signal
        line[i] = value
        signal_out[i] = signal_value
        hist[i] = value - signal_value
    # Steady state: no warm-up branches, unsigned indices (no wrap-around selects).
    for i in range(begin + 1, n):
        u = np.uint64(i)
        fast_value = fast_value * (1.0 - k_fast) + x[u] * k_fast
        slow_value = slow_value * (1.0 - k_slow) + x[u] * k_slow
        value = fast_value - slow_value
        signal_value = signal_value * (1.0 - k_signal) + value * k_signal
        line[u] = value
        signal_out[u] = signal_value
        hist[u] = value - signal_value
    return line, signal_out, hist


@kernel
def trix(x: FloatArray, period: int) -> FloatArray:
    """One-bar rate of change (%) of a triple EMA, in one pass.

    The EMAs are seeded as :func:`ema_cascade` seeds them (each stage by the mean of its
    input's first ``period`` values), then run as three registers.
    """
    n = x.shape[0]
    k = 2.0 / (period + 1)
    first = 3 * (period - 1)
    out = new_array(n)
    out[: min(first + 1, n)] = NAN
    if first >= n:
        return out
    values = np.zeros(3)
    counts = np.zeros(3, dtype=np.int64)
    for i in range(first + 1):
        v = x[i]
        for j in range(3):
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
    e1, e2, e3 = values[0], values[1], values[2]
    for i in range(first + 1, n):
        previous = e3
        e1 = e1 * (1.0 - k) + x[np.uint64(i)] * k
        e2 = e2 * (1.0 - k) + e1 * k
        e3 = e3 * (1.0 - k) + e2 * k
        out[np.uint64(i)] = 0.0 if previous == 0.0 else ((e3 / previous) - 1.0) * 100.0
    return out


@kernel
def tsi(x: FloatArray, first: int, second: int) -> FloatArray:
    """True strength index: double-smoothed momentum over double-smoothed |momentum|.

    One pass; each EMA is seeded by the mean of its first ``period`` inputs.
    """
    n = x.shape[0]
    begin = first + second - 1
    out = new_array(n)
    out[: min(begin, n)] = NAN
    k1 = 2.0 / (first + 1)
    k2 = 2.0 / (second + 1)
    top1 = top2 = bottom1 = bottom2 = 0.0
    for i in range(1, n):
        momentum = x[i] - x[i - 1]
        size = abs(momentum)
        if i < first:
            top1 += momentum
            bottom1 += size
            continue
        if i == first:
            top1 = (top1 + momentum) / first
            bottom1 = (bottom1 + size) / first
        else:
            top1 = top1 * (1.0 - k1) + momentum * k1
            bottom1 = bottom1 * (1.0 - k1) + size * k1
        if i < begin:
            top2 += top1
            bottom2 += bottom1
            continue
        if i == begin:
            top2 = (top2 + top1) / second
            bottom2 = (bottom2 + bottom1) / second
        else:
            top2 = top2 * (1.0 - k2) + top1 * k2
            bottom2 = bottom2 * (1.0 - k2) + bottom1 * k2
        out[i] = 0.0 if is_zero(bottom2) else 100.0 * (top2 / bottom2)
    return out


@kernel
def ao(high: FloatArray, low: FloatArray, fast: int, slow: int) -> FloatArray:
    """Awesome oscillator: fast SMA minus slow SMA of the median price, in one pass."""
    n = high.shape[0]
    lookback = max(fast, slow) - 1
    out = new_array(n)
    out[: min(lookback, n)] = NAN
    fast_sum = 0.0
    slow_sum = 0.0
    fast_scale = 1.0 / fast  # reciprocals, as in ``sma``
    slow_scale = 1.0 / slow
    for i in range(n):
        median = (high[i] + low[i]) / 2.0
        fast_sum += median
        slow_sum += median
        if i >= fast:
            fast_sum -= (high[i - fast] + low[i - fast]) / 2.0
        if i >= slow:
            slow_sum -= (high[i - slow] + low[i - slow]) / 2.0
        if i >= lookback:
            out[i] = fast_sum * fast_scale - slow_sum * slow_scale
    return out


@kernel
def ac(high: FloatArray, low: FloatArray, fast: int, slow: int, signal: int) -> FloatArray:
    """Accelerator oscillator: AO minus its ``signal``-bar SMA (in place, ring of AO)."""
    out = ao(high, low, fast, slow)
    n = high.shape[0]
    begin = max(fast, slow) - 1
    first = begin + signal - 1
    if first >= n:
        out[begin:] = NAN
        return out
    ring = np.empty(signal)
    total = 0.0
    slot = 0
    scale = 1.0 / signal  # as in ``sma``
    for i in range(begin, n):
        awesome = out[i]
        ring[slot] = awesome
        total += awesome
        slot = slot + 1 if slot + 1 < signal else 0
        if i >= first:
            out[i] = awesome - total * scale
            total -= ring[slot]
    out[begin:first] = NAN
    return out


@exact_kernel
def coppock(x: FloatArray, wma_period: int, roc1: int, roc2: int) -> FloatArray:
    """Coppock curve: WMA of the sum of two rates of change, built in one array."""
    n = x.shape[0]
    begin = max(roc1, roc2)
    out = new_array(n)
    out[: min(begin, n)] = NAN
    for i in range(begin, n):
        out[i] = _roc_at(x, i, roc1) + _roc_at(x, i, roc2)
    wma_inplace(out, wma_period, begin)
    return out


@exact_kernel
def _roc_at(x: FloatArray, i: int, period: int) -> float:
    """ROC of bar ``i`` over ``period`` bars, exactly as :func:`change` mode 1 computes it.

    Exact (no FMA): COPPOCK adds two of these, and a fused ``r1 + q * 100`` rounded an ulp
    away from the stream's Python sum.
    """
    previous = x[i - period]
    return 0.0 if previous == 0.0 else ((x[i] / previous) - 1.0) * 100.0


@kernel
def dpo(x: FloatArray, period: int) -> FloatArray:
    """Detrended price oscillator: price ``period / 2 + 1`` bars ago minus the SMA now."""
    n = x.shape[0]
    shift = period // 2 + 1
    first = max(period - 1, shift)
    out = new_array(n)
    out[: min(first, n)] = NAN
    total = 0.0
    scale = 1.0 / period  # as in ``sma``
    for i in range(n):
        total += x[i]
        if i >= period:
            total -= x[i - period]
        if i >= first:
            out[i] = x[i - shift] - total * scale
    return out


@kernel
def er(x: FloatArray, period: int) -> FloatArray:
    """Kaufman efficiency ratio: net change over the sum of absolute changes."""
    n = x.shape[0]
    out = nan_head(n, period)
    noise = 0.0
    for i in range(1, n):
        # Unsigned indices: numba then skips its negative-index wrap-around selects.
        u = np.uint64(i)
        noise += abs(x[u] - x[np.uint64(i - 1)])
        if i >= period:
            back = np.uint64(i - period)
            net = abs(x[u] - x[back])
            # TA-Lib (as in KAMA) calls a flat or perfectly trending window fully efficient.
            out[u] = 1.0 if (noise <= net) | is_zero(noise) else net / noise
            noise -= abs(x[np.uint64(i - period + 1)] - x[back])
    return out


@kernel
def eri(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray]:
    """Elder ray: high and low minus an EMA of the close (bull and bear power), one pass."""
    n = close.shape[0]
    bull = new_array(n)
    bear = new_array(n)
    first = period - 1
    bull[: min(first, n)] = NAN
    bear[: min(first, n)] = NAN
    if first >= n:
        return bull, bear
    k = 2.0 / (period + 1)
    average = 0.0
    for i in range(first + 1):
        average += close[i]
    average /= period
    bull[first] = high[first] - average
    bear[first] = low[first] - average
    for i in range(first + 1, n):
        average = average * (1.0 - k) + close[i] * k
        bull[i] = high[i] - average
        bear[i] = low[i] - average
    return bull, bear


@kernel
def fosc(x: FloatArray, period: int) -> FloatArray:
    """Forecast oscillator: % gap between price and the previous bar's forecast for it."""
    # Bar t's forecast is TSF at t - 1; the TSF array is shifted into FOSC in place, newest
    # bar first, so each bar still reads an unmodified forecast behind it.
    out = linreg(x, period, 4)
    n = x.shape[0]
    for i in range(n - 1, period - 1, -1):
        out[i] = 0.0 if x[i] == 0.0 else 100.0 * (x[i] - out[i - 1]) / x[i]
    out[: min(period, n)] = NAN
    return out
