"""Feature matrices over the indicator library: offline (whole series) and bar by bar.

In: `FeatureSpec` declarations (`engine.ml.config`) and bars. Out: a float64 matrix, one
row per bar, one column per feature (NaN during an indicator's warm-up).

Both paths run the same code a strategy's ``ctx.indicator`` runs: the same input-column
rules (`engine.strategy.context`) and the same `Declaration` (batch kernel in a backtest,
its O(1) stream in paper/live, equal by the indicator library's parity tests). So a
feature computed by `build_features` for ``kestrel ml train`` equals the one
`FeatureReader` reads inside a backtest at the same bar; ``test_ml_features`` checks it.
Every indicator is causal (its value at bar t uses bars up to t), so row t holds no
information from after bar t's close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.indicators import registry
from engine.ml.config import FeatureSpec
from engine.strategy.context import Context, input_columns
from engine.strategy.history import Declaration, IndicatorSeries

__all__ = ["FeatureReader", "build_features"]


def build_features(columns: Mapping[str, np.ndarray], specs: Sequence[FeatureSpec]) -> np.ndarray:
    """Return the ``(bars, features)`` matrix of ``specs`` over whole bar columns.

    Args:
        columns: Bar columns by name (``open``, ``high``, ``low``, ``close``, ``volume``),
            equal lengths, oldest first.
        specs: The features, in column order.
    """
    close = np.asarray(columns["close"], dtype=np.float64)
    matrix = np.empty((len(close), len(specs)), dtype=np.float64)
    for j, feature in enumerate(specs):
        spec, resolved = registry.resolve(feature.name, feature.params)
        inputs = input_columns(spec.name, spec.inputs, feature.source, {})
        arrays = {
            key: np.asarray(columns[column], dtype=np.float64) for key, column in inputs.items()
        }
        outputs = Declaration(spec, resolved).compute(arrays)
        values = np.asarray(outputs[feature.output or spec.outputs[0]], dtype=np.float64)
        matrix[:, j] = values / close - 1.0 if feature.scale == "close" else values
    return matrix


class FeatureReader:
    """The features of one symbol as a strategy sees them, one row per closed bar.

    Declares each feature through ``ctx.indicator`` in `FeatureReader.__init__` (call it
    from ``on_start``); `row` then returns the current bar's values.
    """

    def __init__(self, ctx: Context, symbol: str, specs: Sequence[FeatureSpec]) -> None:
        self.symbol = symbol
        self.specs = list(specs)
        self.series: list[IndicatorSeries] = []
        for feature in self.specs:
            params: dict[str, Any] = dict(feature.params)
            indicator = ctx.indicator(feature.name, symbol, source=feature.source, **params)
            self.series.append(
                indicator.output(feature.output) if feature.output is not None else indicator
            )

    def row(self, close: float) -> np.ndarray:
        """Return the current bar's feature vector (``close`` is the bar's close)."""
        values = np.array([series.value for series in self.series], dtype=np.float64)
        for j, feature in enumerate(self.specs):
            if feature.scale == "close":
                values[j] = values[j] / close - 1.0
        return values
