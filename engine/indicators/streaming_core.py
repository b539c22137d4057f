"""Hand-written O(1) streaming classes for history-dependent and hot indicators.

Each class replays TA-Lib's seeding rules bar by bar so that, fed the same rows, it returns
the batch kernel's numbers (to floating-point rounding).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import EmaCore
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
