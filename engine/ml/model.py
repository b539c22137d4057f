"""The scikit-learn pipeline a config names, fitted with sample weights, and its hash.

In: a `ModelConfig`, the run's seed, a training matrix, labels, weights. Out: a fitted
``Pipeline(StandardScaler, classifier)`` and `model_hash`, a SHA-256 over the fitted
pipeline's pickle written without memo, so it depends on the model's values only (same data
and seed → same hash, in any process; ``test_ml_determinism`` checks it).

Seeding: the classifier's ``random_state`` is the seed; scikit-learn is single-threaded
here (``n_jobs=1``) so a random forest's trees are built in a fixed order.

scikit-learn's warnings during a fit (a solver that stopped before converging, ...) are
never printed raw: each becomes one line (`fit_pipeline`), which the caller collects and
reports once per run with its count (the walk-forward learner refits dozens of times).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from engine.errors import ConfigError, did_you_mean, warn
from engine.ml.config import ModelConfig

__all__ = [
    "fit_pipeline",
    "make_pipeline",
    "model_hash",
    "predict_up",
    "summarize_fit_warnings",
]


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
        # scikit-learn accepts 0 and fits nothing: every prediction 0.5, silently
        if isinstance(params["max_iter"], int) and params["max_iter"] < 1:
            raise ConfigError(
                f"ml.model.params.max_iter = {params['max_iter']}: the solver needs at "
                "least 1 iteration"
            )
    elif cfg.kind == "random_forest":
        params.setdefault("n_jobs", 1)
    classifier = estimator(random_state=seed, **params)
    return Pipeline([("scale", StandardScaler()), ("model", classifier)])


def fit_pipeline(
    cfg: ModelConfig,
    seed: int,
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None,
    *,
    caught: list[str] | None = None,
) -> Pipeline:
    """Return ``make_pipeline(cfg, seed)`` fitted on ``x, y`` (weights optional).

    scikit-learn's warnings during the fit are appended to ``caught`` as one line each
    (`_warning_line`), or without ``caught`` printed as ``warning:`` lines.

    Raises:
        ValueError: ``y`` holds one class only (nothing to learn), or bad model params.
    """
    if len(np.unique(y)) < 2:
        raise ValueError("the training labels hold one class only")
    pipeline = make_pipeline(cfg, seed)
    fit_params = {} if weight is None else {"model__sample_weight": weight}
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        try:
            pipeline.fit(x, y, **fit_params)
        except (TypeError, ValueError) as exc:
            if "param" in str(exc).lower():
                raise ConfigError(f"ml.model.params: {exc}") from None
            raise
    lines = list(dict.fromkeys(_warning_line(cfg, pipeline, w) for w in raised))
    if caught is None:
        for line in lines:
            warn(line)
    else:
        caught.extend(lines)
    return pipeline


def _warning_line(cfg: ModelConfig, pipeline: Pipeline, raised: warnings.WarningMessage) -> str:
    """Return one line for a warning scikit-learn raised during a fit, with the fix."""
    first = str(raised.message).strip().splitlines()[0].rstrip(":").strip()
    if issubclass(raised.category, ConvergenceWarning):
        cap = pipeline.named_steps["model"].get_params().get("max_iter")
        fix = f"; raise ml.model.params.max_iter (now {cap})" if cap is not None else ""
        return f"the {cfg.kind} model did not converge (scikit-learn: {first}){fix}"
    return f"fitting the {cfg.kind} model: {raised.category.__name__}: {first}"


def summarize_fit_warnings(lines: list[str], fits: int) -> list[str]:
    """Return each distinct line of ``lines`` once, with how many of ``fits`` fits raised it."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    if fits <= 1:
        return list(counts)
    return [f"{line} (in {n} of {fits} fits)" for line, n in counts.items()]


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
