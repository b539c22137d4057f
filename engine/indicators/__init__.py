"""Technical indicators: every TA-Lib function, as numba batch kernels and O(1) streams.

Batch functions mirror TA-Lib (same lowercase names, parameter names, defaults, NaN
warm-up and output order)::

    from engine import indicators as ta
    ta.sma(close, timeperiod=30)                      # ndarray, first 29 values NaN
    macd, signal, hist = ta.macd(close, 12, 26, 9)   # pandas Series in -> Series out

Streaming, for paper and live trading::

    stream = ta.get("rsi").streaming(timeperiod=14)
    stream.update(101.5); stream.value; stream.is_ready

Many assets at once (rows are bars, columns are assets; columns run in threads)::

    ta.compute_panel("atr", {"high": h2d, "low": l2d, "close": c2d}, timeperiod=14)

Where things live: ``kernels_*.py`` (numba batch kernels by TA-Lib group),
``composite.py`` (indicators with a selectable MA type, dispatched in Python),
``streaming.py`` and ``streaming_*.py`` (incremental classes), ``bindings/`` (which
kernel, warm-up length and stream serve each name), ``registry.py`` (lookup by name,
parameter checks), ``_catalog.py`` (TA-Lib's names, defaults and limits). Candlestick
patterns (CDL*) are served by TA-Lib itself through the same registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.indicators._api import compute_panel, make_function
from engine.indicators.registry import IndicatorSpec, get, names, resolve, specs
from engine.indicators.streaming import StreamingIndicator

__all__ = [
    "IndicatorSpec",
    "StreamingIndicator",
    "compute_panel",
    "get",
    "names",
    "resolve",
    "specs",
]

_FUNCTIONS: dict[str, Callable[..., Any]] = {spec.name: make_function(spec) for spec in specs()}


def __getattr__(name: str) -> Callable[..., Any]:
    """Return the TA-Lib-style function for indicator ``name`` (e.g. ``sma``, ``macd``)."""
    function = _FUNCTIONS.get(name)
    if function is None:
        raise AttributeError(f"module 'engine.indicators' has no attribute '{name}'")
    return function


def __dir__() -> list[str]:
    return sorted({*__all__, *_FUNCTIONS})
