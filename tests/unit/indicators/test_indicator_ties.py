"""Decisions on prices quoted in cents: ties that differ by an ulp, flat windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine.indicators as ta


def test_mfi_reads_an_ulp_apart_typical_price_as_no_move() -> None:
    # Bars 0 and 1 have the same typical price in decimal, 300.08 / 3, but the sums round
    # differently: (100.04 + 100.01 + 100.03) / 3 is 100.02666666666669 and
    # (100.05 + 100.01 + 100.02) / 3 is 100.02666666666666, an ulp-sized "fall".
    high = np.array([100.04, 100.05, 101.0])
    low = np.array([100.01, 100.01, 100.0])
    close = np.array([100.03, 100.02, 100.5])
    volume = np.ones(3)
    typical = (high + low + close) / 3.0
    assert typical[1] < typical[0]
    # TA-Lib counts bar 1 as neither up nor down, so the 2-bar window holds only bar 2's
    # up flow: MFI = 100 * up / (up + down) = 100 exactly. Counting bar 1's flow as "down"
    # gave 100 * 100.5 / (100.5 + 100.02666) = 50.1.
    out = ta.mfi(high, low, close, volume, timeperiod=2)
    assert math.isnan(out[1])
    assert out[2] == 100.0
    stream = ta.get("mfi").streaming(timeperiod=2)
    assert [stream.update(*bar) for bar in zip(high, low, close, volume, strict=True)][2] == 100.0
    talib = pytest.importorskip("talib")
    assert talib.MFI(high, low, close, volume, timeperiod=2)[2] == 100.0


def test_mfi_flat_window_is_exactly_zero() -> None:
    # One move in, then 3 flat bars: once the move leaves the 2-bar window both sides are
    # empty and MFI is exactly 0 (running sums would leave a residue of subtractions).
    high = np.array([10.0, 10.07, 10.07, 10.07, 10.07])
    out = ta.mfi(high, high, high, np.full(5, 3.0), timeperiod=2)
    assert list(out[2:]) == [100.0, 0.0, 0.0]


def test_beta_of_a_flat_window_is_exactly_zero() -> None:
    # x moves for five bars, then stays flat; y keeps moving. Once the window (3 returns)
    # holds only flat x bars, x's variance is 0, so beta is 0 -- not the ratio of the
    # subtraction residues left in running sums.
    x = np.array([100.01, 100.03, 99.98, 100.07, 100.02, 100.05, 100.05, 100.05, 100.05, 100.05])
    y = np.array([50.0, 50.02, 50.01, 50.05, 50.03, 50.04, 50.06, 50.02, 50.07, 50.01])
    out = ta.beta(x, y, timeperiod=3)
    assert list(out[-2:]) == [0.0, 0.0]
    stream = ta.get("beta").streaming(timeperiod=3)
    streamed = [stream.update(a, b) for a, b in zip(x, y, strict=True)]
    assert streamed[-2:] == [0.0, 0.0]


@pytest.mark.parametrize("name", ["stddev", "var", "bbands"])
def test_spread_of_a_flat_window_is_exactly_zero(name: str) -> None:
    # Five moving cents, then a flat stretch: the sliding sums keep a rounding residue
    # (VAR ~1e-20, STDDEV ~1e-10 after the square root); a flat window's spread is 0.
    x = np.array([100.01, 100.07, 99.93, 100.11, 100.02, 100.07] + [100.05] * 8)
    spec = ta.get(name)
    batch = spec.compute({"real": x}, timeperiod=5)
    stream = spec.streaming(timeperiod=5)
    streamed = [stream.update(v) for v in x]
    if name == "bbands":
        upper, middle, lower = batch["upperband"], batch["middleband"], batch["lowerband"]
        assert list(upper[-3:]) == list(middle[-3:]) == list(lower[-3:])
        assert [row[0] - row[2] for row in streamed[-3:]] == [0.0, 0.0, 0.0]
    else:
        assert list(batch["real"][-3:]) == [0.0, 0.0, 0.0]
        assert streamed[-3:] == [0.0, 0.0, 0.0]


def test_cci_does_not_drift_over_a_long_series() -> None:
    # CCI depends on its last 14 bars only, so after 400,000 bars it must equal CCI computed
    # on those bars alone; a running total of typical prices drifted ~1e-7 from it.
    rng = np.random.default_rng(3)
    close = 1000.0 + np.cumsum(rng.normal(0.0, 0.05, 400_000))
    high, low = close + 0.03, close - 0.04
    full = ta.cci(high, low, close)
    tail = ta.cci(high[-14:], low[-14:], close[-14:])
    assert full[-1] == pytest.approx(tail[-1], rel=1e-12)
    flat = np.full(20, 100.07)
    assert list(ta.cci(flat, flat, flat)[13:]) == [0.0] * 7


def test_stochrsi_of_a_flat_stretch_is_zero() -> None:
    # Through a flat stretch RSI keeps its value but wobbles by ulps (both Wilder averages
    # decay by the same factor, rounded separately), so the 5-bar RSI range is ~1e-14,
    # not 0. TA-Lib reads a range that small against the RSI's size as flat: %K = 0. An
    # exact test turned the wobble into %K anywhere from 0 to 100.
    rng = np.random.default_rng(11)
    moves = 100.0 + np.cumsum(rng.integers(-3, 4, 60)) / 100.0
    x = np.concatenate([moves, np.full(150, moves[-1])])
    fastk, _ = ta.stochrsi(x)
    line = ta.rsi(x)
    tail = slice(100, None)
    assert np.ptp(line[tail]) < 1e-12  # the wobble
    assert np.all(fastk[tail] == 0.0)
    talib = pytest.importorskip("talib")
    assert np.all(talib.STOCHRSI(x)[0][tail] == 0.0)


def test_correl_with_a_flat_input_is_exactly_zero() -> None:
    # Cent prices from the long-series parity grid: x is flat over the last 30-bar window,
    # y is not. A flat input has no spread, so CORREL is 0 (TA-Lib too); the sliding sums,
    # anchored before the flat stretch, left a residue that read -2.6e-9.
    x_cents = [20008] * 8 + [20006, 20006, 20005, 20007, 20008, 20009, 20007, 20007, 20006]
    x_cents += [20004, 20005, 20004, 20002, 20000, 20000, 19998, 19997, 19998, 19999]
    y_cents = [20008] * 8 + [20009, 20006, 20007, 20005, 20008, 20007, 20010, 20008, 20006]
    y_cents += [20007, 20004, 20005, 20005, 20002, 19999, 20001, 19999, 19996, 19999, 19998]
    y_cents += [19999]
    x = np.array(x_cents + [20000] * 30) / 100.0
    y = np.array(y_cents + [20000] * 28) / 100.0
    assert len(x) == len(y) == 57
    assert np.ptp(x[-30:]) == 0.0
    assert np.ptp(y[-30:]) > 0.0
    assert ta.correl(x, y)[-1] == 0.0
    stream = ta.get("correl").streaming()
    assert [stream.update(a, b) for a, b in zip(x, y, strict=True)][-1] == 0.0


@pytest.mark.parametrize("name", ["wma", "hma"])
def test_weighted_averages_do_not_drift_over_a_long_series(name: str) -> None:
    # WMA depends on its last bars only, so after 400,000 bars it must equal the WMA of
    # those bars alone; the O(1) running sums drifted ~1e-9 relative (HMA 1e-8) before the
    # periodic exact re-sum.
    rng = np.random.default_rng(5)
    x = 1000.0 + np.cumsum(rng.normal(0.0, 0.05, 400_000))
    spec = ta.get(name)
    full = spec.compute({"real": x})["real"]
    window = spec.lookback() + 1
    tail = spec.compute({"real": x[-window:]})["real"]
    assert full[-1] == pytest.approx(tail[-1], rel=1e-13)


@pytest.mark.parametrize(
    ("name", "params"),
    [("wma", {}), ("hma", {}), ("coppock", {}), ("stoch", {"slowk_matype": 2})],
)
def test_weighted_average_streams_re_sum_with_batch(name: str, params: dict[str, int]) -> None:
    rng = np.random.default_rng(8)
    close = 1000.0 + np.cumsum(rng.normal(0.0, 0.05, 3000))
    data = {"real": close, "high": close + 0.02, "low": close - 0.03, "close": close}
    spec = ta.get(name)
    batch = spec.compute({k: data[k] for k in spec.inputs}, **params)
    stream = spec.streaming(**params)
    rows = [stream.update(*r) for r in zip(*(data[k] for k in spec.inputs), strict=True)]
    first = np.asarray([r[0] if isinstance(r, tuple) else r for r in rows])
    np.testing.assert_array_equal(first, batch[spec.outputs[0]])
