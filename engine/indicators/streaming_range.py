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
from engine.indicators.kernels_sar import SarState, sar_arguments, sar_start, sar_step
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


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
