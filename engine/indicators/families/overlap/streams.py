"""O(1) streams for the overlap family: SMA, EMA, WMA, KAMA, TRIMA/HMA, BBANDS, SAR, KC, ...

Each replays its batch kernel's seeding and arithmetic bar by bar in plain Python floats,
so fed the same rows it returns the batch numbers (the parity tests compare them).
DEMA/TEMA and ZLEMA use classes in :mod:`engine.indicators.streams_shared`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import TIE, Params
from engine.indicators.families.overlap.kernels_sar import (
    SarState,
    sar_arguments,
    sar_start,
    sar_step,
)
from engine.indicators.families.statistic.streams import MomentStream
from engine.indicators.kernels_window import wma_reanchor_interval
from engine.indicators.stream_parts import SMA, WMA, EmaCore, MaCore, true_range, wma_window_sums
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


class SmaStream(StreamingIndicator):
    """Simple moving average over ``timeperiod`` values, via a running sum."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._window: deque[float] = deque()
        self._total = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        self._window.append(value)
        self._total += value
        if len(self._window) > self._period:
            self._total -= self._window.popleft()
        if len(self._window) < self._period:
            return (NAN,)
        return (self._total / self._period,)

    def _clear(self) -> None:
        self._window.clear()
        self._total = 0.0


class EmaStream(StreamingIndicator):
    """Exponential (or, with ``wilder=True``, Wilder's) moving average."""

    def __init__(self, spec: StreamSpec, params: Params, wilder: bool = False) -> None:
        super().__init__(spec, params)
        period = int(params["timeperiod"])
        self._core = EmaCore(period, 1.0 / period if wilder else 2.0 / (period + 1))

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        return (self._core.push(row[0]),)

    def _clear(self) -> None:
        self._core.clear()


class RmaStream(EmaStream):
    """Wilder's smoothed moving average."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params, wilder=True)


class AccbandsStream(StreamingIndicator):
    """ACCBANDS: SMAs of range-widened highs and lows around an SMA of the close."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._bars: deque[tuple[float, float, float]] = deque()
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        total = high + low
        if total == 0.0:
            wide_high, wide_low = high, low
        else:
            factor = 4.0 * (high - low) / total
            wide_high = high * (1.0 + factor)
            wide_low = low * (1.0 - factor)
        bars = self._bars
        bars.append((wide_high, close, wide_low))
        self._high_total += wide_high
        self._close_total += close
        self._low_total += wide_low
        if len(bars) < self._period:
            return (NAN, NAN, NAN)
        scale = 1.0 / self._period
        out = (self._high_total * scale, self._close_total * scale, self._low_total * scale)
        old_high, old_close, old_low = bars.popleft()
        self._high_total -= old_high
        self._close_total -= old_close
        self._low_total -= old_low
        return out

    def _clear(self) -> None:
        self._bars.clear()
        self._high_total = self._close_total = self._low_total = 0.0


class SarStream(StreamingIndicator):
    """SAR and SAREXT in O(1): the batch kernel's own compiled step on a 7-float state.

    Bar 0 only seeds the stop, so the first value comes with bar 1, as in batch.
    """

    _state: SarState | None

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._params = sar_arguments(spec.name, params)
        self._first: tuple[float, ...] = ()
        self._state = None

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low = row
        if not self._first:
            self._first = row
            return (NAN,)
        state = self._state
        if state is None:
            state = sar_start(self._params, self._first[0], self._first[1], high, low)
        value, self._state = sar_step(state, self._params, high, low)
        return (float(value),)

    def _clear(self) -> None:
        self._first = ()
        self._state = None


