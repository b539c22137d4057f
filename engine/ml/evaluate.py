"""Out-of-sample evaluation of an ``[ml]`` model over purged k-fold or walk-forward splits.

In: a `Dataset` (`engine.ml.dataset`), the `MlConfig` and the seed. Out: an `Evaluation`
— pooled out-of-sample accuracy, precision, recall, ROC AUC, log loss and Brier score of
the probabilities every test fold got from a model trained without it (purged and
embargoed, `engine.ml.splits`), the share of 1s (what "always up" would score), a
calibration table, per-fold figures and permutation importances measured on the test
folds (the rise in log loss when a feature's column is shuffled, sklearn's
`permutation_importance`, averaged over folds weighted by their size).

Training weights are the uniqueness of each fold's training labels among themselves
(recomputed per fold, never from test labels). Every split is checked with
`engine.ml.splits.check_split` before it is used.

``[ml.retrain]`` is applied as the backtest's learner applies it (`engine.ml.online`), so
the figures are those of the model the backtest would trade with: a fold whose training
set holds fewer than ``min_samples`` labels is skipped (the backtest takes no position
before it has them) and named in `Evaluation.skipped` and `Evaluation.notes`; in
walk-forward, ``max_samples`` caps each fold's training set to the latest labels before
it (every sample of the data set is still split into folds). Purged k-fold trains each
fold on all the other labels, before and after it: no "latest" window, so
``max_samples`` is not applied there, and a note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from engine.errors import DataError, warn
from engine.ml.config import MlConfig
from engine.ml.dataset import Dataset
from engine.ml.labels import uniqueness_weights
from engine.ml.model import fit_pipeline, predict_up, summarize_fit_warnings
from engine.ml.splits import check_split, purged_kfold, walk_forward

__all__ = ["CalibrationBin", "Evaluation", "FoldResult", "SkippedFold", "evaluate"]

CALIBRATION_BINS = 10
PERMUTATION_REPEATS = 5


@dataclass(frozen=True)
class FoldResult:
    """One test fold: sizes, the bars it spans, and its own accuracy and AUC.

    ``first_ns`` / ``last_ns``: the close times of its first and last sample's bar (when
    each decision was made), not the bars' open times: a daily fold's last sample on a
    Friday shows Saturday 00:00 (the page says "decision (bar close)")."""

    fold: int
    train: int
    test: int
    first_ns: int
    last_ns: int
    accuracy: float
    roc_auc: float


@dataclass(frozen=True)
class SkippedFold:
    """A test fold left out: its training set held fewer than ``retrain.min_samples``."""

    fold: int
    train: int


@dataclass(frozen=True)
class CalibrationBin:
    """Predictions with P(up) in ``[low, high)``: how many, their mean, how many were up."""

    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float


@dataclass(frozen=True)
class Evaluation:
    """Pooled out-of-sample figures of all test folds (see the module doc)."""

    method: str
    samples: int
    base_rate: float
    accuracy: float
    precision: float
    recall: float
    roc_auc: float
    log_loss: float
    brier: float
    folds: list[FoldResult]
    calibration: list[CalibrationBin]
    importances: list[tuple[str, float, float]]  # (feature, mean, std) by decreasing mean
    probabilities: np.ndarray  # P(up) per tested sample, in sample order
    tested: np.ndarray  # positions in the data set of the tested samples
    skipped: list[SkippedFold] = field(default_factory=list)  # below retrain.min_samples
    notes: list[str] = field(default_factory=list)  # what was left out or not applied, why

    def as_dict(self) -> dict[str, Any]:
        """Return the scalar figures (for JSON and the terminal table)."""
        return {
            "method": self.method,
            "samples": self.samples,
            "base_rate": self.base_rate,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "roc_auc": self.roc_auc,
            "log_loss": self.log_loss,
            "brier": self.brier,
        }


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def _neg_log_loss(estimator: Any, x: np.ndarray, y: np.ndarray) -> float:
    return -float(log_loss(y, predict_up(estimator, x), labels=[0.0, 1.0]))


def evaluate(data: Dataset, ml: MlConfig, seed: int) -> Evaluation:
    """Return the out-of-sample evaluation of ``ml`` on ``data`` (see the module doc).

    Raises:
        DataError: A fold has no training sample of both classes, or every fold has
            fewer than ``retrain.min_samples``.
    """
    cut = purged_kfold if ml.splits.method == "purged_kfold" else walk_forward
    splits, skipped, notes = _windows(
        cut(data.start, data.end, ml.splits.folds, ml.splits.embargo),
        ml,
        lambda: max(len(train) for train, _ in cut(data.start, data.end, ml.splits.folds, 0)),
    )
    probabilities = np.full(len(data.y), np.nan)
    folds: list[FoldResult] = []
    importance_sum = np.zeros(len(data.feature_names))
    importance_sq = np.zeros(len(data.feature_names))
    fit_warnings: list[str] = []  # scikit-learn's, one line each: said once with a count
    for k, train, test in splits:
        check_split(data.start, data.end, train, test, ml.splits.embargo)
        if len(np.unique(data.y[train])) < 2:
            raise DataError(
                f"ml evaluate: fold {k} has {len(train)} training samples of one class "
                "only; use fewer folds or a smaller embargo"
            )
        weight = (
            uniqueness_weights(data.start[train], data.end[train])
            if ml.weights == "uniqueness"
            else None
        )
        model = fit_pipeline(
            ml.model, seed, data.x[train], data.y[train], weight, caught=fit_warnings
        )
        p = predict_up(model, data.x[test])
        probabilities[test] = p
        y = data.y[test]
        folds.append(
            FoldResult(
                k,
                len(train),
                len(test),
                int(data.ts_close[data.start[test[0]]]),
                int(data.ts_close[data.start[test[-1]]]),
                float(accuracy_score(y, p > 0.5)),
                _auc(y, p),
            )
        )
        result = permutation_importance(
            model,
            data.x[test],
            y,
            scoring=_neg_log_loss,
            n_repeats=PERMUTATION_REPEATS,
            random_state=seed,
        )
        importance_sum += result.importances_mean * len(test)
        importance_sq += result.importances_std * len(test)
    for line in summarize_fit_warnings(fit_warnings, len(folds)):
        warn(line)
    tested = np.flatnonzero(~np.isnan(probabilities))
    p, y = probabilities[tested], data.y[tested]
    total = len(tested)
    means, stds = importance_sum / total, importance_sq / total
    order = np.argsort(-means, kind="stable")
    return Evaluation(
        method=ml.splits.method,
        samples=total,
        base_rate=float(y.mean()),
        accuracy=float(accuracy_score(y, p > 0.5)),
        precision=float(precision_score(y, p > 0.5, zero_division=0.0)),
        recall=float(recall_score(y, p > 0.5, zero_division=0.0)),
        roc_auc=_auc(y, p),
        log_loss=float(log_loss(y, p, labels=[0.0, 1.0])),
        brier=float(brier_score_loss(y, p)),
        folds=folds,
        calibration=_calibration(y, p),
        importances=[(data.feature_names[j], float(means[j]), float(stds[j])) for j in order],
        probabilities=p,
        tested=tested,
        skipped=skipped,
        notes=notes,
    )


def _windows(
    splits: list[tuple[np.ndarray, np.ndarray]],
    ml: MlConfig,
    most_without_embargo: Callable[[], int],
) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], list[SkippedFold], list[str]]:
    """Return ``(fold number, train, test)`` under ``[ml.retrain]``, the skipped, the notes.

    ``most_without_embargo``: the largest fold's training labels with no embargo, asked
    only when no fold has enough, to tell whether the embargo is what left them too few.
    """
    low, high = ml.retrain.min_samples, ml.retrain.max_samples
    kept: list[tuple[int, np.ndarray, np.ndarray]] = []
    skipped: list[SkippedFold] = []
    notes: list[str] = []
    for k, (train, test) in enumerate(splits, 1):
        if len(train) < low:
            skipped.append(SkippedFold(k, len(train)))
            notes.append(
                f"fold {k} skipped: {len(train)} training labels < retrain.min_samples {low} "
                "(the backtest takes no position before it has them)"
            )
        else:  # walk-forward: the latest `high` labels before the fold, as the learner
            window = train[-high:] if high and ml.splits.method == "walk_forward" else train
            kept.append((k, window, test))
    most = max((s.train for s in skipped), default=0)
    if not kept and ml.splits.embargo and most_without_embargo() >= low:
        raise DataError(
            f"ml evaluate: ml.splits.embargo = {ml.splits.embargo} bars leaves every fold "
            f"fewer training labels than retrain.min_samples ({low}; the most: {most}, "
            f"{most_without_embargo()} without the embargo): use a smaller ml.splits.embargo"
        )
    if not kept:
        raise DataError(
            f"ml evaluate: every fold has fewer training labels than retrain.min_samples "
            f"({low}; the most: {most}): use fewer ml.splits.folds, "
            "a lower retrain.min_samples or more bars"
        )
    if high and ml.splits.method == "purged_kfold":
        notes.append(
            f"retrain.max_samples ({high}) caps walk-forward training windows; purged "
            "k-fold trains each fold on all the other labels"
        )
    return kept, skipped, notes


def _calibration(y: np.ndarray, p: np.ndarray) -> list[CalibrationBin]:
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(p, edges) - 1, 0, CALIBRATION_BINS - 1)
    table = []
    for b in range(CALIBRATION_BINS):
        inside = which == b
        if inside.any():
            table.append(
                CalibrationBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(inside.sum()),
                    float(p[inside].mean()),
                    float(y[inside].mean()),
                )
            )
    return table
