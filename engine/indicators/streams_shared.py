"""O(1) stream classes that serve indicators of several families, switched by name.

Each class here runs one recursion for names TA-Lib files under different groups, so no
single family owns it: :class:`ElementwiseStream` (math and price transforms, BOP,
MARKETFI), :class:`EmaOfStream` (ZLEMA, ERI, EFI, HA), :class:`LineStream` (AD, OBV, PVT,
VWAP, CUMSUM, WAD, ...), :class:`CascadeStream` (DEMA, TEMA, TRIX),
:class:`PriceOscillatorStream` (APO, PPO, PVO), :class:`RangeStream` (WILLR, DONCHIAN),
:class:`ExtremeStream` (MAX, MIN, MINMAX, MIDPOINT, MIDPRICE), :class:`FlowRatioStream` (CMF,
VWMA) and :class:`DifferenceSmaStream` (ADR, QSTICK). Keeping them out of the families
keeps the families' import graph acyclic: a family imports kernels of another family, never
its streams. Each replays its batch kernels' arithmetic, so fed the same rows it returns
the batch numbers.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.indicators._common import TIE, Params
from engine.indicators.stream_parts import (
    EmaCore,
    MonotonicExtreme,
)
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


def _ieee_ratio(top: float, bottom: float) -> float:
    """Return ``top / bottom`` as IEEE division gives it: 0 / 0 is NaN, x / 0 is +-inf."""
    if bottom == 0.0:
        if top == 0.0 or math.isnan(top):
            return NAN
        return math.copysign(math.inf, top) * math.copysign(1.0, bottom)
    return top / bottom


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


class EmaOfStream(StreamingIndicator):
    """EMA-based one-liners: ERI (bull/bear power), EFI (force), ZLEMA, HA candles."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._name = spec.name
        period = int(params.get("timeperiod", 1))
        self._ema = EmaCore(period, 2.0 / (period + 1))
        self._lag = (period - 1) // 2
        self._history: deque[float] = deque(maxlen=self._lag + 1)
        self._ha: tuple[float, float] = (NAN, NAN)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        name = self._name
        if name == "eri":
            high, low, close = row
            average = self._ema.push(close)
            return (high - average, low - average)
        if name == "efi":
            close, volume = row
            previous = self._history[-1] if self._history else NAN
            self._history.append(close)
            if math.isnan(previous):
                return (NAN,)
            return (self._ema.push((close - previous) * volume),)
        if name == "zlema":
            value = row[0]
            self._history.append(value)
            if len(self._history) <= self._lag:
                return (NAN,)
            return (self._ema.push(2.0 * value - self._history[0]),)
        open_, high, low, close = row
        ha_close = (open_ + high + low + close) / 4.0
        previous_open, previous_close = self._ha
        if math.isnan(previous_open):
            ha_open = (open_ + close) / 2.0
        else:
            ha_open = (previous_open + previous_close) / 2.0
        self._ha = (ha_open, ha_close)
        return (ha_open, max(high, ha_open, ha_close), min(low, ha_open, ha_close), ha_close)

    def _clear(self) -> None:
        self._ema.clear()
        self._history.clear()
        self._ha = (NAN, NAN)


class LineStream(StreamingIndicator):
    """Cumulative lines: OBV, A/D, ADOSC, PVT, NVI, PVI, VWAP, WAD, CUMSUM."""

    _count: int
    _total: float
    _previous: float
    _volume: float
    _weighted: float
    _fast: float
    _slow: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._name = spec.name
        if spec.name == "adosc":
            fast, slow = int(params["fastperiod"]), int(params["slowperiod"])
            self._k_fast, self._k_slow = 2.0 / (fast + 1), 2.0 / (slow + 1)
            self._adosc_lookback = max(fast, slow) - 1
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        name = self._name
        first = self._count == 0
        self._count += 1
        if name == "cumsum":
            self._total += row[0]
        elif name in ("ad", "adosc"):
            high, low, close, volume = row
            span = high - low
            if span > 0.0:
                self._total += (((close - low) - (high - close)) / span) * volume
            if name == "adosc":
                return self._adosc(first)
        elif name == "vwap":
            high, low, close, volume = row
            typical = (high + low + close) / 3.0
            self._weighted += typical * volume
            self._volume += volume
            return (0.0 if self._volume == 0.0 else self._weighted / self._volume,)
        else:
            self._changes(row, first)
        return (self._total,)

    def _adosc(self, first: bool) -> tuple[float, ...]:
        if first:
            self._fast = self._slow = self._total
        else:
            self._fast = self._k_fast * self._total + (1.0 - self._k_fast) * self._fast
            self._slow = self._k_slow * self._total + (1.0 - self._k_slow) * self._slow
        if self._count <= self._adosc_lookback:
            return (NAN,)
        return (self._fast - self._slow,)

    def _changes(self, row: tuple[float, ...], first: bool) -> None:
        name = self._name
        if name == "wad":
            high, low, close = row
            previous = self._previous
            if not first:
                if close > previous:
                    self._total += close - min(low, previous)
                elif close < previous:
                    self._total += close - max(high, previous)
            self._previous = close
            return
        close, volume = row
        if first:
            self._total = volume if name == "obv" else (1000.0 if name in ("nvi", "pvi") else 0.0)
        elif name == "obv":
            if close > self._previous:
                self._total += volume
            elif close < self._previous:
                self._total -= volume
        elif name == "pvt":
            if self._previous != 0.0:
                self._total += (close - self._previous) / self._previous * volume
        else:
            moved = volume > self._volume if name == "pvi" else volume < self._volume
            if moved and self._previous != 0.0:
                self._total += self._total * (close - self._previous) / self._previous
        self._previous = close
        self._volume = volume

    def _clear(self) -> None:
        self._count = 0
        self._total = 0.0
        self._previous = NAN
        self._volume = 0.0
        self._weighted = 0.0
        self._fast = self._slow = 0.0


