"""O(1) streams for running-sum indicators the window engine used to serve.

Each class keeps the few running sums (and a deque of the values they must drop) that its
batch kernel keeps, updated in the same order, so fed the same rows it returns the batch
numbers; chained averages (TRIMA, HMA, COPPOCK) reuse :class:`MaCore` legs.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import SMA, WMA, MaCore
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


def _is_zero(value: float) -> bool:
    return value == 0.0


class ChainStream(StreamingIndicator):
    """TRIMA (SMA of an SMA) and HMA (WMA of 2 * WMA(p / 2) - WMA(p)) from MA legs."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        period = int(params["timeperiod"])
        self._hull = spec.name == "hma"
        if self._hull:
            root = max(int(math.sqrt(period)), 1)
            self._legs = [
                MaCore(max(period // 2, 1), WMA),
                MaCore(period, WMA),
                MaCore(root, WMA),
            ]
        else:
            inner = (period + 1) // 2
            outer = inner if period % 2 == 1 else period // 2 + 1
            self._legs = [MaCore(inner, SMA), MaCore(outer, SMA)]

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        legs = self._legs
        if not self._hull:
            inner = legs[0].push(row[0])
            return (NAN,) if inner != inner else (legs[1].push(inner),)
        half = legs[0].push(row[0])
        full = legs[1].push(row[0])
        if full != full:
            return (NAN,)
        return (legs[2].push(2.0 * half - full),)

    def _clear(self) -> None:
        for leg in self._legs:
            leg.clear()


class CoppockStream(StreamingIndicator):
    """COPPOCK: WMA of the sum of two rates of change."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._roc1 = int(params["roc1period"])
        self._roc2 = int(params["roc2period"])
        self._prices: deque[float] = deque(maxlen=max(self._roc1, self._roc2) + 1)
        self._wma = MaCore(int(params["wmaperiod"]), WMA)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        prices = self._prices
        prices.append(row[0])
        if len(prices) < prices.maxlen:  # type: ignore[operator]
            return (NAN,)
        return (self._wma.push(self._roc(self._roc1) + self._roc(self._roc2)),)

    def _roc(self, period: int) -> float:
        previous = self._prices[-1 - period]
        return 0.0 if previous == 0.0 else ((self._prices[-1] / previous) - 1.0) * 100.0

    def _clear(self) -> None:
        self._prices.clear()
        self._wma.clear()


class ChangeSumStream(StreamingIndicator):
    """ER (net over summed absolute change), CMOU (plain-sum CMO) and IMI (candle bodies)."""

    _previous: float
    _up: float
    _down: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = {"er": 0, "cmou": 1, "imi": 2}[spec.name]
        self._moves: deque[float] = deque()
        # ER compares the price with the one ``period`` bars back.
        self._prices: deque[float] = deque(maxlen=self._period + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        mode = self._mode
        if mode == 2:
            move = row[1] - row[0]  # the candle body; IMI's window counts bodies
        else:
            previous, self._previous = self._previous, row[0]
            self._prices.append(row[0])
            if previous != previous:
                return (NAN,)
            move = row[0] - previous
        moves = self._moves
        moves.append(move)
        if mode == 0:
            self._up += abs(move)
        elif move > 0:
            self._up += move
        else:
            self._down -= move
        if len(moves) < self._period:
            return (NAN,)
        if mode == 0:
            net = abs(self._prices[-1] - self._prices[0])
            noise = self._up
            value = 1.0 if (noise <= net) | _is_zero(noise) else net / noise
        else:
            total = self._up + self._down
            if mode == 1:
                value = 0.0 if _is_zero(total) else 100.0 * ((self._up - self._down) / total)
            else:
                value = 50.0 if _is_zero(total) else 100.0 * (self._up / total)
        old = moves.popleft()
        if mode == 0:
            self._up -= abs(old)
        elif old > 0:
            self._up -= old
        else:
            self._down += old
        return (value,)

    def _clear(self) -> None:
        self._moves.clear()
        self._prices.clear()
        self._previous = NAN
        self._up = self._down = 0.0


class DpoStream(StreamingIndicator):
    """DPO: the price ``period / 2 + 1`` bars ago minus the current SMA."""

    _seen: int
    _total: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._shift = self._period // 2 + 1
        self._prices: deque[float] = deque(maxlen=max(self._period, self._shift) + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        prices = self._prices
        prices.append(row[0])
        index = self._seen
        self._seen += 1
        self._total += row[0]
        period = self._period
        if index >= period:
            self._total -= prices[-1 - period]
        if index < max(period - 1, self._shift):
            return (NAN,)
        return (prices[-1 - self._shift] - self._total * (1.0 / period),)

    def _clear(self) -> None:
        self._prices.clear()
        self._seen = 0
        self._total = 0.0
