"""Candlestick patterns (TA-Lib group "Pattern Recognition"), served by TA-Lib itself.

Outputs are TA-Lib's integers (-100, 0, 100, ...) as float64 with a NaN warm-up, like every
other indicator here. TA-Lib is imported on first use so plain indicator users never load it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.indicators._binding import Binding
from engine.indicators._catalog import CATALOG
from engine.indicators._common import FloatArray, Params


def _talib(module: str = "talib") -> Any:
    return importlib.import_module(module)


def _lookback(name: str) -> Any:
    def lookback(params: Params) -> int:
        abstract = _talib("talib.abstract")
        return int(abstract.Function(name.upper(), **params).lookback)

    return lookback


def _pattern(name: str) -> Binding:
    lookback = _lookback(name)

    def run(arrays: Sequence[FloatArray], params: Params) -> tuple[FloatArray, ...]:
        function = getattr(_talib(), name.upper())
        values = np.asarray(function(*arrays, **params), dtype=np.float64)
        values[: lookback(params)] = np.nan
        return (values,)

    return Binding(run, lookback)


BINDINGS: dict[str, Binding] = {
    name: _pattern(name) for name, meta in CATALOG.items() if meta.group == "Pattern Recognition"
}
