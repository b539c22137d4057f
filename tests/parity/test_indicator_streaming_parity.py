"""Streaming equals batch, and batch values never change when later bars are appended."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine.indicators as ta
from tests.parity._compare import assert_close

NAMES = [spec.name for spec in ta.specs() if spec.group != "Pattern Recognition"]
SOME_CANDLES = ["cdlengulfing", "cdlmorningstar", "cdldoji"]


def _stream_all(name: str, data: dict[str, np.ndarray]) -> list[np.ndarray]:
    spec = ta.get(name)
    stream = spec.streaming()
    columns = [data[k] for k in spec.inputs]
    rows = []
    for row in zip(*columns, strict=True):
        value = stream.update(*row)
        rows.append(value if isinstance(value, tuple) else (value,))
        assert stream.is_ready == (not math.isnan(rows[-1][0])) or math.isnan(rows[-1][0])
    return [np.array(column) for column in zip(*rows, strict=True)]


@pytest.mark.parametrize("name", NAMES + SOME_CANDLES)
def test_streaming_matches_batch(name: str, datasets: dict[str, dict[str, np.ndarray]]) -> None:
    spec = ta.get(name)
    for label in ("nan_prefix", "short", "constant"):
        data = {k: v[:250] for k, v in datasets[label].items()}
        batch = spec.compute({k: data[k] for k in spec.inputs})
        streamed = _stream_all(name, data)
        for output, values in zip(spec.outputs, streamed, strict=True):
            assert_close(name, f"stream/{label}/{output}", values, batch[output])


@pytest.mark.parametrize("name", NAMES)
def test_prefix_invariance(name: str, datasets: dict[str, dict[str, np.ndarray]]) -> None:
    spec = ta.get(name)
    data = {k: v[:600] for k, v in datasets["walk"].items()}
    full = spec.compute({k: data[k] for k in spec.inputs})
    for cut in (1, 35, 120, 599):
        head = spec.compute({k: data[k][:cut] for k in spec.inputs})
        for output in spec.outputs:
            np.testing.assert_array_equal(head[output], full[output][:cut], err_msg=f"{name}@{cut}")


@pytest.mark.parametrize("name", ["sma", "ema", "rsi", "macd", "bbands", "adx", "maxindex"])
def test_warmup_then_update_matches_batch(
    name: str, datasets: dict[str, dict[str, np.ndarray]]
) -> None:
    spec = ta.get(name)
    data = datasets["walk"]
    batch = spec.compute({k: data[k] for k in spec.inputs})
    stream = spec.streaming()
    stream.warmup({k: data[k][:1000] for k in spec.inputs})
    for i in range(1000, 1100):
        value = stream.update(**{k: float(data[k][i]) for k in spec.inputs})
        values = value if isinstance(value, tuple) else (value,)
        for output, got in zip(spec.outputs, values, strict=True):
            assert got == pytest.approx(batch[output][i], rel=1e-9, abs=1e-9)
    stream.reset()
    assert not stream.is_ready


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("plus_dm", {"timeperiod": 1}),
        ("minus_di", {"timeperiod": 1}),
        ("kama", {"timeperiod": 1}),
        ("apo", {"matype": 0}),
        ("ppo", {"matype": 3}),
        ("bbands", {"matype": 1}),
        ("bbands", {"timeperiod": 2, "nbdevup": 1.5, "nbdevdn": 3.0}),
        ("bbands", {"timeperiod": 70}),
        ("macdext", {"fastperiod": 30, "slowperiod": 4, "signalperiod": 2}),
        ("macdext", {"signalmatype": 1}),
        ("donchian", {"timeperiod": 2}),
        ("willr", {"timeperiod": 2}),
        ("aroon", {"timeperiod": 2}),
        ("aroonosc", {"timeperiod": 3}),
        ("ao", {"fastperiod": 40, "slowperiod": 3}),
        ("ac", {"fastperiod": 2, "slowperiod": 2, "signalperiod": 2}),
        ("accbands", {"timeperiod": 2}),
        ("trima", {"timeperiod": 2}),
        ("trima", {"timeperiod": 7}),
        ("hma", {"timeperiod": 2}),
        ("hma", {"timeperiod": 16}),
        ("coppock", {"wmaperiod": 2, "roc1period": 3, "roc2period": 1}),
        ("er", {"timeperiod": 2}),
        ("cmou", {"timeperiod": 2}),
        ("imi", {"timeperiod": 2}),
        ("dpo", {"timeperiod": 2}),
        ("dpo", {"timeperiod": 9}),
        ("rvol", {"timeperiod": 1}),
        ("vwma", {"timeperiod": 1}),
        ("cmf", {"timeperiod": 2}),
        ("adr", {"timeperiod": 1}),
        ("qstick", {"timeperiod": 1}),
        ("mfi", {"timeperiod": 2}),
        ("vortex", {"timeperiod": 2}),
        ("vhf", {"timeperiod": 2}),
        ("ultosc", {"timeperiod1": 20, "timeperiod2": 2, "timeperiod3": 5}),
        ("beta", {"timeperiod": 1}),
        ("correl", {"timeperiod": 1}),
        ("correl", {"timeperiod": 3}),
        ("fractal", {"leftbars": 1, "rightbars": 3}),
        ("percentile", {"timeperiod": 2}),
        ("percentile", {"timeperiod": 7, "percentile": 10.0}),
        ("percentrank", {"timeperiod": 2}),
        ("fosc", {"timeperiod": 2}),
        ("maxindex", {"timeperiod": 2}),
        ("minmaxindex", {"timeperiod": 7}),
        ("stddev", {"timeperiod": 70}),
        ("stoch", {"slowk_matype": 1}),
        ("atr", {"timeperiod": 1}),
        ("natr", {"timeperiod": 1}),
        ("t3", {"timeperiod": 3, "vfactor": 0.4}),
        ("macd", {"fastperiod": 26, "slowperiod": 12}),
        ("adxr", {"timeperiod": 3}),
        ("roc", {"timeperiod": 1}),
        ("ma", {"timeperiod": 1}),
        ("ma", {"matype": 1}),
        ("ma", {"matype": 2, "timeperiod": 7}),
        ("ma", {"matype": 6}),
        ("ma", {"matype": 13}),
        ("var", {"timeperiod": 1}),
        ("var", {"timeperiod": 2}),
        ("stddev", {"timeperiod": 2, "nbdev": 2.5}),
        ("linearreg_slope", {"timeperiod": 2}),
        ("tsf", {"timeperiod": 37}),
        ("midprice", {"timeperiod": 2}),
        ("minmax", {"timeperiod": 3}),
        ("sum", {"timeperiod": 2}),
        ("wma", {"timeperiod": 1}),
        ("wma", {"timeperiod": 2}),
        ("stoch", {"slowk_matype": 1, "slowd_matype": 2}),
        ("stoch", {"slowk_matype": 13, "slowd_period": 1}),
        ("stoch", {"slowk_matype": 3}),
        ("kdj", {"slowk_matype": 0, "slowd_matype": 1}),
        ("kdj", {"fastk_period": 1, "slowk_period": 1}),
        ("stochf", {"fastd_matype": 1}),
        ("stochf", {"fastd_matype": 2, "fastd_period": 5}),
        ("stochrsi", {"fastd_matype": 13, "fastk_period": 3}),
        ("stochrsi", {"fastd_matype": 3}),
        ("stochrsi", {"timeperiod": 5, "fastd_period": 1}),
        ("smi", {"fastperiod": 2, "slowperiod": 3, "signalperiod": 2}),
        ("smi", {"timeperiod": 2, "fastperiod": 5, "slowperiod": 2}),
    ],
)
def test_streaming_matches_batch_with_parameters(
    name: str, params: dict[str, float], datasets: dict[str, dict[str, np.ndarray]]
) -> None:
    spec = ta.get(name)
    data = {k: v[:200] for k, v in datasets["nan_prefix"].items()}
    batch = spec.compute({k: data[k] for k in spec.inputs}, **params)
    stream = spec.streaming(**params)
    rows = zip(*(data[k] for k in spec.inputs), strict=True)
    values = [stream.update(*row) for row in rows]
    columns = zip(*(v if isinstance(v, tuple) else (v,) for v in values), strict=True)
    for output, column in zip(spec.outputs, columns, strict=True):
        assert_close(name, f"{params}/{output}", np.array(column), batch[output])
