"""O(1) streams for range and median-price indicators the window engine used to serve.

DONCHIAN, WILLR, AROON/AROONOSC, AO/AC and ACCBANDS reran their kernel over the last
warm-up + 1 bars on every update (3-4 µs). These keep monotonic deques for the extremes
and running sums updated in the batch kernels' order, so fed the same rows they return
the batch numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.kernels_oscillators import TIE
from engine.indicators.kernels_sar import SarState, sar_arguments, sar_start, sar_step
from engine.indicators.stream_parts import MonotonicExtreme
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


class RangeStream(StreamingIndicator):
    """DONCHIAN (upper, middle, lower) and WILLR from the rolling high and low."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._williams = spec.name == "willr"
        self._high = MonotonicExtreme(self._period, True)
        self._low = MonotonicExtreme(self._period, False)
        self._seen = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        highest = self._high.push(row[0])
        lowest = self._low.push(row[1])
        self._seen += 1
        if self._williams:
            if self._seen < self._period:
                return (NAN,)
            span = (highest - lowest) / -100.0
            if abs(highest - lowest) <= TIE * (abs(highest) + abs(lowest)):
                return (0.0,)  # the batch kernel's scaled flat test
            return ((highest - row[2]) / span,)
        if self._seen < self._period:
            return (NAN, NAN, NAN)
        return (highest, (highest + lowest) / 2.0, lowest)

    def _clear(self) -> None:
        self._high.clear()
        self._low.clear()
        self._seen = 0


class AroonStream(StreamingIndicator):
    """AROON (down, up) and AROONOSC over ``period + 1`` bars, ties to the latest bar.

    A monotonic deque that drops equal values keeps the latest of them at its front, which
    is the index the batch scan reports.
    """

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._oscillator = spec.name == "aroonosc"
        self._high = MonotonicExtreme(self._period + 1, True)
        self._low = MonotonicExtreme(self._period + 1, False)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        self._high.push(row[0])
        self._low.push(row[1])
        today = self._high.count - 1
        period = self._period
        factor = 100.0 / period
        highest_at = self._high.items[0][0]
        lowest_at = self._low.items[0][0]
        if self._oscillator:
            return (factor * (float(highest_at) - float(lowest_at)) if today >= period else NAN,)
        if today < period:
            return (NAN, NAN)
        return (factor * (period - (today - lowest_at)), factor * (period - (today - highest_at)))

    def _clear(self) -> None:
        self._high.clear()
        self._low.clear()


class AwesomeStream(StreamingIndicator):
    """AO (fast SMA minus slow SMA of the median price) and AC (AO minus its SMA)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._fast = int(params["fastperiod"])
        self._slow = int(params["slowperiod"])
        self._signal = int(params["signalperiod"]) if spec.name == "ac" else 0
        self._medians: deque[float] = deque(maxlen=max(self._fast, self._slow) + 1)
        self._lines: deque[float] = deque()
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        median = (row[0] + row[1]) / 2.0
        medians = self._medians
        medians.append(median)
        index = self._seen
        self._seen += 1
        fast, slow = self._fast, self._slow
        self._fast_sum += median
        self._slow_sum += median
        if index >= fast:
            self._fast_sum -= medians[-1 - fast]
        if index >= slow:
            self._slow_sum -= medians[-1 - slow]
        if index < max(fast, slow) - 1:
            return (NAN,)
        awesome = self._fast_sum * (1.0 / fast) - self._slow_sum * (1.0 / slow)
        signal = self._signal
        if not signal:
            return (awesome,)
        lines = self._lines
        lines.append(awesome)
        self._total += awesome
        if len(lines) < signal:
            return (NAN,)
        value = awesome - self._total * (1.0 / signal)
        self._total -= lines.popleft()
        return (value,)

    def _clear(self) -> None:
        self._medians.clear()
        self._lines.clear()
        self._seen = 0
        self._fast_sum = self._slow_sum = self._total = 0.0


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
