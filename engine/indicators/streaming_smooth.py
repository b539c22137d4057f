"""O(1) streams for adaptive and EMA-built indicators: KAMA, DM, ERI, EFI, ZLEMA, HA,
APO/PPO/PVO, TSI, CVI, MASSI and SUPERTREND.

Like the other streaming modules, each class repeats its batch kernel's arithmetic bar by
bar, so fed the same rows it returns the batch numbers to floating-point rounding.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import EmaCore, true_range
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


class KamaStream(StreamingIndicator):
    """Kaufman adaptive moving average (period 1: the input itself)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._window: deque[float] = deque(maxlen=self._period + 1)
        self._noise = 0.0
        self._value = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        period = self._period
        if period <= 1:
            return (value,)
        window = self._window
        if window:
            self._noise += abs(value - window[-1])
        if len(window) == period + 1:
            self._noise -= abs(window[1] - window[0])
        window.append(value)
        if len(window) <= period:
            return (NAN,)
        if math.isnan(self._value):
            self._value = window[-2]
        change = value - window[0]
        noise = self._noise
        ratio = 1.0 if noise <= change or noise == 0.0 else abs(change / noise)
        const_max = 2.0 / 31.0
        sc = ratio * (2.0 / 3.0 - const_max) + const_max
        sc *= sc
        self._value = (value - self._value) * sc + self._value
        return (self._value,)

    def _clear(self) -> None:
        self._window.clear()
        self._noise = 0.0
        self._value = NAN


class EmaOfStream(StreamingIndicator):
    """EMA-based one-liners: ERI (bull/bear power), EFI (force), ZLEMA, HA candles."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._name = spec.name
        period = int(params.get("timeperiod", 1))
        self._ema = EmaCore(period, 2.0 / (period + 1))
        self._lag = (period - 1) // 2
        self._history: deque[float] = deque(maxlen=self._lag + 1)
        self._ha: tuple[float, float] = (NAN, NAN)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        name = self._name
        if name == "eri":
            high, low, close = row
            average = self._ema.push(close)
            return (high - average, low - average)
        if name == "efi":
            close, volume = row
            previous = self._history[-1] if self._history else NAN
            self._history.append(close)
            if math.isnan(previous):
                return (NAN,)
            return (self._ema.push((close - previous) * volume),)
        if name == "zlema":
            value = row[0]
            self._history.append(value)
            if len(self._history) <= self._lag:
                return (NAN,)
            return (self._ema.push(2.0 * value - self._history[0]),)
        open_, high, low, close = row
        ha_close = (open_ + high + low + close) / 4.0
        previous_open, previous_close = self._ha
        if math.isnan(previous_open):
            ha_open = (open_ + close) / 2.0
        else:
            ha_open = (previous_open + previous_close) / 2.0
        self._ha = (ha_open, ha_close)
        return (ha_open, max(high, ha_open, ha_close), min(low, ha_open, ha_close), ha_close)

    def _clear(self) -> None:
        self._ema.clear()
        self._history.clear()
        self._ha = (NAN, NAN)


class SupertrendStream(StreamingIndicator):
    """SuperTrend line and trend flag, seeded long on its first bar like TA-Lib."""

    _close: float
    _count: int
    _atr: float
    _upper: float
    _lower: float
    _uptrend: bool

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._multiplier = float(params["multiplier"])
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        previous_close, self._close = self._close, close
        if math.isnan(previous_close):
            return (NAN, NAN)
        tr = true_range(high, low, previous_close)
        period = self._period
        self._count += 1  # true ranges seen
        if self._count < period:
            self._atr += tr
            return (NAN, NAN)
        median = (high + low) / 2.0
        if self._count == period:
            self._atr = (self._atr + tr) / period
            band = self._multiplier * self._atr
            self._upper = median + band
            self._lower = median - band
            self._uptrend = True
            return (self._lower, 1.0)
        self._atr *= period - 1
        self._atr += tr
        self._atr /= period
        band = self._multiplier * self._atr
        basic_upper = median + band
        basic_lower = median - band
        if basic_upper < self._upper or previous_close > self._upper:
            self._upper = basic_upper
        if basic_lower > self._lower or previous_close < self._lower:
            self._lower = basic_lower
        if self._uptrend:
            if close < self._lower:
                self._uptrend = False
        elif close > self._upper:
            self._uptrend = True
        return (self._lower, 1.0) if self._uptrend else (self._upper, -1.0)

    def _clear(self) -> None:
        self._close = NAN
        self._count = 0
        self._atr = 0.0
        self._upper = self._lower = 0.0
        self._uptrend = True


class KcStream(StreamingIndicator):
    """Keltner channels: each leg starts where TA-Lib 0.8 enters it (its own lookback)."""

    _t: int
    _trs: int
    _atr: float
    _close: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._atr_period = int(params["atrperiod"])
        self._nbdev = float(params["nbdev"])
        atr_lookback = max(self._atr_period, 1)
        self._total_lookback = max(self._period - 1, atr_lookback)
        self._ema_start = self._total_lookback - (self._period - 1)
        self._tr_start = self._total_lookback - atr_lookback + 1
        self._ema = EmaCore(self._period, 2.0 / (self._period + 1))
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        t = self._t
        self._t = t + 1
        previous_close, self._close = self._close, close
        middle = NAN
        if t >= self._ema_start:
            middle = self._ema.push((high + low + close) / 3.0)
        if t >= self._tr_start:
            self._push_true_range(true_range(high, low, previous_close))
        if t < self._total_lookback:
            return (NAN, NAN, NAN)
        band = self._atr * self._nbdev
        return (middle + band, middle, middle - band)

    def _push_true_range(self, tr: float) -> None:
        period = self._atr_period
        self._trs += 1
        if period <= 1:
            self._atr = tr
        elif self._trs < period:
            self._atr += tr
        elif self._trs == period:
            self._atr = (self._atr + tr) / period
        else:
            self._atr *= period - 1
            self._atr += tr
            self._atr /= period

    def _clear(self) -> None:
        self._t = 0
        self._trs = 0
        self._atr = 0.0
        self._close = NAN
        self._ema.clear()
