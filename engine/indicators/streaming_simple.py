"""O(1) streams for element-wise indicators (math, price transforms) and fixed lags (MOM, ROC).

Element-wise functions use the ``math`` module (tens of nanoseconds) and fall back to numpy
for the inputs where ``math`` raises instead of returning NaN or infinity, so results match
the batch form exactly, special values included.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.indicators._common import Params
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

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


class LagStream(StreamingIndicator):
    """MOM and the ROC family: compare the value with the one ``timeperiod`` bars back."""

    MODES: dict[str, int] = {"mom": 0, "roc": 1, "rocp": 2, "rocr": 3, "rocr100": 4}  # noqa: RUF012

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._window: deque[float] = deque(maxlen=self._period + 1)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        window.append(value)
        if len(window) <= self._period:
            return (math.nan,)
        previous = window[0]
        mode = self._mode
        if mode == 0:
            return (value - previous,)
        if previous == 0.0:
            return (0.0,)
        if mode == 1:
            return (((value / previous) - 1.0) * 100.0,)
        if mode == 2:
            return ((value - previous) / previous,)
        if mode == 3:
            return (value / previous,)
        return ((value / previous) * 100.0,)

    def _clear(self) -> None:
        self._window.clear()
