"""Declared indicators as strategies read them.

An `IndicatorSeries` is a sequence of float64 (an ``array.array('d')``) that holds the
indicator's values of the bars that have closed, oldest first: ``series[-1]`` is the
current bar's value, ``series[-2]`` the one before. It grows by one value per bar of its
symbol (fed by `engine.cache.MarketCache`), so it never contains a value from the future.
Warm-up values are NaN, as in TA-Lib. Reading is native indexing: the per-bar hot path
pays nothing for the safety.

Why an array and not a list (issue 13): a list holds a 24-byte float object plus an
8-byte pointer per value, the array 8 bytes; over 10 M bars that is ~240 MB per output
(and as much again for the precomputed values it is fed from). The cost is ~40 ns per
bar and output (a float is boxed when read) and one visible difference: a slice
(``series[-3:]``) is an ``array('d', ...)``, which compares unequal to a list — compare
``list(series[-3:])`` or use `IndicatorSeries.to_numpy`.
"""

from __future__ import annotations

import array
import math
from collections.abc import Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple, Self, cast

import numpy as np

from engine.cache import SymbolHistory
from engine.errors import IndicatorError, did_you_mean
from engine.indicators.registry import IndicatorSpec
from engine.indicators.streaming import StreamingIndicator

__all__ = [
    "Declaration",
    "Indicator",
    "IndicatorSeries",
    "precomputed_indicator",
    "streaming_indicator",
]


if TYPE_CHECKING:
    _Doubles = array.array[float]
else:  # array.array is not subscriptable at run time
    _Doubles = array.array


class IndicatorSeries(_Doubles):
    """One output of a declared indicator: the values of the closed bars, oldest first."""

    __slots__ = ("name",)
    name: str

    def __new__(cls, name: str, *_: object) -> Self:
        series = cast(Self, super().__new__(cls, "d"))
        series.name = name
        return series

    def __repr__(self) -> str:
        return f"<{self.name}: {len(self)} values, last {self.value!r}>"

    @property
    def value(self) -> float:
        """Return the value at the current bar (NaN before the first bar or in warm-up)."""
        return self[-1] if self else math.nan

    @property
    def is_ready(self) -> bool:
        """Return True once the current value is not NaN (warm-up is over)."""
        return not math.isnan(self.value)

    def to_numpy(self) -> np.ndarray:
        """Return a float64 copy of the values so far."""
        return np.frombuffer(self, dtype=np.float64).copy()


class Indicator(IndicatorSeries):
    """A declared indicator: itself its first output; every output by name in ``outputs``.

    ``ind[-1]`` is the first output's current value (``sma``, ``rsi``; for ``macd`` the
    macd line); ``ind.output("macdsignal")[-1]`` reads another output.
    """

    __slots__ = ("outputs",)

    def __init__(self, name: str, output_names: tuple[str, ...]) -> None:
        first, *others = output_names
        self.outputs: dict[str, IndicatorSeries] = {first: self}
        for other in others:
            self.outputs[other] = IndicatorSeries(f"{name}.{other}")

    def output(self, name: str) -> IndicatorSeries:
        """Return the output called ``name`` (TA-Lib's output names)."""
        try:
            return self.outputs[name]
        except KeyError:
            raise IndicatorError(
                f"{self.name} has no output {name!r}{did_you_mean(name, self.outputs)}"
            ) from None

    @property
    def is_ready(self) -> bool:
        """Return True once every output's current value is not NaN."""
        return all(not math.isnan(series.value) for series in self.outputs.values())


class Declaration(NamedTuple):
    """An indicator as a strategy declared it: the registry spec and full parameters."""

    spec: IndicatorSpec
    params: dict[str, int | float]

    def compute(self, arrays: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """Return the batch outputs over whole input columns (TA-Lib order)."""
        return self.spec.compute(arrays, **self.params)

    def streaming(self) -> StreamingIndicator:
        """Return a fresh O(1) streaming instance."""
        return self.spec.streaming(**self.params)


def precomputed_indicator(
    name: str, history: SymbolHistory, inputs: Mapping[str, str], declared: Declaration
) -> Indicator:
    """Compute an indicator over a symbol's whole loaded columns; reveal it bar by bar.

    The backtest form: the batch kernel runs once, `MarketCache.on_bar` appends one value
    per bar to the arrays the strategy holds.

    Args:
        name: Display name (e.g. ``"sma(timeperiod=10)"``).
        history: The symbol's history; its cursor decides how much is revealed.
        inputs: Indicator input name → history column (``{"real": "close"}``).
        declared: What to compute.
    """
    arrays = {key: history.columns[column] for key, column in inputs.items()}
    outputs = declared.compute(arrays)
    indicator = Indicator(name, tuple(outputs))
    for output_name, values in outputs.items():
        source = array.array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())
        history.add_feed(indicator.outputs[output_name].append, source)
    return indicator


def streaming_indicator(
    name: str, history: SymbolHistory, inputs: Mapping[str, str], declared: Declaration
) -> Indicator:
    """Update an indicator bar by bar with its streaming form (paper and live).

    The stream is first fed the bars already in the history (warm-up), then
    `engine.cache.LiveMarketCache` feeds it each new bar; its values land in the same
    arrays a backtest fills, and equal the batch values (the indicator library's parity
    tests show it).
    """
    stream = declared.streaming()
    indicator = Indicator(name, declared.spec.outputs)
    series = [indicator.outputs[output] for output in declared.spec.outputs]
    columns = list(inputs.values())

    def push(*row: float) -> None:
        value = stream.update(*row)
        if isinstance(value, tuple):
            for out, item in zip(series, value, strict=True):
                out.append(float(item))
        else:
            series[0].append(float(value))

    for row in range(history.cursor.n):  # warm up on the bars already seen
        push(*(float(history.columns[column][row]) for column in columns))
    getters = [attrgetter(column) for column in columns]
    history.updaters.append(lambda bar: push(*(get(bar) for get in getters)))
    return indicator
