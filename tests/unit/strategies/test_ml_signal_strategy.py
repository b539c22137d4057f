"""MlSignal in the backtest: walk-forward without look-ahead, features equal offline ones,
bet sizing, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.ml.features import build_features
from engine.ml.model import model_hash
from engine.testing import make_bars, run_strategy
from strategies.ml_signal import MlSignal, bet_size

ML: dict[str, Any] = {
    "features": [
        {"name": "rocp", "params": {"timeperiod": 1}},
        {"name": "rocp", "params": {"timeperiod": 6}},
        {"name": "rsi", "params": {"timeperiod": 10}},
        {"name": "ema", "params": {"timeperiod": 12}, "scale": "close"},
    ],
    "label": {"kind": "triple_barrier", "horizon": 6, "vol_window": 20},
    "retrain": {"every": 40, "min_samples": 120},
}


def _bars(n: int = 420, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # a little autocorrelation, so the model has something to find
    shocks = rng.normal(0, 0.01, n)
    returns = shocks + 0.3 * np.concatenate(([0.0], shocks[:-1]))
    return make_bars(100 * np.cumprod(1 + returns), freq="1h")


def _run(bars: pd.DataFrame, ml: dict[str, Any] | None = None, seed: int = 0, **params: Any) -> Any:
    return run_strategy(
        MlSignal,
        bars,
        params=params,
        lot_size=0.0001,
        config={"ml": ml or ML, "run": {"seed": seed}},
    )


def test_shuffling_the_future_of_t_changes_no_prediction_made_at_or_before_t() -> None:
    bars = _bars()
    base = _run(bars).strategy
    t = 300  # bar index: every row after it is shuffled, so every label ending after it too
    order = np.concatenate(
        (np.arange(t + 1), t + 1 + np.random.default_rng(9).permutation(len(bars) - t - 1))
    )
    shuffled = bars.iloc[order].set_axis(bars.index)
    other = _run(shuffled).strategy
    cutoff = bars.index[t] + pd.Timedelta("1h")  # bar t's close time
    before = [(ts, p) for ts, p in base.predictions if ts <= cutoff.value]
    again = [(ts, p) for ts, p in other.predictions if ts <= cutoff.value]
    assert len(before) > 100
    assert before == again
    # the shuffle did change the data after t: the later predictions differ
    assert base.predictions[len(before) :] != other.predictions[len(before) :]


def test_every_refit_used_labels_ended_before_the_bar_it_first_predicts() -> None:
    strategy = _run(_bars()).strategy
    fits = strategy.learner.fits
    assert [fit.bar for fit in fits] == list(range(fits[0].bar, 420, 40))
    for fit in fits:
        assert (fit.ends < fit.bar).all()


def test_features_in_the_backtest_equal_the_offline_feature_builder() -> None:
    bars = _bars()
    strategy = _run(bars).strategy
    columns = {name: bars[name].to_numpy() for name in bars.columns}
    offline = build_features(columns, strategy.ml.features)
    np.testing.assert_array_equal(np.vstack(strategy.learner.rows), offline)


def test_same_seed_same_models_and_fills_other_seed_other_forest() -> None:
    forest = {**ML, "model": {"kind": "random_forest", "params": {"n_estimators": 15}}}
    bars = _bars()
    first = _run(bars, forest, seed=1)
    again = _run(bars, forest, seed=1)
    other = _run(bars, forest, seed=2)
    assert model_hash(first.strategy.learner.model) == model_hash(again.strategy.learner.model)
    assert first.strategy.predictions == again.strategy.predictions
    assert first.metrics == {**again.metrics}
    assert model_hash(first.strategy.learner.model) != model_hash(other.strategy.learner.model)


def test_positions_follow_the_sized_probability() -> None:
    result = _run(_bars(), threshold=0.0, tolerance=0.0)
    strategy = result.strategy
    assert strategy.predictions
    _, p = strategy.predictions[-1]
    assert strategy.target == pytest.approx(bet_size(p, 0.0, False))
    assert result.metrics["num_trades"] > 0


def test_no_position_before_the_first_fit() -> None:
    result = _run(_bars(), threshold=0.0, tolerance=0.0)
    first_fit = result.strategy.learner.fits[0].bar
    exposure = result.equity_curve.gross_exposure
    assert (exposure[: first_fit + 1] == 0).all()


def test_bet_size() -> None:
    assert bet_size(0.5, 0.0, True) == 0.0
    assert bet_size(0.54, 0.05, True) == 0.0  # inside the threshold
    # p = 0.7: z = 0.2 / sqrt(0.21) = 0.436; 2 Φ(z) - 1 = 0.3375
    assert bet_size(0.7, 0.05, False) == pytest.approx(0.33747, abs=1e-4)
    assert bet_size(0.3, 0.05, True) == pytest.approx(-0.33747, abs=1e-4)
    assert bet_size(0.3, 0.05, False) == 0.0
    assert bet_size(1.0, 0.05, False) == pytest.approx(1.0)


def test_a_run_without_an_ml_section_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="needs an \\[ml\\] section"):
        run_strategy(MlSignal, _bars(50), lot_size=0.0001)
