"""O(1) streams for the volatility family: ATR, NATR, TRANGE, ADR, CVI, MASSI, RVI.

Each replays its batch kernel's arithmetic bar by bar in plain Python floats, so fed the same
rows it returns the batch numbers (the parity tests compare them).
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


class AtrStream(StreamingIndicator):
    """ATR and NATR (period 1: the raw true range, as TA-Lib returns for both)."""

    _close: float
    _count: int
    _average: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._normalised = spec.name == "natr"
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        previous, self._close = self._close, close
        if math.isnan(previous):
            return (NAN,)
        tr = true_range(high, low, previous)
        period = self._period
        self._count += 1
        if period <= 1:
            return (tr,)
        if self._count < period:
            self._average += tr
            return (NAN,)
        if self._count == period:
            self._average = (self._average + tr) / period
        else:
            self._average = (self._average * (period - 1) + tr) / period
        if not self._normalised:
            return (self._average,)
        return (0.0 if close == 0.0 else (self._average / close) * 100.0,)

    def _clear(self) -> None:
        self._close = NAN
        self._count = 0
        self._average = 0.0


class RangeEmaStream(StreamingIndicator):
    """CVI (rate of change of an EMA of the range) and MASSI (sum of EMA / EMA-of-EMA)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._massi = spec.name == "massi"
        period = int(params["fastperiod" if self._massi else "timeperiod"])
        self._single = EmaCore(period, 2.0 / (period + 1))
        self._double = EmaCore(period, 2.0 / (period + 1))
        size = int(params["slowperiod"]) if self._massi else int(params["rocperiod"]) + 1
        self._window: deque[float] = deque(maxlen=size)
        self._total = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low = row
        single = self._single.push(high - low)
        if math.isnan(single):
            return (NAN,)
        window = self._window
        if not self._massi:
            window.append(single)
            if len(window) < window.maxlen:  # type: ignore[operator]
                return (NAN,)
            previous = window[0]
            return (0.0 if previous == 0.0 else (single - previous) / previous * 100.0,)
        double = self._double.push(single)
        if math.isnan(double):
            return (NAN,)
        ratio = 1.0 if double == 0.0 else single / double
        if len(window) == window.maxlen:
            self._total -= window[0]
        window.append(ratio)
        self._total += ratio
        return (self._total if len(window) == window.maxlen else NAN,)

    def _clear(self) -> None:
        self._single.clear()
        self._double.clear()
        self._window.clear()
        self._total = 0.0


class RviStream(StreamingIndicator):
    """Relative volatility index: Wilder averages of the stddev on up and down bars."""

    _seen: int
    _up: float
    _down: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._window: deque[float] = deque(maxlen=int(params["stddevperiod"]))
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        previous = window[-1] if window else NAN
        window.append(value)
        if len(window) < window.maxlen:  # type: ignore[operator]
            return (NAN,)
        size = len(window)
        mean = sum(window) / size
        sigma = math.sqrt(sum((v - mean) * (v - mean) for v in window) / size)
        delta = value - previous
        up = sigma if delta > 0.0 else 0.0
        down = sigma if delta < 0.0 else 0.0
        period = self._period
        self._seen += 1
        if self._seen <= period:
            self._up += up
            self._down += down
            if self._seen < period:
                return (NAN,)
            self._up /= period
            self._down /= period
        else:
            beta = (period - 1) / period
            alpha = 1.0 - beta
            self._up = beta * self._up + alpha * up
            self._down = beta * self._down + alpha * down
        total = self._up + self._down
        return (50.0 if total == 0.0 else 100.0 * (self._up / total),)

    def _clear(self) -> None:
        self._window.clear()
        self._seen = 0
        self._up = 0.0
        self._down = 0.0


class TrangeStream(StreamingIndicator):
    """TRANGE: the true range against the previous bar's close."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._close = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        previous, self._close = self._close, close
        if previous != previous:
            return (NAN,)
        return (true_range(high, low, previous),)

    def _clear(self) -> None:
        self._close = NAN
