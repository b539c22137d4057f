"""Batch parity: every non-candlestick indicator equals TA-Lib on every input family.

Parametrized by indicator so each numba kernel compiles once and is reused across inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine.indicators as ta
from tests.parity._compare import assert_close, talib_outputs

talib = pytest.importorskip("talib")
abstract = pytest.importorskip("talib.abstract")

NAMES = [spec.name for spec in ta.specs() if spec.group != "Pattern Recognition"]
CANDLES = [spec.name for spec in ta.specs() if spec.group == "Pattern Recognition"]


@pytest.mark.parametrize("name", NAMES)
def test_batch_matches_talib(name: str, datasets: dict[str, dict[str, np.ndarray]]) -> None:
    spec = ta.get(name)
    params = dict(spec.params)
    assert spec.lookback(**params) == abstract.Function(name.upper(), **params).lookback
    for label, data in datasets.items():
        ours = spec.compute({k: data[k] for k in spec.inputs}, **params)
        theirs = talib_outputs(name, data, params)
        for output, values in zip(spec.outputs, theirs, strict=True):
            assert_close(name, f"{label}/{output}", ours[output], values)


@pytest.mark.parametrize("name", CANDLES)
def test_candlestick_served_through_registry(
    name: str, datasets: dict[str, dict[str, np.ndarray]]
) -> None:
    spec = ta.get(name)
    data = datasets.get("btc", datasets["walk"])
    ours = spec.compute({k: data[k] for k in spec.inputs})
    (theirs,) = talib_outputs(name, data, dict(spec.params))
    assert_close(name, "ohlc", ours[spec.outputs[0]], theirs)
