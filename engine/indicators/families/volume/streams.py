"""O(1) streams for the volume family: running lines (AD, OBV, PVT, VWAP, ...), CMF, RVOL.

LineStream also serves CUMSUM (price family) and WAD (momentum); FlowRatioStream (CMF)
also serves VWMA (overlap). Each replays its batch
kernel's arithmetic bar by bar, so fed the same rows it returns the batch numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import SMA, MaCore
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


def _is_zero(value: float) -> bool:
    return value == 0.0


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
            return (typical if self._volume == 0.0 else self._weighted / self._volume,)
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
        if self._vwma:
            value = 0.0 if _is_zero(weight) else total / weight
        else:
            value = 0.0 if weight == 0.0 else total / weight
        old_top, old_volume = pairs.popleft()
        self._top = total - old_top
        self._volume = weight - old_volume
        return (value,)

    def _clear(self) -> None:
        self._pairs.clear()
        self._top = self._volume = 0.0


class RvolStream(StreamingIndicator):
    """RVOL: volume over the previous bar's ``period``-bar SMA of volume."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._sma = MaCore(int(params["timeperiod"]), SMA)
        self._previous = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        volume = row[0]
        previous, self._previous = self._previous, self._sma.push(volume)
        if previous != previous:
            return (NAN,)
        return (0.0 if previous == 0.0 else volume / previous,)

    def _clear(self) -> None:
        self._sma.clear()
        self._previous = NAN
