"""O(1) stream for the volume family's RVOL (volume over its moving average).

The running lines (AD, OBV, PVT, VWAP, ...), CMF and PVO stream through
:mod:`engine.indicators.streams_shared` (their classes also serve other families).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import SMA, MaCore
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


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
