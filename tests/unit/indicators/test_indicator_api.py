"""TA-Lib-shaped public functions, input validation, the 2-D form and the stream protocol."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import engine.indicators as ta
from engine.errors import IndicatorError

CLOSE = 100.0 + np.cumsum(np.random.default_rng(5).normal(size=300))


def test_functions_take_talib_arguments() -> None:
    assert str(inspect.signature(ta.sma)) == "(real, timeperiod=30)"
    np.testing.assert_array_equal(ta.sma(CLOSE, 10), ta.sma(real=CLOSE, timeperiod=10))
    macd, signal, hist = ta.macd(CLOSE, fastperiod=12, slowperiod=26, signalperiod=9)
    np.testing.assert_allclose(hist[40:], (macd - signal)[40:])
    assert "Moving Average Convergence/Divergence" in (ta.macd.__doc__ or "")


def test_pandas_series_in_series_out() -> None:
    index = pd.date_range("2024-01-01", periods=len(CLOSE), freq="h")
    series = pd.Series(CLOSE, index=index)
    result = ta.ema(series, timeperiod=5)
    assert isinstance(result, pd.Series)
    assert result.index.equals(index)
    _upper, middle, _lower = ta.bbands(series)
    assert isinstance(middle, pd.Series)
    assert middle.name == "middleband"


def test_integers_and_lists_are_accepted() -> None:
    assert ta.sma(list(range(10)), 3)[-1] == pytest.approx(8.0)
    assert ta.sma(np.arange(10), 3)[-1] == pytest.approx(8.0)


def test_short_input_gives_all_nan() -> None:
    assert np.isnan(ta.sma(CLOSE[:5], 10)).all()
    assert ta.sma(np.array([]), 10).shape == (0,)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: ta.sma(np.ones((3, 3))), "must be 1-D"),
        (lambda: ta.sma(np.array(["a", "b"])), "must be numeric"),
        (lambda: ta.atr(CLOSE, CLOSE[:-1], CLOSE), "different lengths"),
        (lambda: ta.atr(CLOSE, CLOSE), "missing input"),
        (lambda: ta.sma(CLOSE, 10, 3), "at most 2 positional"),
        (lambda: ta.sma(CLOSE, 10, timeperiod=3), "given twice"),
        (lambda: ta.sma(CLOSE, timeperiod=-1), "out of range"),
        (lambda: ta.get("sma").compute({"close": CLOSE}), "missing input"),
    ],
)
def test_bad_input_raises_value_error(call: object, fragment: str) -> None:
    with pytest.raises(IndicatorError, match=fragment):
        call()  # type: ignore[operator]


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = ta.not_an_indicator
    assert "sma" in dir(ta)


def test_compute_panel_matches_columns() -> None:
    panel = np.column_stack([CLOSE, CLOSE * 2.0, CLOSE[::-1].copy()])
    out = ta.compute_panel("rsi", {"real": panel}, timeperiod=9, threads=2)["real"]
    for j in range(panel.shape[1]):
        np.testing.assert_array_equal(out[:, j], ta.rsi(panel[:, j], 9))
    with pytest.raises(IndicatorError, match="2-D"):
        ta.compute_panel("rsi", {"real": CLOSE})


def test_stream_protocol() -> None:
    stream = ta.get("sma").streaming(timeperiod=3)
    assert not stream.is_ready
    for value in (1.0, 2.0):
        stream.update(value)
    assert not stream.is_ready
    assert np.isnan(stream.value)
    assert stream.update(real=3.0) == pytest.approx(2.0)
    assert stream.is_ready
    assert stream.values == {"real": pytest.approx(2.0)}
    stream.reset()
    assert not stream.is_ready
    with pytest.raises(IndicatorError, match="expects 1 value"):
        stream.update(1.0, 2.0)
    with pytest.raises(IndicatorError, match="missing input"):
        ta.get("atr").streaming().update(high=1.0, low=0.5)


def test_multi_output_stream_returns_tuple() -> None:
    stream = ta.get("macd").streaming(fastperiod=3, slowperiod=5, signalperiod=2)
    for value in CLOSE[:20]:
        result = stream.update(value)
    assert isinstance(result, tuple)
    assert len(result) == 3
    batch = ta.macd(CLOSE[:20], 3, 5, 2)
    assert result == pytest.approx(tuple(out[-1] for out in batch))
