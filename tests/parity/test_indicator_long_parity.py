"""Long-series parity: every non-pattern TA-Lib function on 1,000,000 bars, two markets.

The short parity suite cannot see decisions that go wrong once in a few thousand bars: two
typical prices equal in decimal but one ulp apart (MFI), a flat window (STOCHRSI, BETA), a
running sum that drifts after 10^5 updates (CCI, WMA, STDDEV, AD). So this test runs every
function of ``talib.get_functions()`` itself -- not our registry, so a function we forget to
bind fails here -- with TA-Lib's default parameters on two 1,000,000-bar series:

* ``walk``: a float random walk (prices never repeat, values are arbitrary doubles);
* ``grid``: prices on a cent grid (``k / 100``), ticks of -2..2 cents, many zero ticks,
  flat stretches of 20-200 bars, highs/lows touching open/close, integer volumes -- so equal
  highs, equal lows, zero ranges and flat windows are common.

Decisions must agree exactly: the NaN pattern, the sign and exact zeros (for a listed few,
only above a noise floor where the value is a residue of rounding: ``NOISE_FLOOR``). Values
must agree within ``TOLERANCE`` (1e-9 relative by default). Both tables live in
``tests/parity/_compare.py`` with their reasons and are listed in docs/indicators.md.
Functions in ``BIT_EXACT`` must equal TA-Lib to the last bit. The module also checks prices
near 1e-9 (nothing zeroed by a fixed band) and that every stream decides as batch does.

Each kernel compiles once per session (``cache=True`` keeps it on disk), so the cost is
one pass per function per series: ~30 s in all with compiled kernels cached (measured with
``pytest tests/parity/test_indicator_long_parity.py``: 26 s, 281 tests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine.indicators as ta
from tests.parity._compare import (
    NOISE_FLOOR,
    TOLERANCE,
    assert_close,
    assert_decisions_and_values,
    talib_outputs,
)
from tests.parity.conftest import Series, random_walk, with_aliases

talib = pytest.importorskip("talib")

BARS = 1_000_000
GROUPS = talib.get_function_groups()
PATTERNS = set(GROUPS["Pattern Recognition"])
FUNCTIONS = sorted(f for f in talib.get_functions() if f not in PATTERNS)
# Functions whose arithmetic is TA-Lib's to the last bit (same operations, same order, same
# fusing); a one-ulp change in them is a regression, not rounding.
BIT_EXACT = frozenset({"ad", "cci", "obv", "pvt", "sar", "sarext", "vwap"})


def long_walk(n: int, seed: int) -> Series:
    """Return ``n`` bars of a float random walk that stays far above zero."""
    rng = np.random.default_rng(seed)
    close = 1000.0 + np.cumsum(rng.normal(0.0, 0.05, n))
    open_ = close + rng.normal(0.0, 0.03, n)
    high = np.maximum(open_, close) + rng.uniform(0.0, 0.05, n)
    low = np.minimum(open_, close) - rng.uniform(0.0, 0.05, n)
    volume = rng.uniform(1.0, 100.0, n)
    return with_aliases(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, seed
    )


def cent_grid(n: int, seed: int) -> Series:
    """Return ``n`` bars whose prices are whole cents, with ties and flat windows.

    Prices are integers of cents divided by 100 (so ``100.07`` is the nearest double, as
    a feed would deliver it). Ticks are -2..2 cents with zero the most likely; about one
    bar in 400 starts a flat stretch of 20-200 bars where open = high = low = close; highs
    and lows exceed the body by 0-2 cents, so equal highs and lows are common. Volumes are
    whole numbers 1-50, so money flows tie too.
    """
    rng = np.random.default_rng(seed)
    ticks = rng.choice(np.arange(-2, 3), size=n, p=[0.15, 0.2, 0.3, 0.2, 0.15])
    flat = np.zeros(n, dtype=bool)
    for start in np.flatnonzero(rng.random(n) < 1 / 400):
        flat[start : start + int(rng.integers(20, 200))] = True
    ticks[flat] = 0
    close_c = 20_000 + np.cumsum(ticks)
    open_c = np.concatenate(([close_c[0]], close_c[:-1]))
    open_c = np.where(flat, close_c, open_c + rng.integers(-1, 2, n))
    high_c = np.maximum(open_c, close_c) + np.where(flat, 0, rng.integers(0, 3, n))
    low_c = np.minimum(open_c, close_c) - np.where(flat, 0, rng.integers(0, 3, n))
    volume = rng.integers(1, 51, n).astype(np.float64)
    assert close_c.min() > 1_000
    return with_aliases(
        {
            "open": open_c / 100.0,
            "high": high_c / 100.0,
            "low": low_c / 100.0,
            "close": close_c / 100.0,
            "volume": volume,
        },
        seed,
    )


@pytest.fixture(scope="module")
def long_series() -> dict[str, Series]:
    """Both 1,000,000-bar markets, built once for the module."""
    return {"walk": long_walk(BARS, 101), "grid": cent_grid(BARS, 202)}


def test_every_talib_function_is_bound() -> None:
    """Every function TA-Lib lists -- patterns included -- has a registry entry."""
    missing = [f for f in talib.get_functions() if f.lower() not in ta.names()]
    assert missing == []


@pytest.mark.slow
@pytest.mark.parametrize("function", FUNCTIONS)
def test_long_series_match_talib(function: str, long_series: dict[str, Series]) -> None:
    """Decisions exact and values within tolerance on both million-bar markets."""
    spec = ta.get(function.lower())
    params = dict(spec.params)
    for label, data in long_series.items():
        ours = spec.compute({k: data[k] for k in spec.inputs}, **params)
        theirs = talib_outputs(spec.name, data, params)
        for output, values in zip(spec.outputs, theirs, strict=True):
            assert_decisions_and_values(spec.name, f"{label}/{output}", ours[output], values)
            if spec.name in BIT_EXACT:
                np.testing.assert_array_equal(ours[output], values, err_msg=spec.name)


@pytest.mark.parametrize("scale", [1e-9, 1e-13])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_tiny_prices_are_not_zeroed(function: str, scale: float) -> None:
    """An instrument quoted near 1e-9 (SHIB/BTC) or 1e-13 gets TA-Lib's ratios, not 0.

    TA-Lib 0.8.1 tests denominators against exactly zero (PPO/PVO against 1e-14), so RSI,
    DX, BOP, ... of such prices are ordinary numbers; a fixed 1e-8 band zeroed them all.
    """
    spec = ta.get(function.lower())
    walk = random_walk(2000, 9)
    data = {k: (v if k == "periods" else v * scale) for k, v in walk.items()}
    params = dict(spec.params)
    ours = spec.compute({k: data[k] for k in spec.inputs}, **params)
    theirs = talib_outputs(spec.name, data, params)
    for output, values in zip(spec.outputs, theirs, strict=True):
        floor = NOISE_FLOOR.get(spec.name, 0.0)
        above = np.maximum(np.abs(ours[output]), np.abs(values)) > floor
        zeros = np.flatnonzero(above & ((ours[output] == 0.0) != (values == 0.0)))
        assert zeros.size == 0, (
            f"{function}/{output}: zero differs on {zeros.size} rows, first at {zeros[0]}: "
            f"ours={ours[output][zeros[0]]!r} talib={values[zeros[0]]!r}"
        )
        assert_close(spec.name, f"tiny/{output}", ours[output], values)


def test_every_allowance_is_documented() -> None:
    """Each per-function tolerance and noise floor is listed in docs/indicators.md."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "indicators.md").read_text()
    head = docs.split("## ", 1)[0]
    missing = [name for name in {**TOLERANCE, **NOISE_FLOOR} if f"`{name}`" not in head]
    assert missing == []


@pytest.fixture(scope="module")
def short_grid() -> Series:
    """4,000 bars of the cent grid: enough flat stretches and ties for every stream."""
    return cent_grid(4000, 77)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_streams_make_batch_decisions_on_the_grid(function: str, short_grid: Series) -> None:
    """Streams (what paper/live trading runs) flatten, tie and zero exactly as batch."""
    spec = ta.get(function.lower())
    batch = spec.compute({k: short_grid[k] for k in spec.inputs})
    stream = spec.streaming()
    inputs = [short_grid[k] for k in spec.inputs]
    rows = [stream.update(*row) for row in zip(*inputs, strict=True)]
    columns = zip(*(row if isinstance(row, tuple) else (row,) for row in rows), strict=True)
    for output, column in zip(spec.outputs, columns, strict=True):
        assert_decisions_and_values(spec.name, f"stream/{output}", np.array(column), batch[output])
