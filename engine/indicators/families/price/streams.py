"""O(1) streams for the price family: element-wise math and price transforms, SUM/MAX/MIN.

Also their index forms (MAXINDEX, ...) and FRACTAL.

Element-wise functions use the ``math`` module (tens of nanoseconds) and fall back to numpy
for the inputs where ``math`` raises instead of returning NaN or infinity, so results match
the batch form exactly, special values included. BOP (momentum) and MARKETFI (volume) are
element-wise too and use :class:`ElementwiseStream` from here.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.indicators._common import Params
from engine.indicators.stream_parts import MonotonicExtreme
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan
Scalar = Callable[..., float]


_MATH: dict[str, tuple[Scalar, Any]] = {
    "acos": (math.acos, np.arccos),
    "asin": (math.asin, np.arcsin),
    "atan": (math.atan, np.arctan),
    "ceil": (math.ceil, np.ceil),
    "cos": (math.cos, np.cos),
    "cosh": (math.cosh, np.cosh),
    "exp": (math.exp, np.exp),
    "floor": (math.floor, np.floor),
    "ln": (math.log, np.log),
    "log10": (math.log10, np.log10),
    "sin": (math.sin, np.sin),
    "sinh": (math.sinh, np.sinh),
    "sqrt": (math.sqrt, np.sqrt),
    "tan": (math.tan, np.tan),
    "tanh": (math.tanh, np.tanh),
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mult": (operator.mul, np.multiply),
    "div": (operator.truediv, np.divide),
}


_PRICE: dict[str, Scalar] = {
    "avgprice": lambda o, h, low, c: (o + h + low + c) / 4.0,
    "medprice": lambda h, low: (h + low) / 2.0,
    "typprice": lambda h, low, c: (h + low + c) / 3.0,
    "wclprice": lambda h, low, c: (h + low + c * 2.0) / 4.0,
    "bop": lambda o, h, low, c: 0.0 if h - low <= 0.0 else (c - o) / (h - low),
    "marketfi": lambda h, low, v: 0.0 if v == 0.0 else (h - low) / v,
}


ELEMENTWISE = frozenset(_MATH) | frozenset(_PRICE)


# Inputs beyond which ``math`` raises but numpy returns a special value. Prices are often
# outside these domains (ACOS of 1000, EXP of 1000), and a raised exception plus the numpy
# fallback costs ~1.5 µs, so those inputs take the answer numpy would give directly.
_OVERFLOW = 710.5  # exp/cosh/sinh of anything beyond this is infinite in float64


def _acos(x: float) -> float:
    return math.acos(x) if -1.0 <= x <= 1.0 or x != x else math.nan


def _asin(x: float) -> float:
    return math.asin(x) if -1.0 <= x <= 1.0 or x != x else math.nan


def _exp(x: float) -> float:
    return math.inf if x > _OVERFLOW else _guarded(math.exp, np.exp)(x)


def _cosh(x: float) -> float:
    return math.inf if abs(x) > _OVERFLOW + 1.0 else _guarded(math.cosh, np.cosh)(x)


def _sinh(x: float) -> float:
    if abs(x) > _OVERFLOW + 1.0:
        return math.copysign(math.inf, x)
    return _guarded(math.sinh, np.sinh)(x)


_DOMAIN: dict[str, Scalar] = {
    "acos": _acos,
    "asin": _asin,
    "exp": _exp,
    "cosh": _cosh,
    "sinh": _sinh,
}


class ElementwiseStream(StreamingIndicator):
    """A value computed from the current bar alone."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        if spec.name in _DOMAIN:
            self._function: Scalar = _DOMAIN[spec.name]
        elif spec.name in _MATH:
            fast, slow = _MATH[spec.name]
            self._function = _guarded(fast, slow)
        else:
            self._function = _PRICE[spec.name]

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        return (float(self._function(*row)),)

    def _clear(self) -> None:
        return None


def _guarded(fast: Scalar, slow: Any) -> Scalar:
    def function(*args: float) -> float:
        try:
            return float(fast(*args))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(slow(*args))

    return function


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


class ExtremeStream(StreamingIndicator):
    """MAX, MIN, MINMAX, MIDPOINT and MIDPRICE from monotonic deques."""

    MODES: ClassVar[dict[str, int]] = {
        "max": 0,
        "min": 1,
        "minmax": 2,
        "midpoint": 3,
        "midprice": 4,
    }

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._high = MonotonicExtreme(self._period, True)
        self._low = MonotonicExtreme(self._period, False)
        self._seen = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        mode = self._mode
        self._seen += 1
        ready = self._seen >= self._period
        if mode == 0:
            highest = self._high.push(row[0])
            return (highest if ready else NAN,)
        if mode == 1:
            lowest = self._low.push(row[0])
            return (lowest if ready else NAN,)
        highest = self._high.push(row[0])
        lowest = self._low.push(row[1] if mode == 4 else row[0])
        if not ready:
            return (NAN, NAN) if mode == 2 else (NAN,)
        if mode == 2:
            return (lowest, highest)
        return ((highest + lowest) / 2.0,)

    def _clear(self) -> None:
        self._high.clear()
        self._low.clear()
        self._seen = 0


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
