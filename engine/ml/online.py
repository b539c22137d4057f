"""Walk-forward learning bar by bar: the model used at bar t saw only labels ended before t.

In: one feature row and one close per bar (`WalkForwardLearner.update`), an `MlConfig`
and a seed. Out: the probability that the label of the current bar is 1, or None while
no model exists or the row is still warming up.

At bar t (its close known) the learner, when a refit is due (every ``retrain.every``
bars, first when ``retrain.min_samples`` labels are known), labels the bars with the
closes of bars ``0 .. t-1`` only — so every training label ended at a bar < t (see
`engine.ml.labels`: a label resolved on cut closes equals the full-series one) — weights
them by uniqueness among themselves and fits the pipeline. The fitted model predicts bar
t and the following bars until the next refit. Each fit is recorded in ``fits``
(`FitRecord`): the leakage tests check every record's labels end before its first
prediction bar.

`FrozenLearner` is the paper/live form: a model loaded from the registry, never refitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from engine.ml.config import MlConfig
from engine.ml.labels import make_labels, uniqueness_weights
from engine.ml.model import fit_pipeline, predict_up

__all__ = ["FitRecord", "FrozenLearner", "WalkForwardLearner", "training_set"]


@dataclass(frozen=True)
class FitRecord:
    """One refit: at bar ``bar`` on samples starting at ``starts`` ending at ``ends``."""

    bar: int
    starts: np.ndarray
    ends: np.ndarray


def training_set(
    rows: np.ndarray, close: np.ndarray, cfg: MlConfig, window: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``x, y, weight, start, end`` of every labelled, warm sample in the data given.

    ``rows`` and ``close`` cover bars ``0 .. n-1``; labels are computed on these closes
    only, so each ends at a bar <= n-1. Samples whose feature row has a NaN (warm-up)
    are left out; with ``window`` the latest ``retrain.max_samples`` are kept when it is
    set (a fit's training window; ``ml evaluate`` takes all and caps each fold).
    """
    labels = make_labels(close, cfg.label)
    keep = labels.resolved & ~np.isnan(rows).any(axis=1)
    start = np.flatnonzero(keep)
    if window and cfg.retrain.max_samples:
        start = start[-cfg.retrain.max_samples :]
    end = labels.end[start]
    if cfg.weights == "uniqueness" and len(start):
        weight = uniqueness_weights(start, end)
    else:
        weight = np.ones(len(start))
    return rows[start], labels.y[start], weight, start, end


class WalkForwardLearner:
    """Refit on a schedule with only the labels known so far; predict each new bar."""

    def __init__(self, cfg: MlConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.rows: list[np.ndarray] = []
        self.closes: list[float] = []
        self.model: Pipeline | None = None
        self.last_fit = -1  # bar of the last fit attempt
        self.fits: list[FitRecord] = []
        # scikit-learn's warnings of every fit, one line each (`fit_pipeline`): the
        # strategy reports them once at the end of the run (`summarize_fit_warnings`)
        self.fit_warnings: list[str] = []

    def update(self, row: np.ndarray, close: float) -> float | None:
        """Add bar t's features and close; refit if due; return P(label of t is 1)."""
        self.rows.append(np.asarray(row, dtype=np.float64))
        self.closes.append(float(close))
        t = len(self.closes) - 1
        due = self.model is None or t - self.last_fit >= self.cfg.retrain.every
        if due and t >= self.cfg.retrain.min_samples:
            self._refit(t)
        if self.model is None or np.isnan(row).any():
            return None
        return float(predict_up(self.model, self.rows[-1][None, :])[0])

    def _refit(self, t: int) -> None:
        # closes of bars 0 .. t-1 only: every label used ends strictly before bar t
        rows = np.vstack(self.rows[:t])
        x, y, weight, start, end = training_set(rows, np.asarray(self.closes[:t]), self.cfg)
        if len(start) < self.cfg.retrain.min_samples or len(np.unique(y)) < 2:
            return  # not enough known labels yet: try again next bar
        self.model = fit_pipeline(self.cfg.model, self.seed, x, y, weight, caught=self.fit_warnings)
        self.last_fit = t
        self.fits.append(FitRecord(t, start, end))


class FrozenLearner:
    """A fitted model used as is (paper/live with a saved model): never refitted."""

    def __init__(self, model: Pipeline) -> None:
        self.model = model
        self.fits: list[FitRecord] = []

    def update(self, row: np.ndarray, close: float) -> float | None:
        """Return P(label 1) for ``row``, None while it is warming up (``close`` unused)."""
        if np.isnan(row).any():
            return None
        return float(predict_up(self.model, np.asarray(row, dtype=np.float64)[None, :])[0])
