"""O(1) streams for finite-window indicators that the generic window engine served.

:class:`~engine.indicators.streaming.WindowStream` reruns the numba kernel over the last
``lookback + 1`` rows on every update: exact, but ~2-3 µs of numpy and dispatch overhead per
bar. The classes here keep running state in plain Python floats instead (a deque for the
window, running sums, a monotonic deque for extremes) and replay the batch kernel's
arithmetic in the same order, so fed the same rows they return the batch numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.families.statistic.streams import MomentStream
from engine.indicators.kernels_window import wma_reanchor_interval
from engine.indicators.stream_parts import wma_window_sums
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


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
