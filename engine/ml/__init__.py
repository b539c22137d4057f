"""Machine-learning signals without leakage: features, labels, splits, models, registry.

In: a run config with an ``[ml]`` section (`engine.ml.config`) and bars. Out: feature
matrices (`engine.ml.features`, over the indicator kernels the strategies use), labels
with their end bars and uniqueness weights (`engine.ml.labels`), purged k-fold and
walk-forward splits with an embargo (`engine.ml.splits`), a seeded scikit-learn pipeline
(`engine.ml.model`), walk-forward retraining bar by bar (`engine.ml.online`, used by
`strategies.ml_signal`), out-of-sample evaluation (`engine.ml.evaluate`) and saved models
(`engine.ml.registry`).

The rule everything here keeps: a sample enters a training set only when its label
ended strictly before the first bar the model predicts (and, in k-fold, outside the
embargo after the test fold). ``tests/unit/ml/test_ml_leakage.py`` fails otherwise.

This package imports scikit-learn lazily (only `engine.ml.model` and its users), so
reading a config with an ``[ml]`` section stays cheap.
"""

from __future__ import annotations
