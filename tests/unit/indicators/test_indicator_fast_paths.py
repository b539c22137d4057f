"""The fast kernels equal their exact reference paths, including their fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.indicators import kernels_window as wi


def _scan(x: np.ndarray, period: int, start: int, is_max: bool) -> np.ndarray:
    return wi.scan_extreme(x, period, start, is_max)


@pytest.mark.parametrize("period", [1, 2, 3, 4, 7, 16, 30, 100, 1500])
@pytest.mark.parametrize("length", [1, 5, 31, 1024, 1100, 3000])
def test_doubling_extremes_equal_the_scan(period: int, length: int) -> None:
    rng = np.random.default_rng(period * 7919 + length)
    # Rounded values make ties common, which is where max/min orders could differ.
    x = np.round(np.cumsum(rng.normal(size=length)), 1)
    for start in (0, 3):
        np.testing.assert_array_equal(
            wi.rolling_max(x, period, start), _scan(x, period, start, True)
        )
        np.testing.assert_array_equal(
            wi.rolling_min(x, period, start), _scan(x, period, start, False)
        )


@pytest.mark.parametrize("period", [2, 3, 5, 30])
def test_interior_nan_falls_back_to_the_exact_scan(period: int) -> None:
    x = np.cumsum(np.random.default_rng(period).normal(size=2500))
    x[1800] = np.nan
    np.testing.assert_array_equal(wi.rolling_max(x, period, 0), _scan(x, period, 0, True))
    np.testing.assert_array_equal(wi.rolling_min(x, period, 0), _scan(x, period, 0, False))
    hh, ll = _scan(x, period, 0, True), _scan(x, period, 0, False)
    np.testing.assert_array_equal(wi.extremes(x, x, period, 0), (hh + ll) / 2.0)
    upper, middle, lower = wi.donchian(x, x, period)
    np.testing.assert_array_equal(upper, hh)
    np.testing.assert_array_equal(lower, ll)
    np.testing.assert_array_equal(middle, (hh + ll) / 2.0)


@pytest.mark.parametrize("period", [1, 2, 5, 30])
def test_monotonic_extreme_equals_brute_force(period: int) -> None:
    from engine.indicators.stream_parts import MonotonicExtreme

    values = np.round(np.random.default_rng(period).normal(size=400), 0)  # many ties
    highest, lowest = MonotonicExtreme(period, True), MonotonicExtreme(period, False)
    for i, value in enumerate(values):
        window = values[max(0, i - period + 1) : i + 1]
        assert highest.push(float(value)) == window.max()
        assert lowest.push(float(value)) == window.min()
    highest.clear()
    assert highest.push(-5.0) == -5.0


@pytest.mark.parametrize("period", [1, 2, 14])
def test_range_position_nan_fallback_equals_the_scan(period: int) -> None:
    from engine.indicators.families.momentum import kernels_oscillators as osc

    rng = np.random.default_rng(period)
    close = np.cumsum(rng.normal(size=3000))
    high, low = close + 1.0, close - 1.0
    for data in (high, low):
        clean_k = osc.fast_k(high, low, close, period, 0)
        data[2500] = np.nan
        hh, ll = wi.scan_extreme(high, period, 0, True), wi.scan_extreme(low, period, 0, False)
        with np.errstate(all="ignore"):
            expected_k = np.where(hh - ll != 0.0, (close - ll) / ((hh - ll) / 100.0), 0.0)
            expected_r = np.where(hh - ll != 0.0, (hh - close) / ((hh - ll) / -100.0), 0.0)
        expected_k[: period - 1] = expected_r[: period - 1] = np.nan
        np.testing.assert_array_equal(osc.fast_k(high, low, close, period, 0), expected_k)
        np.testing.assert_array_equal(osc.willr(high, low, close, period), expected_r)
        np.testing.assert_array_equal(clean_k[:2400], expected_k[:2400])
        data[2500] = close[2500] + (1.0 if data is high else -1.0)


def test_smi_with_an_interior_nan_keeps_earlier_values() -> None:
    from engine.indicators.families.momentum import kernels_oscillators as osc

    close = np.cumsum(np.random.default_rng(5).normal(size=3000))
    high, low = close + 1.0, close - 1.0
    clean = osc.smi(high, low, close, 13, 2, 25, 9)
    high[2600] = np.nan
    dirty = osc.smi(high, low, close, 13, 2, 25, 9)
    for ours, reference in zip(dirty, clean, strict=True):
        np.testing.assert_array_equal(ours[:2600], reference[:2600])
        assert ours.shape == reference.shape


@pytest.mark.parametrize("n", [0, 1, 1000, 600_000])
def test_kernel_arrays_are_plain_float_arrays(n: int) -> None:
    from engine.indicators._alloc import nan_array, new_array

    empty = new_array(n)
    assert empty.shape == (n,)
    assert empty.dtype == np.float64
    assert empty.flags.c_contiguous
    empty[:] = 1.5  # writable over its whole length, huge-page advice or not
    assert empty.sum() == 1.5 * n
    assert np.isnan(nan_array(n)).all()


@pytest.mark.parametrize("kind", [0, 1, 2, 10, 13])
@pytest.mark.parametrize("period", [1, 2, 7])
def test_ma_core_equals_the_batch_moving_average(kind: int, period: int) -> None:
    from engine.indicators import composite
    from engine.indicators.stream_parts import MaCore

    x = np.cumsum(np.random.default_rng(kind * 10 + period).normal(size=300)) + 50.0
    batch = composite.ma(x, period, kind, 0)
    core = MaCore(period, kind)
    streamed = np.array([core.push(float(v)) for v in x])
    np.testing.assert_allclose(streamed, batch, rtol=1e-12, atol=1e-12)
    core.clear()
    assert np.isnan(core.push(1.0)) == (period > 1 and kind != 10)


@pytest.mark.parametrize("name", ["stoch", "stochf", "kdj", "stochrsi", "smi"])
def test_stochastic_family_streams_in_constant_time(name: str) -> None:
    import engine.indicators as ta
    from engine.indicators.streaming import HistoryStream, WindowStream

    stream = ta.get(name).streaming()
    assert not isinstance(stream, HistoryStream | WindowStream)


@pytest.mark.parametrize("name", ["maxindex", "minindex", "minmaxindex", "aroon", "aroonosc"])
def test_index_streams_follow_the_batch_tie_rules(name: str) -> None:
    import engine.indicators as ta

    rng = np.random.default_rng(3)
    high = np.round(np.cumsum(rng.normal(size=400)), 0)  # rounded: many exact ties
    low = high - np.round(rng.uniform(0, 2, size=400), 0)
    high[:5] = np.nan  # positions must count the skipped NaN rows
    spec = ta.get(name)
    data = {"real": high, "high": high, "low": low}
    batch = spec.compute({k: data[k] for k in spec.inputs}, timeperiod=6)
    stream = spec.streaming(timeperiod=6)
    rows = [stream.update(*(float(data[k][i]) for k in spec.inputs)) for i in range(400)]
    columns = zip(*(r if isinstance(r, tuple) else (r,) for r in rows), strict=True)
    for output, column in zip(spec.outputs, columns, strict=True):
        np.testing.assert_array_equal(np.array(column), batch[output])
