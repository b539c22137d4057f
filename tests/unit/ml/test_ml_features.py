"""Features come from the indicator kernels, and the [ml] config is read strictly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine import indicators as ta
from engine.config import parse_config
from engine.errors import ConfigError
from engine.ml.config import FeatureSpec, MlConfig
from engine.ml.features import build_features


def _columns(n: int = 120) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    high = close * 1.005
    low = close * 0.995
    return {"open": close, "high": high, "low": low, "close": close, "volume": np.ones(n)}


def test_feature_columns_equal_the_indicator_functions() -> None:
    cols = _columns()
    specs = [
        FeatureSpec("rocp", {"timeperiod": 1}),
        FeatureSpec("rsi", {"timeperiod": 14}),
        FeatureSpec("natr", {"timeperiod": 14}),
        FeatureSpec("sma", {"timeperiod": 20}, scale="close"),
        FeatureSpec("macd", output="macdhist"),
    ]
    matrix = build_features(cols, specs)
    close = cols["close"]
    np.testing.assert_array_equal(matrix[:, 0], ta.rocp(close, timeperiod=1))
    np.testing.assert_array_equal(matrix[:, 1], ta.rsi(close, timeperiod=14))
    np.testing.assert_array_equal(matrix[:, 2], ta.natr(cols["high"], cols["low"], close, 14))
    np.testing.assert_array_equal(matrix[:, 3], ta.sma(close, timeperiod=20) / close - 1)
    np.testing.assert_array_equal(matrix[:, 4], ta.macd(close)[2])
    assert [s.label for s in specs][3] == "sma(timeperiod=20)/close"


def test_features_are_causal() -> None:
    cols = _columns()
    specs = [FeatureSpec("rsi", {"timeperiod": 14}), FeatureSpec("ema", {"timeperiod": 10})]
    full = build_features(cols, specs)
    cut = build_features({k: v[:70] for k, v in cols.items()}, specs)
    np.testing.assert_array_equal(cut, full[:70])


def _document(ml: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": [{"path": "x.csv", "symbol": "BTC/USDT"}],
        "strategy": {"path": "strategies.ml_signal:MlSignal"},
        "ml": ml,
    }


def test_ml_section_is_parsed() -> None:
    config = parse_config(
        _document(
            {
                "features": [{"name": "rsi", "params": {"timeperiod": 7}}],
                "label": {"kind": "forward_return", "horizon": 6},
                "model": {"kind": "random_forest", "params": {"n_estimators": 50}},
            }
        )
    )
    assert config.ml is not None
    assert config.ml.feature_names == ["rsi(timeperiod=7)"]
    assert config.ml.label.horizon == 6
    assert config.ml.model.params == {"n_estimators": 50}


@pytest.mark.parametrize(
    ("ml", "message"),
    [
        (
            {"features": [{"name": "rsi"}], "lable": {}},
            "unknown key 'ml.lable' (did you mean 'label'?)",
        ),
        ({"features": [{"name": "rsi"}], "label": {"horizn": 3}}, "did you mean 'horizon'"),
        ({"features": [{"name": "rsii"}]}, "feature 'rsii'"),
        ({"features": [{"name": "rsi", "params": {"period": 3}}]}, "timeperiod"),
        ({"features": [{"name": "macd", "output": "hist"}]}, "no output 'hist'"),
        ({"features": []}, "at least one feature"),
        ({"features": [{"name": "rsi"}, {"name": "RSI"}]}, "more than once"),
        ({"features": [{"name": "rsi"}], "symbol": "ETH/USDT"}, "no [[data]] source"),
        ({"features": [{"name": "rsi"}], "model": {"kind": "svm"}}, "not one of"),
        ({"features": [{"name": "rsi"}], "model": {"params": {"random_state": 1}}}, "seed"),
        ({"features": [{"name": "rsi"}], "label": {"horizon": 0}}, "horizon must be in [1, "),
        # an audit: 'stddev: parameter timeperiod = 100000000 is out of range' named no key
        (
            {"features": [{"name": "rsi"}], "label": {"vol_window": 100_000_000}},
            "ml.label: label.vol_window must be in [2, 100000], got 100000000",
        ),
        (
            {"features": [{"name": "rsi"}], "splits": {"embargo": 100_000_000}},
            "ml.splits: splits.embargo must be in [0, 100000], got 100000000",
        ),
        (
            {"features": [{"name": "rsi"}], "label": {"horizon": 100_001}},
            "label.horizon must be in [1, 100000], got 100001",
        ),
        ({"features": [{"name": "rsi"}], "retrain": {"min_samples": 5}}, "min_samples"),
    ],
)
def test_ml_section_mistakes_are_one_clear_error(ml: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_document(ml))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        # source feeds only the input "real": on natr it was accepted and ignored (an audit)
        (
            {"name": "natr", "source": "open"},
            "feature natr: source 'open' is not used: natr reads the bar columns high, low, "
            "close; remove source (it picks the column of indicators with a 'real' input, "
            "such as rsi)",
        ),
        (
            {"name": "beta", "source": "volume"},
            "feature beta: source 'volume' is not used: beta reads the bar columns "
            "real0 = high, real1 = low;",
        ),
        # mavp's "periods" has no bar column by default: the advice was inputs={...}, a key
        # an [ml] feature does not have (an audit)
        (
            {"name": "mavp"},
            "feature mavp: its input 'periods' has no default bar column and an [ml] feature "
            "names only source (the column of 'real'); use another indicator",
        ),
    ],
)
def test_a_feature_input_that_cannot_be_honoured_is_refused(
    feature: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_document({"features": [feature]}))
    assert message in str(info.value)
    assert "inputs=" not in str(info.value)
    assert "\n" not in str(info.value)


def test_source_still_feeds_the_real_input_of_mixed_indicators() -> None:
    ml = MlConfig(features=[FeatureSpec("obv", source="open"), FeatureSpec("natr")])
    assert ml.feature_names == ["obv()[open]", "natr(timeperiod=14)"]