class FlowRatioStream(StreamingIndicator):
    """CMF (money-flow volume over volume) and VWMA (price times volume over volume)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._vwma = spec.name == "vwma"
        self._pairs: deque[tuple[float, float]] = deque()
        self._top = self._volume = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        if self._vwma:
            price, volume = row
            if self._period <= 1:  # TA-Lib: the price itself, whatever the volume
                return (price,)
            top = price * volume
        else:
            high, low, close, volume = row
            span = high - low
            top = (((close - low) - (high - close)) / span) * volume if span > 0.0 else 0.0
        pairs = self._pairs
        pairs.append((top, volume))
        self._top += top
        self._volume += volume
        if len(pairs) < self._period:
            return (NAN,)
        total, weight = self._top, self._volume
        if self._vwma:  # as the kernel (`overlap.kernels.vwma`): no volume is NaN
            period = self._period
            value = _ieee_ratio(total / period, weight / period)
        else:
            value = 0.0 if weight == 0.0 else total / weight
        old_top, old_volume = pairs.popleft()
        self._top = total - old_top
        self._volume = weight - old_volume
        return (value,)

    def _clear(self) -> None:
        self._pairs.clear()
        self._top = self._volume = 0.0


class PriceOscillatorStream(StreamingIndicator):
    """APO, PPO and PVO with exponential legs, both started at the first bar."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        fast, slow = sorted((int(params["fastperiod"]), int(params["slowperiod"])))
        self._fast = EmaCore(fast, 2.0 / (fast + 1))
        self._slow = EmaCore(slow, 2.0 / (slow + 1))
        self._percent = spec.name != "apo"

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        fast = self._fast.push(row[0])
        slow = self._slow.push(row[0])
        if math.isnan(slow):
            return (NAN,)
        if not self._percent:
            return (fast - slow,)
        return (0.0 if abs(slow) < 1e-14 else ((fast - slow) / slow) * 100.0,)

    def _clear(self) -> None:
        self._fast.clear()
        self._slow.clear()


def price_oscillator_stream(spec: StreamSpec, params: Params) -> StreamingIndicator | None:
    """APO/PPO/PVO in O(1) with exponential legs (TA-Lib's default, MA type 1 or 11).

    Other MA types return None, so the binding falls back to the generic engine.
    """
    return PriceOscillatorStream(spec, params) if int(params["matype"]) in (1, 11) else None


class RangeStream(StreamingIndicator):
    """DONCHIAN (upper, middle, lower) and WILLR from the rolling high and low."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._williams = spec.name == "willr"
        self._high = MonotonicExtreme(self._period, True)
        self._low = MonotonicExtreme(self._period, False)
        self._seen = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        highest = self._high.push(row[0])
        lowest = self._low.push(row[1])
        self._seen += 1
        if self._williams:
            if self._seen < self._period:
                return (NAN,)
            span = (highest - lowest) / -100.0
            if abs(highest - lowest) <= TIE * (abs(highest) + abs(lowest)):
                return (0.0,)  # the batch kernel's scaled flat test
            return ((highest - row[2]) / span,)
        if self._seen < self._period:
            return (NAN, NAN, NAN)
        return (highest, (highest + lowest) / 2.0, lowest)

    def _clear(self) -> None:
        self._high.clear()
        self._low.clear()
        self._seen = 0


class DifferenceSmaStream(StreamingIndicator):
    """ADR (average of high - low) and QSTICK (average of close - open)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._qstick = spec.name == "qstick"  # inputs (open, close); ADR's are (high, low)
        self._values: deque[float] = deque()
        self._total = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[1] - row[0] if self._qstick else row[0] - row[1]
        values = self._values
        values.append(value)
        self._total += value
        if len(values) < self._period:
            return (NAN,)
        total = self._total
        self._total = total - values.popleft()
        return (total * (1.0 / self._period),)

    def _clear(self) -> None:
        self._values.clear()
        self._total = 0.0
