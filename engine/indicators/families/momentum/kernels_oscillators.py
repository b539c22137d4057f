"""Range-based oscillators (TA-Lib group "Momentum Indicators"): stochastics, CCI, MFI, ..."""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import nan_head, new_array
from engine.indicators._common import TIE, FloatArray
from engine.indicators._jit import kernel
from engine.indicators.families.momentum.kernels import is_zero
from engine.indicators.families.volatility.kernels import range_sma
from engine.indicators.kernels_window import (
    BLOCK,
    block_extreme,
    new_scratch,
    rolling_max,
    rolling_min,
    scan_extreme,
)

NAN = np.nan


@kernel
def bop(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Balance of power: (close - open) / (high - low), 0 for a range of ~0 or less."""
    n = open_.shape[0]
    out = new_array(n)
    for i in range(n):
        span = high[i] - low[i]
        out[i] = 0.0 if span <= 0.0 else (close[i] - open_[i]) / span
    return out


@kernel
def cci(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Commodity channel index on the typical price with mean absolute deviation.

    Bit for bit TA-Lib 0.8.1's arithmetic: every bar re-sums the ring of the last
    ``period`` typical prices in its storage order (slot ``i % period``), divides by the
    period, and sums ``|tp - mean|`` the same way -- no running total, so nothing drifts
    over a million bars (a running sum drifted 2e-7). A gap or deviation within 1e-14 of
    the mean's size reads as zero (TA-Lib's scaled zero test), so a flat window gives 0.
    """
    n = high.shape[0]
    out = new_array(n)
    out[: min(period - 1, n)] = NAN
    ring = np.empty(period)
    for i in range(n):
        typical = (high[i] + low[i] + close[i]) / 3.0
        ring[i % period] = typical
        if i >= period - 1:
            total = 0.0
            for j in range(period):
                total += ring[j]
            mean = total / period
            deviation = 0.0
            for j in range(period):
                deviation += abs(ring[j] - mean)
            deviation /= period
            gap = typical - mean
            level = TIE * abs(mean)
            flat = abs(gap) <= level or abs(deviation) <= level
            out[i] = 0.0 if flat else gap / (0.015 * deviation)
    return out


@kernel
def mfi(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, period: int
) -> FloatArray:
    """Money flow index over ``period`` typical-price changes, as TA-Lib 0.8.1.

    A bar's flow (typical price times volume) counts as up or down by the sign of its
    typical-price change, but two typical prices within ``TIE`` of their size are a tie and
    count neither: on prices quoted in cents, ``(h + l + c) / 3`` of equal decimals can
    differ by an ulp depending on the addition order, and TA-Lib reads that as no move.
    Rings of the last ``period`` up and down flows keep running sums; a side with no flow
    left in its window is reset to exactly 0 (the subtractions leave a ~1e-12 residue),
    so a flat window reads 0 and a one-sided window exactly 0 or 100.
    """
    n = high.shape[0]
    out = new_array(n)
    out[: min(period, n)] = NAN
    if period >= n:
        return out
    ring_up = np.zeros(period)
    ring_down = np.zeros(period)
    slot = 0
    previous = (high[0] + low[0] + close[0]) / 3.0
    up = 0.0
    down = 0.0
    ups = 0
    downs = 0
    for i in range(1, n):
        typical = (high[i] + low[i] + close[i]) / 3.0
        flow = typical * volume[i]
        flow_up, flow_down = money_flow(typical, previous, flow)
        previous = typical
        ring_up[slot] = flow_up
        ring_down[slot] = flow_down
        slot = slot + 1 if slot + 1 < period else 0
        up += flow_up
        down += flow_down
        ups += flow_up != 0.0
        downs += flow_down != 0.0
        if i >= period:
            total = up + down
            out[i] = 0.0 if total == 0.0 else 100.0 * (up / total)
            old_up = ring_up[slot]
            old_down = ring_down[slot]
            ups -= old_up != 0.0
            downs -= old_down != 0.0
            up = up - old_up if ups else 0.0
            down = down - old_down if downs else 0.0
    return out


@kernel
def money_flow(typical: float, previous: float, flow: float) -> tuple[float, float]:
    """Return (up flow, down flow) of one bar; a relative change within ``TIE`` is neither."""
    change = typical - previous
    if abs(change) <= TIE * (abs(typical) + abs(previous)):
        return 0.0, 0.0
    if change > 0.0:
        return flow, 0.0
    if change < 0.0:
        return 0.0, flow
    return 0.0, 0.0


@kernel
def fast_k(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, start: int
) -> FloatArray:
    """Raw stochastic %K: where the close sits in the ``period``-bar range, in percent."""
    return _range_position(high, low, close, period, start, False)


@kernel
def willr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Williams %R: distance of the close below the ``period``-bar high, in -100..0."""
    return _range_position(high, low, close, period, 0, True)


@kernel
def _range_position(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int, start: int, williams: bool
) -> FloatArray:
    """%K (or, with ``williams``, %R) from rolling extremes computed block by block.

    The extremes of each block live in two small buffers, so no full-length temporary is
    allocated; a NaN in the data switches to the exact scan for the whole series.
    """
    n = high.shape[0]
    first = start + period - 1
    out = new_array(n)
    out[: min(first, n)] = NAN
    highest = np.empty(BLOCK)
    lowest = np.empty(BLOCK)
    scratch = new_scratch(period)
    for o0 in range(first, n, BLOCK):
        o1 = min(o0 + BLOCK, n)
        m = o1 - o0
        bad = block_extreme(high, period, o0, o1, True, highest[:m], scratch)
        bad = bad or block_extreme(low, period, o0, o1, False, lowest[:m], scratch)
        if bad:
            hh = scan_extreme(high, period, start, True)
            ll = scan_extreme(low, period, start, False)
            _position(hh[first:], ll[first:], close[first:], out[first:], williams)
            return out
        _position(highest[:m], lowest[:m], close[o0:o1], out[o0:o1], williams)
    return out


@kernel
def _position(
    highest: FloatArray, lowest: FloatArray, close: FloatArray, out: FloatArray, williams: bool
) -> None:
    # A range within TIE of the extremes' size is flat and reads 0 (TA-Lib 0.8.1's scaled
    # test): STOCHRSI's RSI wobbles by ulps through a flat stretch, and an exact test turned
    # that wobble into %K anywhere between 0 and 100.
    if williams:
        for i in range(out.shape[0]):
            span = (highest[i] - lowest[i]) / -100.0
            flat = flat_range(highest[i], lowest[i])
            out[i] = 0.0 if flat else (highest[i] - close[i]) / span
    else:
        for i in range(out.shape[0]):
            span = (highest[i] - lowest[i]) / 100.0
            flat = flat_range(highest[i], lowest[i])
            out[i] = 0.0 if flat else (close[i] - lowest[i]) / span


@kernel
def flat_range(highest: float, lowest: float) -> bool:
    """Return True when ``highest - lowest`` is within ``TIE`` of their size."""
    return abs(highest - lowest) <= TIE * (abs(highest) + abs(lowest))


@kernel
def ultosc(
    high: FloatArray, low: FloatArray, close: FloatArray, p1: int, p2: int, p3: int
) -> FloatArray:
    """Ultimate oscillator: buying pressure over true range on three windows, weights 4:2:1.

    One pass: a leaving bar's pressure and range are recomputed from the inputs (the same
    operations give the same values) instead of being kept in full-length arrays.
    """
    periods = np.sort(np.array([p1, p2, p3]))
    short, middle, long = periods[0], periods[1], periods[2]
    n = high.shape[0]
    out = new_array(n)
    out[: min(long, n)] = NAN
    p_short = r_short = p_middle = r_middle = p_long = r_long = 0.0
    for i in range(1, n):
        pressure, span = _pressure_at(high, low, close, i)
        p_short += pressure
        r_short += span
        p_middle += pressure
        r_middle += span
        p_long += pressure
        r_long += span
        if i > short:
            pressure, span = _pressure_at(high, low, close, i - short)
            p_short -= pressure
            r_short -= span
        if i > middle:
            pressure, span = _pressure_at(high, low, close, i - middle)
            p_middle -= pressure
            r_middle -= span
        if i > long:
            pressure, span = _pressure_at(high, low, close, i - long)
            p_long -= pressure
            r_long -= span
        if i >= long:
            total = 0.0
            if not is_zero(r_short):
                total += 4.0 * (p_short / r_short)
            if not is_zero(r_middle):
                total += 2.0 * (p_middle / r_middle)
            if not is_zero(r_long):
                total += 1.0 * (p_long / r_long)
            out[i] = 100.0 * (total / 7.0)
    return out


@kernel
def _pressure_at(
    high: FloatArray, low: FloatArray, close: FloatArray, i: int
) -> tuple[float, float]:
    """Buying pressure and true range of bar ``i`` (needs ``i >= 1``)."""
    previous = close[np.uint64(i - 1)]
    floor = min(low[np.uint64(i)], previous)
    return close[np.uint64(i)] - floor, max(high[np.uint64(i)], previous) - floor


@kernel
def imi(open_: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Intraday momentum index: share of up-candle bodies in all bodies over ``period``."""
    n = open_.shape[0]
    out = nan_head(n, period - 1)
    up = 0.0
    down = 0.0
    for i in range(n):
        body = close[i] - open_[i]
        if body > 0:
            up += body
        else:
            down -= body
        if i >= period - 1:
            total = up + down
            out[i] = 50.0 if is_zero(total) else 100.0 * (up / total)
            old = close[i - period + 1] - open_[i - period + 1]
            if old > 0:
                up -= old
            else:
                down += old
    return out


