"""O(1) streams for element-wise indicators (math, price transforms) and fixed lags (MOM, ROC).

Element-wise functions use the ``math`` module (tens of nanoseconds) and fall back to numpy
for the inputs where ``math`` raises instead of returning NaN or infinity, so results match
the batch form exactly, special values included.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from engine.indicators._common import Params
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


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
