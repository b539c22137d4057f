"""Out-of-sample evaluation: figures against sklearn on the pooled folds, and importances."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.errors import DataError
from engine.ml.config import FeatureSpec, MlConfig, RetrainConfig, SplitConfig
from engine.ml.dataset import Dataset
from engine.ml.evaluate import evaluate


def _data(signal: float, n: int = 1200, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    # feature 0 carries the label (when signal > 0), feature 1 is noise
    y = (signal * x[:, 0] + rng.normal(size=n) > 0).astype(float)
    start = np.arange(n) * 2
    end = start + 6  # labels overlapping the next two samples
    ts_close = np.arange(2 * n + 6, dtype=np.int64) * 3_600 * 10**9  # every bar's close
    return Dataset(x, y, np.ones(n), start, end, ts_close, ["good", "noise"])


ML = MlConfig(features=[FeatureSpec("rsi"), FeatureSpec("adx")])


@pytest.mark.parametrize("method", ["walk_forward", "purged_kfold"])
def test_a_real_signal_is_found_out_of_sample(method: str) -> None:
    cfg = MlConfig(
        features=ML.features,
        splits=SplitConfig(method=method, folds=4, embargo=4),  # type: ignore[arg-type]
        retrain=RetrainConfig(min_samples=10),  # every fold trains (fold 1 on 235 labels)
    )
    data = _data(signal=2.0)
    ev = evaluate(data, cfg, seed=0)
    assert ev.accuracy > 0.75
    assert ev.roc_auc > 0.85
    assert ev.importances[0][0] == "good"
    assert ev.importances[0][1] > 0.1 > abs(ev.importances[1][1])
    # pooled figures are sklearn's on the tested samples
    y, p = data.y[ev.tested], ev.probabilities
    assert ev.accuracy == accuracy_score(y, p > 0.5)
    assert ev.roc_auc == roc_auc_score(y, p)
    assert ev.log_loss == pytest.approx(log_loss(y, p))
    assert ev.samples == sum(f.test for f in ev.folds) == len(ev.tested)
    if method == "purged_kfold":
        assert ev.samples == len(data.y)  # every sample is tested once
    else:
        assert ev.samples == len(data.y) - len(data.y) // 5  # all but the first block


def test_noise_scores_a_coin_flip_and_the_calibration_table_adds_up() -> None:
    ev = evaluate(_data(signal=0.0), ML, seed=0)
    assert 0.45 < ev.accuracy < 0.55
    assert 0.44 < ev.roc_auc < 0.56
    assert sum(b.count for b in ev.calibration) == ev.samples
    for b in ev.calibration:
        assert b.low <= b.mean_predicted < b.high
        tested = ev.probabilities[(ev.probabilities >= b.low) & (ev.probabilities < b.high)]
        assert len(tested) == b.count


def test_walk_forward_folds_train_on_the_latest_max_samples_and_skip_below_min_samples() -> None:
    """``retrain`` as the backtest learns: at most ``max_samples`` labels, the latest before
    the fold, and no model before ``min_samples`` labels. ``ml evaluate`` used to keep only
    the last ``max_samples`` samples of the whole data set and ignore ``min_samples`` (an
    audit: 2000 tested 1,666 samples from May 2021 on)."""
    data = _data(signal=1.0)  # 1200 samples at bars 0, 2, 4, ..., labels end 6 bars later
    embargo, low, high = 4, 400, 450
    cfg = MlConfig(
        features=ML.features,
        splits=SplitConfig(method="walk_forward", folds=4, embargo=embargo),
        retrain=RetrainConfig(min_samples=low, max_samples=high),
        weights="none",
    )
    ev = evaluate(data, cfg, seed=3)
    # by hand: 5 blocks of 240 samples; block k is tested on a model fitted on the samples
    # whose label ended before its first bar minus the embargo, the latest `high` of them
    expected: dict[int, np.ndarray] = {}
    sizes, skipped = [], []
    for k in range(1, 5):
        test = np.arange(240 * k, 240 * (k + 1))
        known = [i for i in range(1200) if data.end[i] < data.start[test[0]] - embargo]
        if len(known) < low:
            skipped.append((k, len(known)))
            continue
        train = known[-high:]
        sizes.append(len(train))
        model = make_pipeline(StandardScaler(), LogisticRegression(random_state=3, max_iter=1000))
        model.fit(data.x[train], data.y[train])
        for i, p in zip(test, model.predict_proba(data.x[test])[:, 1], strict=True):
            expected[int(i)] = p
    assert skipped == [(1, 235)]  # 235 known labels < 400: the backtest would not trade yet
    assert [(f.fold, f.train) for f in ev.skipped] == skipped
    assert [f.fold for f in ev.folds] == [2, 3, 4]
    assert [f.train for f in ev.folds] == sizes == [450, 450, 450]  # 475, 715, 955 capped
    assert ev.tested.tolist() == sorted(expected)
    np.testing.assert_allclose(ev.probabilities, [expected[i] for i in sorted(expected)])
    assert ev.samples == 720
    assert any("fold 1 skipped: 235 training labels < retrain.min_samples 400" in n
               for n in ev.notes)  # fmt: skip


def test_every_fold_below_min_samples_is_one_error() -> None:
    cfg = MlConfig(features=ML.features, retrain=RetrainConfig(min_samples=5000))
    with pytest.raises(DataError) as caught:
        evaluate(_data(signal=1.0), cfg, seed=0)
    assert str(caught.value) == (
        "ml evaluate: every fold has fewer training labels than retrain.min_samples (5000; "
        "the most: 985): use fewer ml.splits.folds, a lower retrain.min_samples or more bars"
    )


def test_an_embargo_that_leaves_no_training_label_is_named_not_the_folds() -> None:
    """An embargo longer than the data blamed the folds and min_samples (an audit: the
    advice 'use fewer folds' cannot help when the embargo removes every label). Purged
    k-fold always trains on the labels before its test block: it cannot end here."""
    cfg = MlConfig(
        features=ML.features,
        retrain=RetrainConfig(min_samples=100),
        splits=SplitConfig(method="walk_forward", embargo=3000),
    )
    with pytest.raises(DataError) as caught:
        evaluate(_data(signal=1.0), cfg, seed=0)
    assert str(caught.value) == (
        "ml evaluate: ml.splits.embargo = 3000 bars leaves every fold fewer training labels "
        "than retrain.min_samples (100; the most: 0, 997 without the embargo): use a "
        "smaller ml.splits.embargo"
    )


def test_purged_kfold_says_max_samples_is_a_walk_forward_window() -> None:
    cfg = MlConfig(
        features=ML.features,
        splits=SplitConfig(method="purged_kfold", folds=4, embargo=4),
        retrain=RetrainConfig(min_samples=10, max_samples=100),
    )
    ev = evaluate(_data(signal=1.0), cfg, seed=0)
    assert ev.samples == 1200  # every sample tested, each fold trained on all the others
    assert ev.notes == [
        "retrain.max_samples (100) caps walk-forward training windows; purged k-fold "
        "trains each fold on all the other labels"
    ]
