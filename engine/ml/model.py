"""The scikit-learn pipeline a config names, fitted with sample weights, and its hash.

In: a `ModelConfig`, the run's seed, a training matrix, labels, weights. Out: a fitted
``Pipeline(StandardScaler, classifier)`` and `model_hash`, a SHA-256 over the fitted
pipeline's pickle written without memo, so it depends on the model's values only (same data
and seed → same hash, in any process; ``test_ml_determinism`` checks it).

Seeding: the classifier's ``random_state`` is the seed; scikit-learn is single-threaded
here (``n_jobs=1``) so a random forest's trees are built in a fixed order.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from engine.errors import ConfigError, did_you_mean
from engine.ml.config import ModelConfig

__all__ = ["fit_pipeline", "make_pipeline", "model_hash", "predict_up"]


def make_pipeline(cfg: ModelConfig, seed: int) -> Pipeline:
    """Return the unfitted ``scaler → classifier`` pipeline of ``cfg``, seeded."""
    params: dict[str, Any] = dict(cfg.params)
    estimator: Any = {
        "logistic": LogisticRegression,
        "gradient_boosting": GradientBoostingClassifier,
    }.get(cfg.kind, RandomForestClassifier)
    known = sorted(set(estimator().get_params()) - {"random_state"})  # that is [run] seed
    for key in params:
        if key not in known:
            raise ConfigError(
                f"unknown key 'ml.model.params.{key}' for {estimator.__name__}"
                f"{did_you_mean(key, known)}"
            )
    if cfg.kind == "logistic":
        params.setdefault("max_iter", 1000)
    elif cfg.kind == "random_forest":
        params.setdefault("n_jobs", 1)
    classifier = estimator(random_state=seed, **params)
    return Pipeline([("scale", StandardScaler()), ("model", classifier)])


def fit_pipeline(
    cfg: ModelConfig, seed: int, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None
) -> Pipeline:
    """Return ``make_pipeline(cfg, seed)`` fitted on ``x, y`` (weights optional).

    Raises:
        ValueError: ``y`` holds one class only (nothing to learn), or bad model params.
    """
    if len(np.unique(y)) < 2:
        raise ValueError("the training labels hold one class only")
    pipeline = make_pipeline(cfg, seed)
    fit_params = {} if weight is None else {"model__sample_weight": weight}
    try:
        pipeline.fit(x, y, **fit_params)
    except (TypeError, ValueError) as exc:
        if "param" in str(exc).lower():
            raise ConfigError(f"ml.model.params: {exc}") from None
        raise
    return pipeline


def predict_up(pipeline: Pipeline, x: np.ndarray) -> np.ndarray:
    """Return the predicted probability of label 1 (up) for each row of ``x``."""
    classes = list(pipeline.classes_)
    proba = pipeline.predict_proba(x)
    return np.asarray(proba[:, classes.index(1.0)], dtype=np.float64)


def model_hash(pipeline: Pipeline) -> str:
    """Return the SHA-256 hex digest of the fitted pipeline's pickle, written without memo.

    A pickle writes an object met twice once and then refers to it, so its bytes depend on
    which equal objects are one object: the labels of a freshly compiled numba kernel carry
    a float64 dtype object of their own, those of a cached one the shared one, and the same
    model hashed two ways. Without the memo (``fast`` mode: every object is written in full
    where it occurs; a pipeline holds no cycles) the bytes depend on the values only.
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    pickler.dump(pipeline)
    return hashlib.sha256(buffer.getvalue()).hexdigest()
