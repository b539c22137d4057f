"""Batch parity: every non-candlestick indicator equals TA-Lib on every input family.

Parametrized by indicator so each numba kernel compiles once and is reused across inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine.indicators as ta
from tests.parity._compare import assert_close

talib = pytest.importorskip("talib")
abstract = pytest.importorskip("talib.abstract")

NAMES = [spec.name for spec in ta.specs() if spec.group != "Pattern Recognition"]
CANDLES = [spec.name for spec in ta.specs() if spec.group == "Pattern Recognition"]


def talib_outputs(name: str, data: dict[str, np.ndarray], params: dict[str, object]) -> tuple:
    spec = ta.get(name)
    result = getattr(talib, name.upper())(*[data[k] for k in spec.inputs], **params)
    result = result if isinstance(result, tuple) else (result,)
    lookback = abstract.Function(name.upper(), **params).lookback
    outputs = []
    for output, values in zip(spec.outputs, result, strict=True):
        values = values.astype(np.float64)
        if output in spec.integer_outputs:
            # TA-Lib pads integer outputs with 0; the library pads every output with NaN.
            begin = _first_row(data, spec.inputs) + lookback
            values[: min(begin, len(values))] = np.nan
        outputs.append(values)
    return tuple(outputs)


def _first_row(data: dict[str, np.ndarray], inputs: tuple[str, ...]) -> int:
    valid = np.ones(len(data[inputs[0]]), dtype=bool)
    for key in inputs:
        valid &= ~np.isnan(data[key])
    hits = np.flatnonzero(valid)
    return int(hits[0]) if hits.size else len(valid) - 1


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
