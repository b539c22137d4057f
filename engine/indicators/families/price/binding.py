"""Bindings for "Price Transform", "Math Operators" and "Math Transform", plus FRACTAL.

Element-wise functions use numpy's vectorised ufuncs: they are as fast as a numba loop
and cost no compilation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine.indicators import kernels_window as wi
from engine.indicators._binding import Binding, StreamFactory, constant, ints, period_minus
from engine.indicators._common import FloatArray, Params
from engine.indicators.families.price import kernels as pr
from engine.indicators.families.price.streams import FractalStream, IndexExtremeStream, SumStream
from engine.indicators.streams_shared import (
    ElementwiseStream,
    EmaOfStream,
    ExtremeStream,
    LineStream,
)

A = Sequence[FloatArray]
Out = tuple[FloatArray, ...]
Ufunc = Callable[[FloatArray], FloatArray]


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


def _unary(function: Ufunc) -> Binding:
    def run(a: A, p: Params) -> Out:
        with np.errstate(all="ignore"):
            return (np.asarray(function(a[0]), dtype=np.float64),)

    return Binding(run, constant(0), stream=ElementwiseStream)


def _binary(function: Callable[[FloatArray, FloatArray], FloatArray]) -> Binding:
    def run(a: A, p: Params) -> Out:
        with np.errstate(all="ignore"):
            return (np.asarray(function(a[0], a[1]), dtype=np.float64),)

    return Binding(run, constant(0), stream=ElementwiseStream)


def _window(
    *functions: Callable[[FloatArray, int, int], FloatArray], stream: StreamFactory | None = None
) -> Binding:
    def run(a: A, p: Params) -> Out:
        return tuple(function(a[0], _tp(p), 0) for function in functions)

    index = functions[0] in (wi.rolling_max_index, wi.rolling_min_index)
    return Binding(run, period_minus(1), index_outputs=index, stream=stream)


def _average(mode: int) -> Binding:
    def run(a: A, p: Params) -> Out:
        padded = [*a, *([a[0]] * (4 - len(a)))]
        return (pr.price_average(padded[0], padded[1], padded[2], padded[3], mode),)

    return Binding(run, constant(0), stream=ElementwiseStream)


def _fractal(a: A, p: Params) -> Out:
    return pr.fractal(a[0], a[1], *ints(p, "leftbars", "rightbars"))


BINDINGS: dict[str, Binding] = {
    "avgprice": _average(0),
    "medprice": _average(1),
    "typprice": _average(2),
    "wclprice": _average(3),
    "ha": Binding(
        lambda a, p: pr.heikin_ashi(a[0], a[1], a[2], a[3]), constant(0), "history", EmaOfStream
    ),
    "fractal": Binding(
        _fractal, lambda p: sum(ints(p, "leftbars", "rightbars")), stream=FractalStream
    ),
    "add": _binary(np.add),
    "sub": _binary(np.subtract),
    "mult": _binary(np.multiply),
    "div": _binary(np.divide),
    "cumsum": Binding(lambda a, p: (pr.cumsum(a[0]),), constant(0), "cumulative", LineStream),
    "sum": _window(wi.rolling_sum, stream=SumStream),
    "max": _window(wi.rolling_max, stream=ExtremeStream),
    "min": _window(wi.rolling_min, stream=ExtremeStream),
    "minmax": Binding(
        lambda a, p: wi.rolling_min_max(a[0], _tp(p), 0), period_minus(1), stream=ExtremeStream
    ),
    "maxindex": _window(wi.rolling_max_index, stream=IndexExtremeStream),
    "minindex": _window(wi.rolling_min_index, stream=IndexExtremeStream),
    "minmaxindex": _window(wi.rolling_min_index, wi.rolling_max_index, stream=IndexExtremeStream),
    "acos": Binding(lambda a, p: (pr.arc(a[0], True),), constant(0), stream=ElementwiseStream),
    "asin": Binding(lambda a, p: (pr.arc(a[0], False),), constant(0), stream=ElementwiseStream),
    "atan": _unary(np.arctan),
    "ceil": _unary(np.ceil),
    "cos": _unary(np.cos),
    "cosh": _unary(np.cosh),
    "exp": _unary(np.exp),
    "floor": _unary(np.floor),
    "ln": _unary(np.log),
    "log10": _unary(np.log10),
    "sin": _unary(np.sin),
    "sinh": _unary(np.sinh),
    "sqrt": _unary(np.sqrt),
    "tan": _unary(np.tan),
    "tanh": _unary(np.tanh),
}
