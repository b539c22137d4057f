"""More O(1) streaming classes: MACD, EMA cascades, ATR, directional movement, volume lines.

Each mirrors its batch kernel's arithmetic bar by bar (same seeding, same zero guards), so
fed the same rows it returns the batch numbers to floating-point rounding.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from engine.indicators._common import Params
from engine.indicators.stream_parts import EmaCore, true_range
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


class MacdStream(StreamingIndicator):
    """MACD / MACDFIX: fast EMA seeded over the bars ending where the slow one starts."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        fixed = spec.name == "macdfix"
        fast, slow = (12, 26) if fixed else (int(params["fastperiod"]), int(params["slowperiod"]))
        fast, slow = min(fast, slow), max(fast, slow)
        self._fast_period, self._slow_period = fast, slow
        self._fast = EmaCore(fast, 0.15 if fixed else 2.0 / (fast + 1))
        self._slow = EmaCore(slow, 0.075 if fixed else 2.0 / (slow + 1))
        signal = int(params["signalperiod"])
        self._signal = EmaCore(signal, 2.0 / (signal + 1))
        self._count = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        self._count += 1
        slow = self._slow.push(value)
        if self._count > self._slow_period - self._fast_period:
            fast = self._fast.push(value)
        else:
            fast = NAN
        if math.isnan(slow):
            return (NAN, NAN, NAN)
        line = fast - slow
        signal = self._signal.push(line)
        if math.isnan(signal):
            return (NAN, NAN, NAN)
        return (line, signal, line - signal)

    def _clear(self) -> None:
        self._fast.clear()
        self._slow.clear()
        self._signal.clear()
        self._count = 0


class CascadeStream(StreamingIndicator):
    """DEMA, TEMA, T3 and TRIX: chained EMAs, each seeded by its input's first mean."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        period = int(params["timeperiod"])
        k = 2.0 / (period + 1)
        if spec.name == "dema":
            self._weights: tuple[float, ...] = (2.0, -1.0)
        elif spec.name == "tema":
            self._weights = (3.0, -3.0, 1.0)
        elif spec.name == "trix":
            self._weights = (0.0, 0.0, 1.0)
        else:
            v = float(params["vfactor"])
            v2, v3 = v * v, v * v * v
            c1, c2 = -v3, 3.0 * (v2 + v3)
            c3, c4 = -6.0 * v2 - 3.0 * (v + v3), 1.0 + 3.0 * v + v3 + 3.0 * v2
            self._weights = (0.0, 0.0, c4, c3, c2, c1)
        self._stages = [EmaCore(period, k) for _ in self._weights]
        self._trix = spec.name == "trix"
        self._previous = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        for stage in self._stages:
            value = stage.push(value)
            if math.isnan(value):
                return (NAN,)
        total = 0.0
        for weight, stage in zip(self._weights, self._stages, strict=True):
            total += weight * stage.value
        if not self._trix:
            return (total,)
        previous, self._previous = self._previous, total
        if math.isnan(previous):
            return (NAN,)
        return (0.0 if previous == 0.0 else ((total / previous) - 1.0) * 100.0,)

    def _clear(self) -> None:
        for stage in self._stages:
            stage.clear()
        self._previous = NAN


class DirectionalStream(StreamingIndicator):
    """+DI, -DI, DX, ADX and ADXR (period > 1) with TA-Lib's Wilder smoothing."""

    MODES: ClassVar[dict[str, int]] = {"plus_di": 0, "minus_di": 1, "dx": 2, "adx": 3, "adxr": 4}
    _count: int
    _previous: tuple[float, ...]
    _plus: float
    _minus: float
    _tr: float
    _dx: float
    _adx: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._history: deque[float] = deque(maxlen=max(self._period - 1, 1))
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, _ = row
        count = self._count = self._count + 1
        if count == 1:
            self._previous = row
            return (NAN,)
        previous_high, previous_low, previous_close = self._previous
        self._previous = row
        up = high - previous_high
        down = previous_low - low
        plus = up if (up > 0 and up > down) else 0.0
        minus = down if (down > 0 and down > up) else 0.0
        tr = true_range(high, low, previous_close)
        period = self._period
        if count <= period:
            self._plus += plus
            self._minus += minus
            self._tr += tr
            return (NAN,)
        self._plus = self._plus - self._plus / period + plus
        self._minus = self._minus - self._minus / period + minus
        self._tr = self._tr - self._tr / period + tr
        mode = self._mode
        small = self._tr == 0.0
        if mode < 2:
            move = self._plus if mode == 0 else self._minus
            return (0.0 if small else 100.0 * (move / self._tr),)
        value = -1.0
        if not small:
            minus_di = 100.0 * (self._minus / self._tr)
            plus_di = 100.0 * (self._plus / self._tr)
            total = minus_di + plus_di
            if total != 0.0:
                value = 100.0 * (abs(minus_di - plus_di) / total)
        if mode == 2:
            if value >= 0.0:
                self._dx = value
            return (self._dx,)
        bars = count - 1 - period  # DX values seen before this one
        if bars < period - 1:
            self._adx += max(value, 0.0)
            return (NAN,)
        if bars == period - 1:
            self._adx = (self._adx + max(value, 0.0)) / period
        elif value >= 0.0:
            self._adx = (self._adx * (period - 1) + value) / period
        adx = self._adx
        if mode == 3:
            return (adx,)
        if len(self._history) < self._history.maxlen:  # type: ignore[operator]
            self._history.append(adx)
            return (NAN,)
        old = self._history[0]
        self._history.append(adx)
        return ((adx + old) / 2.0,)

    def _clear(self) -> None:
        self._count = 0
        self._previous = (NAN, NAN, NAN)
        self._plus = self._minus = self._tr = 0.0
        self._dx = 0.0
        self._adx = 0.0
        self._history.clear()
