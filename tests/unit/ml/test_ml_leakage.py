"""No training label may reach into the period a model is tested or predicts on.

`check_split` states the rule; every split method, and every refit of the walk-forward
learner used inside backtests, is run through it. A plain (unpurged) k-fold is shown to
fail it, so the check can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from engine.ml.config import FeatureSpec, LabelConfig, MlConfig, RetrainConfig
from engine.ml.labels import make_labels
from engine.ml.online import WalkForwardLearner
from engine.ml.splits import check_split, purged_kfold, walk_forward


def _labelled(n: int = 600, horizon: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    labels = make_labels(close, LabelConfig(horizon=horizon, vol_window=30))
    start = np.flatnonzero(labels.resolved)
    return start, labels.end[start]


@pytest.mark.parametrize("embargo", [0, 5, 30])
def test_purged_kfold_never_trains_on_a_label_overlapping_the_test_fold(embargo: int) -> None:
    start, end = _labelled()
    splits = purged_kfold(start, end, folds=5, embargo=embargo)
    assert len(splits) == 5
    for train, test in splits:
        check_split(start, end, train, test, embargo)
        assert len(np.intersect1d(train, test)) == 0
        first = start[test[0]]
        assert (end[train][start[train] < first] < first).all()


def test_purged_kfold_hand_case() -> None:
    # 6 samples at bars 0..5, each label ends 2 bars later; 3 folds of 2
    start = np.arange(6)
    end = start + 2
    splits = purged_kfold(start, end, folds=3, embargo=1)
    # fold 1 tests bars 2-3 (labels end by 5): bar 0 ends at 2 (not < 2): purged; bar 1
    # too; bars 4, 5 start before 5 + 1: embargoed -> nothing to train on
    np.testing.assert_array_equal(splits[1][0], [])
    # fold 0 tests bars 0-1 (labels end by 3): train starts after 3 + 1 -> bar 5
    np.testing.assert_array_equal(splits[0][0], [5])
    # fold 2 tests bars 4-5: train ends before 4 -> bar 0 (ends 2), bar 1 (ends 3)
    np.testing.assert_array_equal(splits[2][0], [0, 1])


@pytest.mark.parametrize("embargo", [0, 12])
def test_walk_forward_trains_only_on_labels_ended_before_the_test_start(embargo: int) -> None:
    start, end = _labelled()
    splits = walk_forward(start, end, folds=4, embargo=embargo)
    assert len(splits) == 4
    for train, test in splits:
        check_split(start, end, train, test, embargo)
        assert (end[train] < start[test[0]] - embargo).all()
        assert (start[train] < start[test[0]]).all()
        assert len(train) > 0


def test_an_unpurged_kfold_is_caught_as_a_leak() -> None:
    start, end = _labelled()
    # the middle fold: its training set holds the samples just before it, whose labels
    # end inside the fold
    train, test = list(KFold(n_splits=5).split(start))[2]
    with pytest.raises(AssertionError, match="leak"):
        check_split(start, end, train, test, 0)


def test_every_in_backtest_refit_used_only_labels_ended_before_its_first_prediction() -> None:
    rng = np.random.default_rng(1)
    n = 700
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    cfg = MlConfig(
        features=[FeatureSpec("rocp", {"timeperiod": 1})],
        label=LabelConfig(horizon=10, vol_window=20),
        retrain=RetrainConfig(every=50, min_samples=200),
    )
    learner = WalkForwardLearner(cfg, seed=0)
    rows = np.concatenate(([np.nan], close[1:] / close[:-1] - 1))[:, None]
    predicted_at = []
    for t in range(n):
        if learner.update(rows[t], close[t]) is not None:
            predicted_at.append(t)
    assert len(learner.fits) >= 8
    assert predicted_at[0] == learner.fits[0].bar
    for k, fit in enumerate(learner.fits):
        # the model of this fit predicts bars fit.bar .. next fit - 1
        assert (fit.ends < fit.bar).all(), f"fit {k} at bar {fit.bar} used a label ending later"
        assert (fit.starts < fit.ends).all()
        if k:
            assert fit.bar - learner.fits[k - 1].bar == 50
