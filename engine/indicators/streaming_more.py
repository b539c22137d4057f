"""More O(1) streaming classes: MACD, EMA cascades, ATR, directional movement, volume lines.

Each mirrors its batch kernel's arithmetic bar by bar (same seeding, same zero guards), so
fed the same rows it returns the batch numbers to floating-point rounding.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.stream_parts import EmaCore
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

NAN = math.nan


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
