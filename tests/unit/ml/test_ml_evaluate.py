"""Out-of-sample evaluation: figures against sklearn on the pooled folds, and importances."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from engine.ml.config import FeatureSpec, MlConfig, SplitConfig
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
    cfg = MlConfig(features=ML.features, splits=SplitConfig(method=method, folds=4, embargo=4))  # type: ignore[arg-type]
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
