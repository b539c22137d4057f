"""O(1) streams for the momentum oscillators built on a rolling range or window sums.

AROON/AROONOSC, AO/AC, MFI/VORTEX/VHF
(:class:`WindowSumsStream`) and ULTOSC: monotonic deques for the extremes, running sums for
the rest, replaying the batch kernels' arithmetic so results match bar for bar.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import TIE, Params
from engine.indicators.stream_parts import MonotonicExtreme, true_range
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


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
