"""BETA over windows of 2 to 4 returns, against TA-Lib, within the documented 1e-5.

With two returns, n·Σx² − Σx·Σx is (x1 − x2)²: the running sums' rounding, carried over
thousands of bars, is then a large part of it. BETA(2) on the EURUSD sample was 0.109
relative from TA-Lib (-347,247.6 against -389,919.3) and 1.3e-4 on the BTC sample (an
audit), beyond the 1e-5 docs/indicators.md allows. Short windows are now summed afresh
from their returns at every bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

import engine.indicators as ta
from tests.integration.conftest import REPO

FILES = {
    "eurusd": ("EURUSD.csv", "High", "Low"),
    "btc": ("binance_BTC_USDT_1h_20201201_20210717.csv", "high", "low"),
}


@pytest.mark.parametrize("period", [2, 3, 4, 9])
@pytest.mark.parametrize("name", sorted(FILES))
def test_short_window_beta_is_within_the_documented_tolerance(name: str, period: int) -> None:
    file, high_column, low_column = FILES[name]
    frame = pd.read_csv(REPO / "data" / file)
    high = frame[high_column].to_numpy(dtype=float)
    low = frame[low_column].to_numpy(dtype=float)
    want = talib.BETA(high, low, period)
    got = ta.get("beta").compute({"real0": high, "real1": low}, timeperiod=period)["real"]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    sized = np.abs(want) > 1e-9  # below: a flat window, exactly 0 here (a documented sign rule)
    relative = np.abs(got[sized] - want[sized]) / np.abs(want[sized])
    assert relative.max() <= 1e-5, (name, period, float(relative.max()))
    stream = ta.get("beta").streaming(timeperiod=period)
    streamed = np.array([stream.update(a, b) for a, b in zip(high, low, strict=True)])
    np.testing.assert_array_equal(streamed, got)  # the same sums in the same order
