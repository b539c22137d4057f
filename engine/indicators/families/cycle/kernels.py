"""Hilbert-transform kernels (TA-Lib group "Cycle Indicators"), HT_TRENDLINE and MAMA.

All of them share Ehlers' pipeline as TA-Lib implements it: a 4-bar weighted price
smoother, then Hilbert transforms kept in separate odd-bar and even-bar circular buffers
(so the bar parity, counted from the first bar with data, matters), then a smoothed
dominant-cycle period. One kernel runs the pipeline and fills the rows a caller asks for.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from engine.indicators._alloc import new_array
from engine.indicators._common import FloatArray
from engine.indicators._jit import exact_kernel as kernel

NAN = np.nan
MAX_CYCLE = 50  # the smoothed period is clamped to [6, 50]

# Output rows of ``hilbert``.
PERIOD, PHASE, INPHASE, QUADRATURE, SINE, LEADSINE, TRENDLINE, TRENDMODE, MAMA, FAMA = range(10)


@kernel
def hilbert_filter(
    buffers: FloatArray,
    row: int,
    previous: FloatArray,
    stage: int,
    slot: int,
    index: int,
    value: float,
    adjust: float,
) -> float:
    """One step of TA-Lib's Hilbert FIR in a circular buffer.

    ``buffers[row]`` holds 3 delayed products; ``previous[stage, 2k]`` / ``previous[stage,
    2k+1]`` are the filter's previous output term and input for the odd (k=1) or even (k=0)
    stream. Whole 2-D arrays and indices, not row views, are passed: four filters per bar
    made eight views, and each costs reference-count updates.
    """
    a = 0.0962
    b = 0.5769
    term = a * value
    out = -float(buffers[row, index])
    buffers[row, index] = term
    out += term
    out -= previous[stage, 2 * slot]
    previous[stage, 2 * slot] = b * previous[stage, 2 * slot + 1]
    out += previous[stage, 2 * slot]
    previous[stage, 2 * slot + 1] = value
    return float(out * adjust)


@kernel
def hilbert(
    x: FloatArray,
    start: int,
    lookback: int,
    want_phase: bool,
    want_trend: bool,
    mama_limits: tuple[float, float],
    rows: npt.NDArray[np.int64],
) -> FloatArray:
    """Run the Hilbert pipeline over ``x[start:]``; return the ``rows`` asked for, (k, n).

    Only the requested outputs are stored (a full 10-row result is 80 MB for 1M bars, and
    touching it cost more than the pipeline). Every requested row must be one the flags
    compute; it is then written at every bar from the warm-up on, so only the warm-up
    head is filled with NaN.

    Args:
        x: Prices.
        start: First index holding data.
        lookback: 32 for period/phasor/MAMA, 63 for phase/sine/trendline/trend mode; it
            sets how many bars pre-warm the price smoother, as in TA-Lib.
        want_phase: Compute the dominant-cycle phase and sine rows (costly).
        want_trend: Compute the trendline row, and with ``want_phase`` the trend mode.
        mama_limits: (fast, slow) limits for the MAMA rows; (0, 0) skips them.
        rows: Output row ids (PERIOD, PHASE, ...) in the order to return them.
    """
    n = x.shape[0]
    out = new_array(rows.shape[0] * n).reshape((rows.shape[0], n))
    first_out = start + lookback
    out[:, : min(first_out, n)] = NAN
    if first_out >= n:
        return out
    slots = np.full(10, -1, dtype=np.int64)
    for j in range(rows.shape[0]):
        slots[rows[j]] = j
    rad2deg = 45.0 / math.atan(1.0)
    deg2rad = 1.0 / rad2deg
    deg2rad_by_360 = math.atan(1.0) * 8.0
    fast_limit, slow_limit = mama_limits
    # The phase sums need sin/cos of k * 360deg / cycle for every bar; cycle never exceeds
    # 50, so a table of the very same expressions replaces ~40 libm calls per bar.
    sines = np.zeros((MAX_CYCLE + 1, MAX_CYCLE))
    cosines = np.zeros((MAX_CYCLE + 1, MAX_CYCLE))
    if want_phase:
        for cycle in range(1, MAX_CYCLE + 1):
            for k in range(cycle):
                angle = k * deg2rad_by_360 / cycle
                sines[cycle, k] = math.sin(angle)
                cosines[cycle, k] = math.cos(angle)
    trailing = start
    today = start
    wma_sub = x[today]
    wma_sum = x[today]
    wma_sub += x[today + 1]
    wma_sum += x[today + 1] * 2.0
    wma_sub += x[today + 2]
    wma_sum += x[today + 2] * 3.0
    today += 3
    trailing_value = 0.0
    for _ in range(lookback - 29 if lookback == 63 else 9):
        value = x[today]
        today += 1
        wma_sub += value
        wma_sub -= trailing_value
        wma_sum += value * 4.0
        trailing_value = x[trailing]
        trailing += 1
        wma_sum -= wma_sub
    # Four filters (detrender, Q1, jI, jQ), each with an even and an odd circular buffer.
    buffers = np.zeros((8, 3))
    previous = np.zeros((4, 4))
    hilbert_index = 0
    i1_odd_prev2 = i1_odd_prev3 = i1_even_prev2 = i1_even_prev3 = 0.0
    prev_q2 = prev_i2 = re = im = 0.0
    period = smooth_period = 0.0
    mama = fama = prev_phase = 0.0
    smooth_prices = np.zeros(50)
    smooth_index = 0
    dc_phase = 0.0
    sine = lead_sine = 0.0
    trend1 = trend2 = trend3 = 0.0
    days_in_trend = 0
    prev_dc_phase = prev_sine = prev_lead_sine = 0.0
    trend = 1
    even = (today - start) % 2 == 0
    while today < n:
        adjust = 0.075 * period + 0.54
        value = x[today]
        wma_sub += value
        wma_sub -= trailing_value
        wma_sum += value * 4.0
        trailing_value = x[trailing]
        trailing += 1
        smoothed = wma_sum * 0.1
        wma_sum -= wma_sub
        smooth_prices[smooth_index] = smoothed
        slot = 0 if even else 1
        even = not even
        i1 = i1_even_prev3 if slot == 0 else i1_odd_prev3
        h = hilbert_index
        detrender = hilbert_filter(buffers, slot, previous, 0, slot, h, smoothed, adjust)
        q1 = hilbert_filter(buffers, 2 + slot, previous, 1, slot, h, detrender, adjust)
        j_i = hilbert_filter(buffers, 4 + slot, previous, 2, slot, h, i1, adjust)
        j_q = hilbert_filter(buffers, 6 + slot, previous, 3, slot, h, q1, adjust)
        if slot == 0:
            hilbert_index += 1
            if hilbert_index == 3:
                hilbert_index = 0
        q2 = 0.2 * (q1 + j_i) + 0.8 * prev_q2
        i2 = 0.2 * (i1 - j_q) + 0.8 * prev_i2
        if slot == 0:
            i1_odd_prev3 = i1_odd_prev2
            i1_odd_prev2 = detrender
        else:
            i1_even_prev3 = i1_even_prev2
            i1_even_prev2 = detrender
        if fast_limit > 0.0:
            phase = math.atan(q1 / i1) * rad2deg if i1 != 0.0 else 0.0
            delta = prev_phase - phase
            prev_phase = phase
            delta = max(delta, 1.0)
            alpha = max(fast_limit / delta, slow_limit) if delta > 1.0 else fast_limit
            mama = alpha * value + (1 - alpha) * mama
            alpha *= 0.5
            fama = alpha * mama + (1 - alpha) * fama
            if today >= first_out:
                _put(out, slots, MAMA, today, mama)
                _put(out, slots, FAMA, today, fama)
        if today >= first_out:
            _put(out, slots, INPHASE, today, i1)
            _put(out, slots, QUADRATURE, today, q1)
        re = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * re
        im = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * im
        prev_q2 = q2
        prev_i2 = i2
        last_period = period
        if im != 0.0 and re != 0.0:
            period = 360.0 / (math.atan(im / re) * rad2deg)
        period = min(period, 1.5 * last_period)
        period = max(period, 0.67 * last_period)
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        period = 0.2 * period + 0.8 * last_period
        smooth_period = 0.33 * period + 0.67 * smooth_period
        if today >= first_out:
            _put(out, slots, PERIOD, today, smooth_period)
        if want_phase:
            prev_dc_phase = dc_phase
            cycle = int(smooth_period + 0.5)
            real_part = 0.0
            imag_part = 0.0
            idx = smooth_index
            if 0 <= cycle <= MAX_CYCLE:
                for k in range(cycle):
                    real_part += sines[cycle, k] * smooth_prices[idx]
                    imag_part += cosines[cycle, k] * smooth_prices[idx]
                    idx = 49 if idx == 0 else idx - 1
            else:
                for k in range(cycle):
                    angle = k * deg2rad_by_360 / cycle
                    real_part += math.sin(angle) * smooth_prices[idx]
                    imag_part += math.cos(angle) * smooth_prices[idx]
                    idx = 49 if idx == 0 else idx - 1
            magnitude = abs(imag_part)
            if magnitude > 0.0:
                dc_phase = math.atan(real_part / imag_part) * rad2deg
            elif magnitude <= 0.01:
                if real_part < 0.0:
                    dc_phase -= 90.0
                elif real_part > 0.0:
                    dc_phase += 90.0
            dc_phase += 90.0
            # Compensate for the one-bar lag of the weighted price smoother.
            dc_phase += 360.0 / smooth_period
            if imag_part < 0.0:
                dc_phase += 180.0
            if dc_phase > 315.0:
                dc_phase -= 360.0
            prev_sine = sine
            prev_lead_sine = lead_sine
            sine = math.sin(dc_phase * deg2rad)
            lead_sine = math.sin((dc_phase + 45) * deg2rad)
            if today >= first_out:
                _put(out, slots, PHASE, today, dc_phase)
                _put(out, slots, SINE, today, sine)
                _put(out, slots, LEADSINE, today, lead_sine)
        if want_trend:
            cycle = int(smooth_period + 0.5)
            average = 0.0
            for k in range(cycle):
                average += x[today - k]
            if cycle > 0:
                average = average / cycle
            trendline = (4.0 * average + 3.0 * trend1 + 2.0 * trend2 + trend3) / 10.0
            trend3 = trend2
            trend2 = trend1
            trend1 = average
            if want_phase:
                trend = 1
                crossed_up = sine > lead_sine and prev_sine <= prev_lead_sine
                crossed_down = sine < lead_sine and prev_sine >= prev_lead_sine
                if crossed_up or crossed_down:
                    days_in_trend = 0
                    trend = 0
                days_in_trend += 1
                if days_in_trend < 0.5 * smooth_period:
                    trend = 0
                step = dc_phase - prev_dc_phase
                if smooth_period != 0.0 and (
                    0.67 * 360.0 / smooth_period < step < 1.5 * 360.0 / smooth_period
                ):
                    trend = 0
                price = smooth_prices[smooth_index]
                if trendline != 0.0 and abs((price - trendline) / trendline) >= 0.015:
                    trend = 1
            if today >= first_out:
                _put(out, slots, TRENDLINE, today, trendline)
                if want_phase:
                    _put(out, slots, TRENDMODE, today, trend)
        smooth_index = 0 if smooth_index == 49 else smooth_index + 1
        today += 1
    return out


@kernel
def mama(
    x: FloatArray, fast_limit: float, slow_limit: float, start: int
) -> tuple[FloatArray, FloatArray]:
    """MESA adaptive moving average and its following average (FAMA)."""
    rows = hilbert(x, start, 32, False, False, (fast_limit, slow_limit), np.array([MAMA, FAMA]))
    return rows[0], rows[1]


@kernel
def _put(out: FloatArray, slots: npt.NDArray[np.int64], row: int, t: int, value: float) -> None:
    """Store ``value`` at bar ``t`` of output ``row`` if that row was asked for."""
    j = slots[row]
    if j >= 0:
        out[j, t] = value
