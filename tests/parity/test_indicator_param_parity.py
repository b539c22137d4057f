"""Parity beyond defaults: every MA type, minimum periods and random parameter sets."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import engine.indicators as ta
from tests.parity._compare import assert_close, talib_outputs

pytest.importorskip("talib")

NAMES = [spec.name for spec in ta.specs() if spec.group != "Pattern Recognition" and spec.params]

# Known, documented deviation (see docs/indicators.md).
KNOWN = {
    # STOCHRSI's %D with MAMA smoothing differs from TA-Lib's MA(fastk, MAMA) inside TA-Lib.
    ("stochrsi", "fastd_matype", 7),
}


def variants(name: str, count: int = 6) -> list[dict[str, int | float]]:
    """Return deterministic parameter sets: minimum values, then random in-range values."""
    spec = ta.get(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    result = []
    for trial in range(count):
        params: dict[str, int | float] = {}
        for key, default in spec.params.items():
            low, high = spec.ranges[key]
            if "matype" in key:
                params[key] = int(rng.integers(0, 14))
            elif isinstance(default, int):
                top = int(min(high, low + 40))
                params[key] = int(low) if trial == 0 else int(rng.integers(low, top + 1))
            else:
                value = default * rng.uniform(0.3, 1.7) if default else rng.uniform(0.0, 0.1)
                params[key] = float(min(max(value, low), high))
        if name == "mavp":
            params["maxperiod"] = max(params["maxperiod"], params["minperiod"])
        result.append(params)
    return result


def is_known(name: str, params: dict[str, int | float]) -> bool:
    return any(name == n and params.get(key) == value for n, key, value in KNOWN)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_variants_match_talib(
    name: str, datasets: dict[str, dict[str, np.ndarray]]
) -> None:
    spec = ta.get(name)
    data = {k: v[:800] for k, v in datasets["walk"].items()}
    for params in variants(name):
        if is_known(name, params):
            continue
        ours = spec.compute({k: data[k] for k in spec.inputs}, **params)
        theirs = talib_outputs(name, data, params)
        for output, values in zip(spec.outputs, theirs, strict=True):
            assert_close(name, f"{params}/{output}", ours[output], values)


@pytest.mark.parametrize(
    "name", ["ma", "bbands", "apo", "ppo", "macdext", "stoch", "stochf", "mavp", "pvo", "kdj"]
)
@pytest.mark.parametrize("matype", range(14))
def test_every_ma_type(name: str, matype: int, datasets: dict[str, dict[str, np.ndarray]]) -> None:
    spec = ta.get(name)
    params = {key: matype for key in spec.params if "matype" in key}
    data = {k: v[:600] for k, v in datasets["walk"].items()}
    ours = spec.compute({k: data[k] for k in spec.inputs}, **params)
    theirs = talib_outputs(name, data, params)
    for output, values in zip(spec.outputs, theirs, strict=True):
        assert_close(name, f"matype={matype}/{output}", ours[output], values)
