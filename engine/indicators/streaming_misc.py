"""More O(1) streams replacing the window engine: MFI, ULTOSC, VORTEX, VHF, BETA, CORREL,
FRACTAL and PERCENTILE.

Each replays its batch kernel's running state bar by bar (sums over a deque of the values
they must drop, monotonic deques for extremes, periodically re-anchored sums for CORREL,
a sorted window for PERCENTILE), so fed the same rows it returns the batch numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.kernels_oscillators import TIE
from engine.indicators.stream_parts import MonotonicExtreme, true_range
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


def _is_zero(value: float) -> bool:
    return value == 0.0


class WindowSumsStream(StreamingIndicator):
    """MFI, VORTEX and VHF: sums over the last ``period`` bar-to-bar items."""

    _previous: tuple[float, ...] | None
    _sums: list[float]
    _counts: list[int]

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = {"mfi": 0, "vortex": 1, "vhf": 2}[spec.name]
        self._items: deque[tuple[float, ...]] = deque()
        self._high = MonotonicExtreme(self._period, True)
        self._low = MonotonicExtreme(self._period, False)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        mode = self._mode
        previous, self._previous = self._previous, row
        nothing = (NAN, NAN) if mode == 1 else (NAN,)
        if mode == 2:
            highest = self._high.push(row[0])
            lowest = self._low.push(row[0])
        if previous is None:
            return nothing
        item: tuple[float, ...]
        if mode == 0:
            typical = (row[0] + row[1] + row[2]) / 3.0
            before = (previous[0] + previous[1] + previous[2]) / 3.0
            flow = typical * row[3]
            change = typical - before
            if abs(change) <= TIE * (abs(typical) + abs(before)):
                item = (0.0, 0.0)
            else:
                item = (flow if change > 0.0 else 0.0, flow if change < 0.0 else 0.0)
            self._counts[0] += item[0] != 0.0
            self._counts[1] += item[1] != 0.0
        elif mode == 1:
            item = (
                abs(row[0] - previous[1]),
                abs(row[1] - previous[0]),
                true_range(row[0], row[1], previous[2]),
            )
        else:
            item = (abs(row[0] - previous[0]),)
        items = self._items
        items.append(item)
        sums = self._sums
        for k, value in enumerate(item):
            sums[k] += value
        if len(items) < self._period:
            return nothing
        if mode == 0:
            total = sums[0] + sums[1]
            result: tuple[float, ...] = (0.0 if total == 0.0 else 100.0 * (sums[0] / total),)
        elif mode == 1:
            tr = sums[2]
            result = (0.0, 0.0) if _is_zero(tr) else (sums[0] / tr, sums[1] / tr)
        else:
            noise = sums[0]
            result = (0.0 if _is_zero(noise) else (highest - lowest) / noise,)
        oldest = items.popleft()
        for k, value in enumerate(oldest):
            sums[k] -= value
        if mode == 0:
            # As the kernel: a side with no flow left in the window is exactly 0.
            for k in (0, 1):
                self._counts[k] -= oldest[k] != 0.0
                if not self._counts[k]:
                    sums[k] = 0.0
        return result

    def _clear(self) -> None:
        self._items.clear()
        self._high.clear()
        self._low.clear()
        self._previous = None
        self._sums = [0.0, 0.0, 0.0]
        self._counts = [0, 0]


class UltoscStream(StreamingIndicator):
    """ULTOSC: buying pressure over true range on three windows, weighted 4:2:1."""

    _close: float
    _sums: list[float]
    _counts: list[int]

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        periods = sorted(int(params[key]) for key in ("timeperiod1", "timeperiod2", "timeperiod3"))
        self._periods = periods
        self._items: deque[tuple[float, float]] = deque(maxlen=periods[2] + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        previous, self._close = self._close, close
        if previous != previous:
            return (NAN,)
        floor = min(low, previous)
        item = (close - floor, max(high, previous) - floor)
        items = self._items
        items.append(item)
        self._count += 1
        sums = self._sums
        for j, period in enumerate(self._periods):
            sums[2 * j] += item[0]
            sums[2 * j + 1] += item[1]
            if self._count > period:
                old = items[-1 - period]
                sums[2 * j] -= old[0]
                sums[2 * j + 1] -= old[1]
        if self._count < self._periods[2]:
            return (NAN,)
        total = 0.0
        for j, weight in enumerate((4.0, 2.0, 1.0)):
            if not _is_zero(sums[2 * j + 1]):
                total += weight * (sums[2 * j] / sums[2 * j + 1])
        return (100.0 * (total / 7.0),)

    def _clear(self) -> None:
        self._items.clear()
        self._close = NAN
        self._count = 0
        self._sums = [0.0] * 6


class FoscStream(StreamingIndicator):
    """FOSC: % gap between the price and the previous bar's time-series forecast (TSF)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._tsf = spec.sibling_stream("tsf", timeperiod=int(params["timeperiod"]))
        self._forecast = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        forecast, self._forecast = self._forecast, float(self._tsf.update(value))  # type: ignore[arg-type]
        if forecast != forecast:
            return (NAN,)
        return (0.0 if value == 0.0 else 100.0 * (value - forecast) / value,)

    def _clear(self) -> None:
        self._tsf.reset()
        self._forecast = NAN
