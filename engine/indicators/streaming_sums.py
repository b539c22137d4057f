"""O(1) streams for running-sum indicators the window engine used to serve.

Each class keeps the few running sums (and a deque of the values they must drop) that its
batch kernel keeps, updated in the same order, so fed the same rows it returns the batch
numbers; chained averages (TRIMA, HMA, COPPOCK) reuse :class:`MaCore` legs.
"""

from __future__ import annotations

import math
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
