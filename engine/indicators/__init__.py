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

Layout: one package per indicator family (TA-Lib group) under ``families/``, holding
everything about its indicators::

    families/<family>/kernels*.py   @njit(cache=True) batch kernels; they import only numpy,
                                    numba, math, the _jit/_alloc/_common helpers and other
                                    kernel modules (DESIGN section 5)
    families/<family>/streams*.py   O(1) incremental classes (StreamingIndicator subclasses)
    families/<family>/binding.py    BINDINGS: name -> Binding(kernel, lookback, memory, stream)

Families: ``overlap``, ``momentum``, ``volatility``, ``volume``, ``statistic``, ``cycle``,
``price`` (price transforms and math operators/transforms) and ``candles`` (CDL*, served
by TA-Lib itself, binding only). A family is a package rather than one module so each
file stays under ~600 lines; the large ones split their kernels or streams by technique
(``momentum/kernels_directional.py``, ``momentum/streams_stoch.py``, ...).
A family may import another family's kernels (momentum's use overlap's WMA), never in a
circle; stream classes that serve names of several families (element-wise math, EMA-of,
running lines, MAX/MIN, ...) live in ``streams_shared.py``.
``tests/unit/indicators/test_indicator_import_graph.py`` checks, by parsing imports, that
no module cycle and no family cycle exists, that kernels import only numeric code, and
that no stream or binding builds a generic stream itself.

Shared modules: ``_catalog.py`` (TA-Lib's names, defaults, limits, outputs: the catalog),
``_binding.py`` (:class:`Binding`, the lookback/MA-type helpers, and
``Binding.open_stream``, the one place a stream is chosen: the binding's O(1) factory, or
the generic window/history engine when it has none for those parameters),
``streaming.py`` (the stream base class, the generic engines and the ``StreamSpec``
protocol streams type against), ``stream_parts.py`` (running state several families'
streams share), ``streams_shared.py`` (stream classes several families use),
``kernels_window.py`` (rolling sums/extremes several families' kernels share),
``composite.py`` (indicators with a selectable MA type, dispatched in Python),
``families/__init__.py`` (which family serves a name: its TA-Lib group, or an exception
listed there; a family's binding, and numba with its kernels, is imported the first time one
of its indicators is computed or streamed), ``registry.py`` (lookup by name, parameter
checks, from the catalogue alone: reading it loads no kernel).

How to add an indicator ``foo`` to an existing family:

1. Add its TA-Lib-style entry (inputs, parameter defaults and limits, outputs, group) to
   ``_catalog.py``.
2. In the family: the kernel in ``kernels*.py``, its O(1) stream (optional) in
   ``streams*.py`` (or a new mode of a class in ``streams_shared.py``), and
   ``"foo": Binding(kernel, lookback, memory, stream)`` in ``binding.py``. Without a
   stream, ``memory`` picks the generic engine; a stream factory may return None for
   parameters it does not cover.

An indicator whose TA-Lib group is not its family's adds one line to ``ELSEWHERE`` in
``families/__init__.py`` (a test fails until it does). A kernel that calls another family's
kernel goes in its own module (as ``overlap/kernels_atr.py``) or is imported inside the
Python function that calls it (as in ``composite.py``), so that using one family does not
load the others (``tests/unit/test_import_cost.py``).
Nothing else changes: the registry, ``engine.indicators.foo(...)``, ``get("foo")``,
``compute_panel`` and ``docs/indicators.md`` (regenerate it) pick it up. A new family is a
new package under ``families/`` plus its name in ``FAMILIES`` and its groups in
``FAMILY_OF_GROUP`` (``families/__init__.py``).
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
