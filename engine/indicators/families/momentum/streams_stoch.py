"""O(1) streams for the stochastic family (STOCH, STOCHF, KDJ, STOCHRSI, SMI) and MACDEXT.

They used to rerun their kernel over the last warm-up + 1 bars (STOCH, STOCHF) or over every
bar seen (KDJ, STOCHRSI, SMI: their Wilder/EMA legs remember the whole history), 5-12 µs
per update and, for the latter, growing without bound in a long live session. Here each
stage is a small running state: monotonic deques for the range, and :class:`MaCore` for
the moving-average legs, replaying the batch kernels' seeding and arithmetic. MACDEXT with
its default SMA legs streams the same way. MA types without an incremental form here (DEMA,
KAMA, ...) keep the generic engines.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.indicators._binding import matype
from engine.indicators._common import TIE, Params
from engine.indicators.stream_parts import EMA, SMA, STREAMED_MATYPES, MaCore, MonotonicExtreme
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


def _fast_k(highest: float, lowest: float, close: float) -> float:
    span = (highest - lowest) / 100.0
    # The batch kernel's scaled flat test (``flat_range``), in plain Python.
    if abs(highest - lowest) <= TIE * (abs(highest) + abs(lowest)):
        return 0.0
    return (close - lowest) / span


class StochStream(StreamingIndicator):
    """STOCH and KDJ (slow %K and %D, KDJ's J = 3K - 2D), or STOCHF (fast %K and %D)."""

    def __init__(self, spec: StreamSpec, params: Params, fast: bool, legs: tuple[int, ...]):
        super().__init__(spec, params)
        self._fast = fast
        self._kdj = spec.name == "kdj"
        k_period = int(params["fastk_period"])
        self._high = MonotonicExtreme(k_period, True)
        self._low = MonotonicExtreme(k_period, False)
        self._k_period = k_period
        if fast:
            self._legs = [MaCore(int(params["fastd_period"]), legs[0])]
        else:
            self._legs = [
                MaCore(int(params["slowk_period"]), legs[0]),
                MaCore(int(params["slowd_period"]), legs[1]),
            ]
        self._seen = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        highest = self._high.push(high)
        lowest = self._low.push(low)
        self._seen += 1
        none = (NAN, NAN, NAN) if self._kdj else (NAN, NAN)
        if self._seen < self._k_period:
            return none
        k = _fast_k(highest, lowest, close)
        if self._fast:
            d = self._legs[0].push(k)
            return none if d != d else (k, d)
        slow_k = self._legs[0].push(k)
        if slow_k != slow_k:
            return none
        slow_d = self._legs[1].push(slow_k)
        if slow_d != slow_d:
            return none
        if self._kdj:
            return (slow_k, slow_d, 3.0 * slow_k - 2.0 * slow_d)
        return (slow_k, slow_d)

    def _clear(self) -> None:
        self._high.clear()
        self._low.clear()
        for leg in self._legs:
            leg.clear()
        self._seen = 0


class RsiCore:
    """RSI value by value with the batch kernel's seeding and one-FMA Wilder smoothing."""

    __slots__ = ("count", "gain", "inverse", "keep", "loss", "period", "previous")

    def __init__(self, period: int) -> None:
        self.period = period
        self.inverse = 1.0 / period
        self.keep = (period - 1.0) / period
        self.count = 0
        self.previous = NAN
        self.gain = 0.0
        self.loss = 0.0

    def push(self, value: float) -> float:
        """Add one price; return RSI, or NaN during the warm-up."""
        previous, self.previous = self.previous, value
        self.count += 1
        if self.count == 1:
            return NAN
        change = value - previous
        period = self.period
        if self.count <= period + 1:
            if change < 0:
                self.loss -= change
            else:
                self.gain += change
            if self.count < period + 1:
                return NAN
            self.gain /= period
            self.loss /= period
        else:
            if change != change:
                self.gain = self.loss = change
            self.gain = self.gain * self.keep + max(change, 0.0) * self.inverse
            self.loss = self.loss * self.keep + max(-change, 0.0) * self.inverse
        total = self.gain + self.loss
        return 100.0 * (self.gain / total) if total > 0.0 else 0.0


class StochRsiStream(StreamingIndicator):
    """STOCHRSI: the fast stochastic of RSI, with RSI and the %D leg kept incrementally."""

    _rsi: RsiCore
    _high: MonotonicExtreme
    _low: MonotonicExtreme
    _d: MaCore
    _seen: int

    def __init__(self, spec: StreamSpec, params: Params, leg: int) -> None:
        super().__init__(spec, params)
        self._rsi_period = int(params["timeperiod"])
        self._k_period = int(params["fastk_period"])
        self._d_period = int(params["fastd_period"])
        self._leg = leg
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        rsi = self._rsi.push(row[0])
        if rsi != rsi:
            return (NAN, NAN)
        highest = self._high.push(rsi)
        lowest = self._low.push(rsi)
        self._seen += 1
        if self._seen < self._k_period:
            return (NAN, NAN)
        k = _fast_k(highest, lowest, rsi)
        d = self._d.push(k)
        return (NAN, NAN) if d != d else (k, d)

    def _clear(self) -> None:
        self._rsi = RsiCore(self._rsi_period)
        self._high = MonotonicExtreme(self._k_period, True)
        self._low = MonotonicExtreme(self._k_period, False)
        self._d = MaCore(self._d_period, self._leg)
        self._seen = 0


class SmiStream(StreamingIndicator):
    """SMI: the batch kernel's one-pass state machine (range, four EMAs, signal EMA)."""

    _high: MonotonicExtreme
    _low: MonotonicExtreme
    _seen: int
    _c1: int
    _c2: int
    _t1: float
    _b1: float
    _t2: float
    _b2: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._fast_period = int(params["fastperiod"])
        self._slow_period = int(params["slowperiod"])
        self._signal = MaCore(int(params["signalperiod"]), EMA)
        self._k_slow = 2.0 / (self._slow_period + 1)
        self._k_fast = 2.0 / (self._fast_period + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, close = row
        highest = self._high.push(high)
        lowest = self._low.push(low)
        self._seen += 1
        if self._seen < self._period:
            return (NAN, NAN)
        distance = close - (highest + lowest) / 2.0
        span = highest - lowest
        slow, fast = self._slow_period, self._fast_period
        if self._c1 < slow:
            self._t1 += distance
            self._b1 += span
            self._c1 += 1
            if self._c1 < slow:
                return (NAN, NAN)
            self._t1 /= slow
            self._b1 /= slow
        else:
            k = self._k_slow
            self._t1 = self._t1 * (1.0 - k) + distance * k
            self._b1 = self._b1 * (1.0 - k) + span * k
        if self._c2 < fast:
            self._t2 += self._t1
            self._b2 += self._b1
            self._c2 += 1
            if self._c2 < fast:
                return (NAN, NAN)
            self._t2 /= fast
            self._b2 /= fast
        else:
            k = self._k_fast
            self._t2 = self._t2 * (1.0 - k) + self._t1 * k
            self._b2 = self._b2 * (1.0 - k) + self._b1 * k
        bottom = self._b2
        value = 0.0 if bottom == 0.0 else 200.0 * (self._t2 / bottom)
        signal = self._signal.push(value)
        return (NAN, NAN) if signal != signal else (value, signal)

    def _clear(self) -> None:
        self._high = MonotonicExtreme(self._period, True)
        self._low = MonotonicExtreme(self._period, False)
        self._signal.clear()
        self._seen = self._c1 = self._c2 = 0
        self._t1 = self._b1 = self._t2 = self._b2 = 0.0


def _legs(
    params: Mapping[str, int | float], keys: tuple[str, ...], default: int
) -> tuple[int, ...]:
    return tuple(matype(params, key, default) for key in keys)


def stoch_stream(spec: StreamSpec, params: Params) -> StreamingIndicator | None:
    """STOCH/KDJ in O(1) when both legs are SMA, EMA, WMA or Wilder; else the generic engine."""
    default = 13 if spec.name == "kdj" else 0
    legs = _legs(params, ("slowk_matype", "slowd_matype"), default)
    if all(leg in STREAMED_MATYPES for leg in legs):
        return StochStream(spec, params, False, legs)
    return None


def stochf_stream(spec: StreamSpec, params: Params) -> StreamingIndicator | None:
    """STOCHF in O(1) for the streamed MA types; else the generic engine."""
    legs = _legs(params, ("fastd_matype",), 0)
    if legs[0] in STREAMED_MATYPES:
        return StochStream(spec, params, True, legs)
    return None


def stochrsi_stream(spec: StreamSpec, params: Params) -> StreamingIndicator | None:
    """STOCHRSI in O(1) for the streamed MA types; else the generic engine."""
    leg = matype(params, "fastd_matype", 0)
    if leg in STREAMED_MATYPES:
        return StochRsiStream(spec, params, leg)
    return None


class MacdSmaStream(StreamingIndicator):
    """MACDEXT with SMA legs (its default), as the fused batch kernel ``macd_sma``."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        fast, slow = int(params["fastperiod"]), int(params["slowperiod"])
        self._fast, self._slow = min(fast, slow), max(fast, slow)
        self._signal = int(params["signalperiod"])
        self._window: deque[float] = deque(maxlen=self._slow)
        self._lines: deque[float] = deque()
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        fast, slow = self._fast, self._slow
        window = self._window
        window.append(value)
        index = self._seen
        self._seen += 1
        self._slow_total += value
        if index >= slow - fast:
            self._fast_total += value
        if index < slow - 1:
            return (NAN, NAN, NAN)
        line = self._fast_total * (1.0 / fast) - self._slow_total * (1.0 / slow)
        self._fast_total -= window[-fast]
        self._slow_total -= window[0]
        lines = self._lines
        lines.append(line)
        self._signal_total += line
        if len(lines) < self._signal:
            return (NAN, NAN, NAN)
        average = self._signal_total * (1.0 / self._signal)
        self._signal_total -= lines.popleft()
        return (line, average, line - average)

    def _clear(self) -> None:
        self._window.clear()
        self._lines.clear()
        self._seen = 0
        self._fast_total = self._slow_total = self._signal_total = 0.0


def macdext_stream(spec: StreamSpec, params: Params) -> StreamingIndicator | None:
    """MACDEXT in O(1) with its default SMA legs; other MA types use the generic engine."""
    legs = _legs(params, ("fastmatype", "slowmatype", "signalmatype"), 0)
    fast = min(int(params["fastperiod"]), int(params["slowperiod"]))
    if legs == (SMA, SMA, SMA) and min(fast, int(params["signalperiod"])) > 1:
        return MacdSmaStream(spec, params)
    return None