class KamaStream(StreamingIndicator):
    """Kaufman adaptive moving average (period 1: the input itself)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._window: deque[float] = deque(maxlen=self._period + 1)
        self._noise = 0.0
        self._moving = 0  # non-zero moves in the window
        self._since = 0  # steps since the noise was last summed from the window
        self._value = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        # The batch kernel's sums in its order (`kernels_kama.kama`): the move leaving the
        # window first, then the one entering it, and a fresh sum every `period` steps.
        value = row[0]
        period = self._period
        if period <= 1:
            return (value,)
        window = self._window
        full = len(window) == period + 1
        if full:
            move = abs(window[1] - window[0])
            self._noise -= move
            self._moving -= move != 0.0
        if window:
            move = abs(value - window[-1])
            self._noise += move
            self._moving += move != 0.0
        window.append(value)
        if len(window) <= period:
            return (NAN,)
        if full:
            self._since += 1
            if self._since == period:
                self._since = 0
                noise = 0.0
                for k in range(period):
                    noise += abs(window[k] - window[k + 1])
                self._noise = noise
        if self._moving == 0:
            self._noise = 0.0
        if math.isnan(self._value):
            self._value = window[-2]
        change = value - window[0]
        noise = self._noise
        flat = noise <= change or noise <= TIE * (abs(value) + abs(window[0]))
        ratio = 1.0 if flat else abs(change / noise)
        const_max = 2.0 / 31.0
        sc = ratio * (2.0 / 3.0 - const_max) + const_max
        sc *= sc
        self._value = (value - self._value) * sc + self._value
        return (self._value,)

    def _clear(self) -> None:
        self._window.clear()
        self._noise = 0.0
        self._moving = 0
        self._since = 0
        self._value = NAN


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


class ChainStream(StreamingIndicator):
    """TRIMA (SMA of an SMA) and HMA (WMA of 2 * WMA(p / 2) - WMA(p)) from MA legs."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        period = int(params["timeperiod"])
        self._hull = spec.name == "hma"
        if self._hull:
            root = max(int(math.sqrt(period)), 1)
            self._legs = [
                MaCore(max(period // 2, 1), WMA),
                MaCore(period, WMA),
                MaCore(root, WMA),
            ]
        else:
            inner = (period + 1) // 2
            outer = inner if period % 2 == 1 else period // 2 + 1
            self._legs = [MaCore(inner, SMA), MaCore(outer, SMA)]

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        legs = self._legs
        if not self._hull:
            inner = legs[0].push(row[0])
            return (NAN,) if inner != inner else (legs[1].push(inner),)
        half = legs[0].push(row[0])
        full = legs[1].push(row[0])
        if full != full:
            return (NAN,)
        return (legs[2].push(2.0 * half - full),)

    def _clear(self) -> None:
        for leg in self._legs:
            leg.clear()


class WmaStream(StreamingIndicator):
    """WMA with the batch kernel's weighted and plain running sums."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._divider = self._period * (self._period + 1) / 2.0
        self._window: deque[float] = deque()
        self._weighted = 0.0
        self._plain = 0.0
        self._interval = int(wma_reanchor_interval(self._period))
        self._outputs_seen = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        window.append(value)
        count = len(window)
        period = self._period
        if count < period:
            self._weighted += value * count
            self._plain += value
            return (NAN,)
        outputs = self._outputs_seen
        self._outputs_seen = outputs + 1
        if outputs and outputs % self._interval == 0:
            weighted, plain = wma_window_sums(window)  # the kernel's periodic exact re-sum
        else:
            weighted = self._weighted + value * period
            plain = self._plain + value
        result = weighted / self._divider
        self._weighted = weighted - plain
        self._plain = plain - window.popleft()
        return (result,)

    def _clear(self) -> None:
        self._window.clear()
        self._weighted = 0.0
        self._plain = 0.0
        self._outputs_seen = 0


class BbandsStream(MomentStream):
    """BBANDS around an SMA: the batch kernel's running sum and anchored moments."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        self._total = 0.0
        super().__init__(spec, params)
        self._root = True
        self._up = float(params["nbdevup"])
        self._down = float(params["nbdevdn"])

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        variance = self._variance(value)
        self._total += value
        if variance != variance:
            return (NAN, NAN, NAN)
        total = self._total
        mean = total * (1.0 / self._period)
        self._total = total - self._window[-self._period]
        deviation = math.sqrt(variance)
        return (mean + self._up * deviation, mean, mean - self._down * deviation)

    def _clear(self) -> None:
        super()._clear()
        self._total = 0.0
