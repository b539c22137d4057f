"""O(1) streaming for the Hilbert-transform family (HT_*, MAMA).

A line-by-line port of ``kernels.hilbert``'s loop body to plain Python floats. The
kernel is compiled without fused multiply-add, so the same operations in the same order
give bit-identical results here.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan
RAD2DEG = 45.0 / math.atan(1.0)
DEG2RAD = 1.0 / RAD2DEG
DEG2RAD_BY_360 = math.atan(1.0) * 8.0

# sin/cos of k * 360deg / cycle for every cycle the smoothed period allows, computed with
# the kernel's expression (it builds the same table), so the phase sums match it exactly.
MAX_CYCLE = 50
SINES = [
    tuple(math.sin(k * DEG2RAD_BY_360 / cycle) for k in range(cycle))
    for cycle in range(MAX_CYCLE + 1)
]
COSINES = [
    tuple(math.cos(k * DEG2RAD_BY_360 / cycle) for k in range(cycle))
    for cycle in range(MAX_CYCLE + 1)
]

# name -> (lookback, want_phase, want_trend, output keys)
LAYOUT: dict[str, tuple[int, bool, bool, tuple[str, ...]]] = {
    "ht_dcperiod": (32, False, False, ("period",)),
    "ht_dcphase": (63, True, False, ("phase",)),
    "ht_phasor": (32, False, False, ("inphase", "quadrature")),
    "ht_sine": (63, True, False, ("sine", "leadsine")),
    "ht_trendmode": (63, True, True, ("trendmode",)),
    "ht_trendline": (63, False, True, ("trendline",)),
    "mama": (32, False, False, ("mama", "fama")),
}


class _Filter:
    """One Hilbert FIR with separate even-bar and odd-bar circular buffers."""

    __slots__ = ("buffers", "previous")

    def __init__(self) -> None:
        self.buffers = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        self.previous = [0.0, 0.0, 0.0, 0.0]

    def step(self, slot: int, index: int, value: float, adjust: float) -> float:
        term = 0.0962 * value
        buffer = self.buffers[slot]
        previous = self.previous
        out = -buffer[index]
        buffer[index] = term
        out += term
        out -= previous[2 * slot]
        previous[2 * slot] = 0.5769 * previous[2 * slot + 1]
        out += previous[2 * slot]
        previous[2 * slot + 1] = value
        return out * adjust


class HilbertStream(StreamingIndicator):
    """HT_DCPERIOD, HT_DCPHASE, HT_PHASOR, HT_SINE, HT_TRENDMODE, HT_TRENDLINE and MAMA."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._lookback_bars, self._want_phase, self._want_trend, self._keys = LAYOUT[spec.name]
        self._prewarm = self._lookback_bars - 29 if self._lookback_bars == 63 else 9
        if spec.name == "mama":
            self._fast_limit = float(params["fastlimit"])
            self._slow_limit = float(params["slowlimit"])
        else:
            self._fast_limit = self._slow_limit = 0.0
        self._clear()

    def _clear(self) -> None:
        self._t = 0
        self._raw: deque[float] = deque(maxlen=50)
        self._wma_sub = self._wma_sum = self._trailing_value = 0.0
        self._filters = [_Filter() for _ in range(4)]
        self._hilbert_index = 0
        self._i1_odd_prev2 = self._i1_odd_prev3 = 0.0
        self._i1_even_prev2 = self._i1_even_prev3 = 0.0
        self._prev_q2 = self._prev_i2 = self._re = self._im = 0.0
        self._period = self._smooth_period = 0.0
        self._mama = self._fama = self._prev_phase = 0.0
        self._smooth_prices = [0.0] * 50
        self._smooth_index = 0
        self._dc_phase = 0.0
        self._sine = self._lead_sine = 0.0
        self._trend1 = self._trend2 = self._trend3 = 0.0
        self._days_in_trend = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        t = self._t
        self._t = t + 1
        raw = self._raw
        raw.append(value)
        nothing = tuple(NAN for _ in self._keys)
        if t < 3:
            self._wma_sub += value
            self._wma_sum += value * (t + 1)
            return nothing
        if t < 3 + self._prewarm:
            self._wma_sub += value
            self._wma_sub -= self._trailing_value
            self._wma_sum += value * 4.0
            self._trailing_value = raw[-4]
            self._wma_sum -= self._wma_sub
            return nothing
        return self._hilbert(value, t)

    def _hilbert(self, value: float, t: int) -> tuple[float, ...]:
        adjust = 0.075 * self._period + 0.54
        self._wma_sub += value
        self._wma_sub -= self._trailing_value
        self._wma_sum += value * 4.0
        self._trailing_value = self._raw[-4]
        smoothed = self._wma_sum * 0.1
        self._wma_sum -= self._wma_sub
        self._smooth_prices[self._smooth_index] = smoothed
        slot = 0 if t % 2 == 0 else 1
        i1 = self._i1_even_prev3 if slot == 0 else self._i1_odd_prev3
        index = self._hilbert_index
        detrender_filter, q1_filter, ji_filter, jq_filter = self._filters
        detrender = detrender_filter.step(slot, index, smoothed, adjust)
        q1 = q1_filter.step(slot, index, detrender, adjust)
        j_i = ji_filter.step(slot, index, i1, adjust)
        j_q = jq_filter.step(slot, index, q1, adjust)
        if slot == 0:
            self._hilbert_index = 0 if index + 1 == 3 else index + 1
        q2 = 0.2 * (q1 + j_i) + 0.8 * self._prev_q2
        i2 = 0.2 * (i1 - j_q) + 0.8 * self._prev_i2
        if slot == 0:
            self._i1_odd_prev3 = self._i1_odd_prev2
            self._i1_odd_prev2 = detrender
        else:
            self._i1_even_prev3 = self._i1_even_prev2
            self._i1_even_prev2 = detrender
        ready = t >= self._lookback_bars
        outputs: dict[str, float] = {"inphase": i1, "quadrature": q1}
        if self._fast_limit > 0.0:
            phase = math.atan(q1 / i1) * RAD2DEG if i1 != 0.0 else 0.0
            delta = self._prev_phase - phase
            self._prev_phase = phase
            delta = max(delta, 1.0)
            fast_limit = self._fast_limit
            alpha = max(fast_limit / delta, self._slow_limit) if delta > 1.0 else fast_limit
            self._mama = alpha * value + (1 - alpha) * self._mama
            alpha *= 0.5
            self._fama = alpha * self._mama + (1 - alpha) * self._fama
            outputs["mama"] = self._mama
            outputs["fama"] = self._fama
        self._re = 0.2 * (i2 * self._prev_i2 + q2 * self._prev_q2) + 0.8 * self._re
        self._im = 0.2 * (i2 * self._prev_q2 - q2 * self._prev_i2) + 0.8 * self._im
        self._prev_q2 = q2
        self._prev_i2 = i2
        last_period = self._period
        period = last_period
        if self._im != 0.0 and self._re != 0.0:
            period = 360.0 / (math.atan(self._im / self._re) * RAD2DEG)
        period = min(period, 1.5 * last_period)
        period = max(period, 0.67 * last_period)
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        self._period = 0.2 * period + 0.8 * last_period
        self._smooth_period = 0.33 * self._period + 0.67 * self._smooth_period
        outputs["period"] = self._smooth_period
        if self._want_phase or self._want_trend:
            self._phase_and_trend(value, outputs)
        self._smooth_index = 0 if self._smooth_index == 49 else self._smooth_index + 1
        if not ready:
            return tuple(NAN for _ in self._keys)
        return tuple(float(outputs[key]) for key in self._keys)

    def _phase_and_trend(self, value: float, outputs: dict[str, float]) -> None:
        smooth_period = self._smooth_period
        prev_dc_phase = self._dc_phase
        cycle = int(smooth_period + 0.5)
        # HT_TRENDLINE needs only the cycle length, not the phase (the kernel skips it too).
        sine = lead_sine = prev_sine = prev_lead_sine = dc_phase = 0.0
        if self._want_phase:
            real_part = 0.0
            imag_part = 0.0
            idx = self._smooth_index
            prices = self._smooth_prices
            if 0 <= cycle <= MAX_CYCLE:
                # Newest first, wrapping around the 50-slot ring, against the tabulated angles.
                newest_first = prices[idx::-1] + prices[:idx:-1]
                angles = zip(SINES[cycle], COSINES[cycle], newest_first, strict=False)
                for sine_k, cosine_k, price in angles:
                    real_part += sine_k * price
                    imag_part += cosine_k * price
            else:
                for k in range(cycle):
                    angle = k * DEG2RAD_BY_360 / cycle
                    real_part += math.sin(angle) * prices[idx]
                    imag_part += math.cos(angle) * prices[idx]
                    idx = 49 if idx == 0 else idx - 1
            dc_phase = self._dc_phase
            magnitude = abs(imag_part)
            if magnitude > 0.0:
                dc_phase = math.atan(real_part / imag_part) * RAD2DEG
            elif magnitude <= 0.01:
                if real_part < 0.0:
                    dc_phase -= 90.0
                elif real_part > 0.0:
                    dc_phase += 90.0
            dc_phase += 90.0
            dc_phase += 360.0 / smooth_period
            if imag_part < 0.0:
                dc_phase += 180.0
            if dc_phase > 315.0:
                dc_phase -= 360.0
            self._dc_phase = dc_phase
            prev_sine, prev_lead_sine = self._sine, self._lead_sine
            self._sine = sine = math.sin(dc_phase * DEG2RAD)
            self._lead_sine = lead_sine = math.sin((dc_phase + 45) * DEG2RAD)
            outputs["phase"] = dc_phase
            outputs["sine"] = sine
            outputs["leadsine"] = lead_sine
        if not self._want_trend:
            return
        average = 0.0
        raw = self._raw
        for k in range(cycle):
            average += raw[-1 - k]
        if cycle > 0:
            average = average / cycle
        trendline = (4.0 * average + 3.0 * self._trend1 + 2.0 * self._trend2 + self._trend3) / 10.0
        self._trend3 = self._trend2
        self._trend2 = self._trend1
        self._trend1 = average
        outputs["trendline"] = trendline
        if not self._want_phase:
            return
        trend = 1
        crossed_up = sine > lead_sine and prev_sine <= prev_lead_sine
        crossed_down = sine < lead_sine and prev_sine >= prev_lead_sine
        if crossed_up or crossed_down:
            self._days_in_trend = 0
            trend = 0
        self._days_in_trend += 1
        if self._days_in_trend < 0.5 * smooth_period:
            trend = 0
        step = dc_phase - prev_dc_phase
        if smooth_period != 0.0 and (
            0.67 * 360.0 / smooth_period < step < 1.5 * 360.0 / smooth_period
        ):
            trend = 0
        price = self._smooth_prices[self._smooth_index]
        if trendline != 0.0 and abs((price - trendline) / trendline) >= 0.015:
            trend = 1
        outputs["trendmode"] = float(trend)
