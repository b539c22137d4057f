"""O(1) streams for the price family: SUM, MAXINDEX/MININDEX/MINMAXINDEX and FRACTAL.

The element-wise math and price transforms and MAX/MIN/MINMAX stream through
:mod:`engine.indicators.streams_shared` (their classes also serve other families).
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


class SumStream(StreamingIndicator):
    """SUM: running total, updated in the batch kernel's order (add, emit, drop oldest)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._window: deque[float] = deque()
        self._total = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        window.append(value)
        self._total += value
        if len(window) < self._period:
            return (NAN,)
        total = self._total
        self._total = total - window.popleft()
        return (total,)

    def _clear(self) -> None:
        self._window.clear()
        self._total = 0.0


class FractalStream(StreamingIndicator):
    """FRACTAL: 100 when the bar ``rightbars`` back is a strict swing high (low)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._left = int(params["leftbars"])
        self._right = int(params["rightbars"])
        self._bars: deque[tuple[float, float]] = deque(maxlen=self._left + self._right + 1)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        bars = self._bars
        bars.append((row[0], row[1]))
        if len(bars) < bars.maxlen:  # type: ignore[operator]
            return (NAN, NAN)
        top, bottom = bars[self._left]
        is_high = is_low = True
        for k, (high, low) in enumerate(bars):
            if k != self._left:
                is_high = is_high and high < top
                is_low = is_low and low > bottom
        return (100.0 if is_high else 0.0, 100.0 if is_low else 0.0)

    def _clear(self) -> None:
        self._bars.clear()


class IndexExtremeStream(StreamingIndicator):
    """MAXINDEX, MININDEX and MINMAXINDEX with TA-Lib's tie rules, as the batch scan.

    A new value takes over on ties; when the extreme leaves the window the rest of the
    window is rescanned and the earliest of equal values wins. The rescan is O(period)
    but rare (amortised O(1) per bar on market data). Positions count from the first row
    of the series, skipped leading NaN rows included, as the batch outputs do.
    """

    _today: int
    _best: list[int]
    _extreme: list[float]

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._wanted = {"maxindex": (True,), "minindex": (False,), "minmaxindex": (False, True)}[
            spec.name
        ]
        self._values: deque[float] = deque(maxlen=self._period)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        self._values.append(value)
        today = self._today = self._today + 1
        trailing = today - self._period + 1
        if trailing < 0:
            # Like the batch scan, start only once the window is full (first step rescans).
            return tuple(NAN for _ in self._wanted)
        outputs = []
        for is_max in self._wanted:
            slot = 0 if is_max else 1
            best, extreme = self._best[slot], self._extreme[slot]
            if best < trailing:
                # Rescan the window (oldest first); strict comparison keeps the earliest.
                best = trailing
                values = self._values
                extreme = values[0]
                for offset in range(1, len(values)):
                    candidate = values[offset]
                    if candidate > extreme if is_max else candidate < extreme:
                        best = trailing + offset
                        extreme = candidate
            elif value >= extreme if is_max else value <= extreme:
                best = today
                extreme = value
            self._best[slot], self._extreme[slot] = best, extreme
            outputs.append(float(best + self._skipped))
        return tuple(outputs)

    def _clear(self) -> None:
        self._values.clear()
        self._today = -1
        self._best = [-1, -1]
        self._extreme = [0.0, 0.0]