@kernel
def qstick(open_: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Qstick: simple average of candle bodies (close - open)."""
    return range_sma(close, open_, period)


@kernel
def vhf(x: FloatArray, period: int) -> FloatArray:
    """Vertical horizontal filter: range of closes over the sum of absolute changes."""
    highest = rolling_max(x, period, 0)
    lowest = rolling_min(x, period, 0)
    n = x.shape[0]
    out = nan_head(n, period)
    noise = 0.0
    for i in range(1, n):
        noise += abs(x[i] - x[i - 1])
        if i >= period:
            out[i] = 0.0 if is_zero(noise) else (highest[i] - lowest[i]) / noise
            noise -= abs(x[i - period + 1] - x[i - period])
    return out


@kernel
def wad(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Williams accumulation/distribution, cumulative from 0 at the first bar."""
    n = high.shape[0]
    out = new_array(n)
    total = 0.0
    if n:
        out[0] = 0.0
    for i in range(1, n):
        previous = close[i - 1]
        if close[i] > previous:
            total += close[i] - min(low[i], previous)
        elif close[i] < previous:
            total += close[i] - max(high[i], previous)
        out[i] = total
    return out


@kernel
def smi(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    fast: int,
    slow: int,
    signal: int,
) -> tuple[FloatArray, FloatArray]:
    """Stochastic momentum index: double-smoothed distance from the range midpoint.

    One pass: the extremes come block by block and the five EMAs are scalar states that
    replay :func:`ema`'s seeding (mean of the first ``period`` inputs) and recursion.
    """
    n = high.shape[0]
    start = period - 1
    begin = start + slow - 1 + fast - 1
    line = new_array(n)
    signal_line = new_array(n)
    line[: min(begin + signal - 1, n)] = NAN
    signal_line[: min(begin + signal - 1, n)] = NAN
    highest = np.empty(BLOCK)
    lowest = np.empty(BLOCK)
    scratch = new_scratch(period)
    k_slow = 2.0 / (slow + 1)
    k_fast = 2.0 / (fast + 1)
    k_signal = 2.0 / (signal + 1)
    # EMA states: (value, inputs seen) for top/bottom stage 1 and 2, and the signal.
    t1 = b1 = t2 = b2 = sg = 0.0
    c1 = c2 = cs = 0
    for o0 in range(start, n, BLOCK):
        o1 = min(o0 + BLOCK, n)
        m = o1 - o0
        bad = block_extreme(high, period, o0, o1, True, highest[:m], scratch)
        bad = bad or block_extreme(low, period, o0, o1, False, lowest[:m], scratch)
        if bad:
            hh = scan_extreme(high, period, 0, True)
            ll = scan_extreme(low, period, 0, False)
            highest_all, lowest_all = hh[o0:], ll[o0:]
        else:
            highest_all, lowest_all = highest[:m], lowest[:m]
        stop = n if bad else o1
        for i in range(o0, stop):
            hh_i = highest_all[i - o0]
            ll_i = lowest_all[i - o0]
            distance = close[i] - (hh_i + ll_i) / 2.0
            span = hh_i - ll_i
            if c1 < slow:
                t1 += distance
                b1 += span
                c1 += 1
                if c1 < slow:
                    continue
                t1 /= slow
                b1 /= slow
            else:
                t1 = t1 * (1.0 - k_slow) + distance * k_slow
                b1 = b1 * (1.0 - k_slow) + span * k_slow
            if c2 < fast:
                t2 += t1
                b2 += b1
                c2 += 1
                if c2 < fast:
                    continue
                t2 /= fast
                b2 /= fast
            else:
                t2 = t2 * (1.0 - k_fast) + t1 * k_fast
                b2 = b2 * (1.0 - k_fast) + b1 * k_fast
            value = 0.0 if is_zero(b2) else 200.0 * (t2 / b2)
            sg, cs, ready = _ema_push(value, sg, cs, signal, k_signal)
            if ready:
                line[i] = value
                signal_line[i] = sg
        if bad:
            break
    return line, signal_line


@kernel
def _ema_push(value: float, state: float, count: int, period: int, k: float) -> tuple:  # type: ignore[type-arg]
    """One step of :func:`ema`: sum the first ``period`` inputs, then recurse."""
    if count < period:
        state += value
        count += 1
        if count == period:
            return state / period, count, True
        return state, count, False
    return state * (1.0 - k) + value * k, count, True
