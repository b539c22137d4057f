"""Purged k-fold and walk-forward splits with an embargo, over labelled samples.

In: per sample, its bar index ``start`` (features known at that bar's close) and the bar
index its label ``end``-s at (> start), samples in time order. Out: ``(train, test)``
pairs of sample positions.

The rule (López de Prado, ch. 7): a training sample's label may not overlap the test
fold's information. Let the test fold's samples start at bar ``a`` and their labels end by
bar ``b``. A training sample is kept only if its label ends strictly before ``a``
(``end < a``), or — in k-fold, where training data may follow the test fold — if it
starts after ``b + embargo`` (the embargo drops samples right after the fold, whose
features are correlated with the fold's last labels). Walk-forward trains only on the
past: ``end < a - embargo``. `check_split` states the rule as code; the leakage tests run
every split through it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_split", "purged_kfold", "walk_forward"]

Split = tuple[np.ndarray, np.ndarray]


def _blocks(count: int, parts: int) -> list[np.ndarray]:
    if count < parts:
        raise ValueError(f"{count} labelled samples cannot make {parts} folds")
    return [block for block in np.array_split(np.arange(count), parts) if len(block)]


def purged_kfold(start: np.ndarray, end: np.ndarray, folds: int, embargo: int) -> list[Split]:
    """Return ``folds`` contiguous test folds, each with its purged, embargoed training set."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    splits = []
    for test in _blocks(len(start), folds):
        first = start[test[0]]
        last_end = int(end[test].max())
        keep = (end < first) | (start > last_end + embargo)
        keep[test] = False
        splits.append((np.flatnonzero(keep), test))
    return splits


def walk_forward(start: np.ndarray, end: np.ndarray, folds: int, embargo: int) -> list[Split]:
    """Return ``folds`` test blocks after a first training block; training is the past only.

    The samples are cut into ``folds + 1`` equal blocks; block k (k >= 1) is tested on a
    model trained on every earlier sample whose label ended before ``a - embargo``.
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    splits = []
    for test in _blocks(len(start), folds + 1)[1:]:
        train = np.flatnonzero(end < start[test[0]] - embargo)
        splits.append((train, test))
    return splits


def check_split(
    start: np.ndarray, end: np.ndarray, train: np.ndarray, test: np.ndarray, embargo: int
) -> None:
    """Raise AssertionError if a training label overlaps the test fold or its embargo."""
    first = int(start[test].min())
    last_end = int(end[test].max())
    for k in np.asarray(train):
        before = end[k] < first
        after = start[k] > last_end + embargo
        if not (before or after):
            raise AssertionError(
                f"leak: training sample at bar {start[k]} (label ends at bar {end[k]}) "
                f"overlaps the test fold starting at bar {first} (labels end by {last_end}, "
                f"embargo {embargo})"
            )
