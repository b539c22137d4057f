"""Registry contract: names, resolve, parameter checks and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine.indicators as ta
from engine.errors import IndicatorError
from engine.indicators import registry


def test_names_cover_every_talib_group() -> None:
    groups = {spec.group for spec in ta.specs()}
    assert {"Overlap Studies", "Momentum Indicators", "Cycle Indicators"} <= groups
    assert {"sma", "ema", "rsi", "macd", "cdlengulfing", "ht_sine"} <= set(ta.names())
    assert ta.names() == sorted(ta.names())


def test_spec_mirrors_talib_signature() -> None:
    spec = ta.get("MACD")
    assert spec.name == "macd"
    assert spec.inputs == ("real",)
    assert dict(spec.params) == {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}
    assert spec.outputs == ("macd", "macdsignal", "macdhist")
    assert ta.get("stoch").inputs == ("high", "low", "close")
    assert ta.get("mfi").inputs == ("high", "low", "close", "volume")


def test_resolve_fills_defaults_case_insensitively() -> None:
    spec, params = registry.resolve("Sma", {"timeperiod": 10})
    assert spec.name == "sma"
    assert params == {"timeperiod": 10}
    _, defaults = registry.resolve("bbands", {})
    assert defaults == {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0, "matype": 0}


def test_resolve_coerces_numbers() -> None:
    _, params = registry.resolve("sma", {"timeperiod": 10.0})
    assert params["timeperiod"] == 10
    assert isinstance(params["timeperiod"], int)
    _, params = registry.resolve("bbands", {"nbdevup": 1})
    assert params["nbdevup"] == 1.0
    assert isinstance(params["nbdevup"], float)


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("smaa", {}, "did you mean 'sma'"),
        ("sma", {"timeperod": 5}, "did you mean 'timeperiod'"),
        ("sma", {"timeperiod": 0}, "out of range"),
        ("sma", {"timeperiod": 100001}, "out of range"),
        ("sma", {"timeperiod": 2.5}, "whole number"),
        ("sma", {"timeperiod": True}, "must be a number"),
        ("sma", {"timeperiod": "10"}, "must be a number"),
        ("bbands", {"nbdevup": float("nan")}, "finite"),
        ("ma", {"matype": 14}, "out of range"),
        ("trange", {"timeperiod": 3}, "takes none"),
    ],
)
def test_bad_names_and_params_raise_clear_errors(
    name: str, params: dict[str, object], fragment: str
) -> None:
    with pytest.raises(IndicatorError, match=fragment):
        registry.resolve(name, params)


def test_indicator_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unknown indicator"):
        ta.get("nope")


def test_lookback_matches_leading_nans() -> None:
    x = np.linspace(1.0, 2.0, 200)
    for name, params in [("sma", {"timeperiod": 7}), ("macd", {}), ("rsi", {"timeperiod": 5})]:
        spec = ta.get(name)
        first = spec.compute({"real": x}, **params)[spec.outputs[0]]
        assert int(np.isnan(first).sum()) == spec.lookback(**params)


def test_integer_outputs_are_declared() -> None:
    assert ta.get("maxindex").integer_outputs == ("integer",)
    assert ta.get("supertrend").integer_outputs == ("trend",)
