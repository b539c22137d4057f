"""Shared inputs for indicator parity tests: synthetic and real OHLCV series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

Series = dict[str, np.ndarray]

REAL_DATA = (
    Path(__file__).resolve().parents[2] / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
)


def with_aliases(ohlcv: Series, seed: int = 0) -> Series:
    """Add TA-Lib's generic input names (real, real0, real1, periods) to an OHLCV dict."""
    rng = np.random.default_rng(seed)
    n = len(ohlcv["close"])
    return {
        **ohlcv,
        "real": ohlcv["close"],
        "real0": ohlcv["close"],
        "real1": ohlcv["open"],
        "periods": rng.integers(2, 40, n).astype(np.float64),
    }


def random_walk(n: int, seed: int) -> Series:
    """Return a random-walk OHLCV series with consistent highs and lows."""
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))
    open_ = close + rng.normal(0.0, 0.5, n)
    high = np.maximum(open_, close) + rng.uniform(0.0, 1.0, n)
    low = np.minimum(open_, close) - rng.uniform(0.0, 1.0, n)
    volume = rng.uniform(1.0, 100.0, n)
    return with_aliases(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, seed
    )


def real_ohlcv() -> Series | None:
    """Return the BTC/USDT hourly sample from ``data/``, or None when it is absent."""
    if not REAL_DATA.exists():
        return None
    raw = np.genfromtxt(REAL_DATA, delimiter=",", names=True)
    return with_aliases(
        {
            k: np.ascontiguousarray(raw[k], dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")
        }
    )


def constant(n: int) -> Series:
    """Return a flat market: every price 50, volume 10."""
    flat = np.full(n, 50.0)
    return with_aliases(
        {"open": flat, "high": flat, "low": flat, "close": flat, "volume": flat * 0.2}
    )


def nan_prefix(base: Series, count: int) -> Series:
    """Return ``base`` with its first ``count`` rows set to NaN in every input."""
    out = {}
    for key, values in base.items():
        copy = values.copy()
        if key != "periods":
            copy[:count] = np.nan
        out[key] = copy
    return out


@pytest.fixture(scope="session")
def datasets() -> dict[str, Series]:
    """Every input family the parity suite runs on, by label."""
    walk = random_walk(1500, 7)
    sets = {
        "walk": walk,
        "constant": constant(300),
        "nan_prefix": nan_prefix(random_walk(400, 11), 17),
        "short": random_walk(12, 3),
    }
    real = real_ohlcv()
    if real is not None:
        sets["btc"] = real
    return sets
