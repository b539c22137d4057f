"""VWMA and VWAP where the volume is zero, against TA-Lib 0.8.1.

A data file without a volume column loads as volume 0 on every bar, and exchanges print
zero-volume bars in quiet hours. TA-Lib divides there as written: VWMA's window of no
volume is 0 / 0 = NaN (period 1 is the price itself), and VWAP is 0 until some volume has
traded. Kestrel gave VWMA 0.0 (so ``close > vwma`` was always true) and VWAP the bar's
typical price (an audit of the streaming indicators).
"""

from __future__ import annotations

import numpy as np
import pytest
import talib

import engine.indicators as ta


def _series() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, 120))
    volume = rng.uniform(1.0, 50.0, 120)
    volume[:12] = 0.0  # none traded yet
    volume[40:75] = 0.0  # a quiet stretch longer than the windows below
    volume[90] = 0.0  # one quiet bar
    return {"high": close + 1.0, "low": close - 1.0, "close": close, "volume": volume}


def _stream(name: str, columns: list[np.ndarray], **params: float) -> np.ndarray:
    stream = ta.get(name).streaming(**params)
    values = [stream.update(*row) for row in zip(*columns, strict=True)]
    return np.array([v[0] if isinstance(v, tuple) else v for v in values])


def _same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


@pytest.mark.parametrize("period", [1, 2, 3, 30])
@pytest.mark.parametrize("all_zero", [False, True])
def test_vwma_of_no_volume_is_nan_and_period_one_is_the_price(period: int, all_zero: bool) -> None:
    data = _series()
    volume = np.zeros(120) if all_zero else data["volume"]
    want = talib.VWMA(data["close"], volume, period)
    got = ta.get("vwma").compute({"real": data["close"], "volume": volume}, timeperiod=period)
    _same(got["real"], want)
    _same(_stream("vwma", [data["close"], volume], timeperiod=period), want)


@pytest.mark.parametrize("all_zero", [False, True])
def test_vwap_is_zero_until_volume_has_traded(all_zero: bool) -> None:
    data = _series()
    volume = np.zeros(120) if all_zero else data["volume"]
    columns = [data["high"], data["low"], data["close"], volume]
    want = talib.VWAP(*columns)
    names = ("high", "low", "close", "volume")
    got = ta.get("vwap").compute(dict(zip(names, columns, strict=True)))
    _same(got["real"], want)
    _same(_stream("vwap", columns), want)
