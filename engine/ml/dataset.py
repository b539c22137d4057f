"""The offline data set of a run config: features, labels, weights of the ``[ml]`` symbol.

In: a `RunConfig` with an ``[ml]`` section (bars loaded as a backtest loads them,
`engine.runtime.inputs.load_frames`), or bars given directly. Out: a `Dataset` with the
labelled, warm samples (`engine.ml.online.training_set` over the whole series: the rows
`kestrel ml train` fits on, the latest ``retrain.max_samples`` when set, and all of them
for `kestrel ml evaluate` to split) and each bar's close time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.config import RunConfig
from engine.errors import ConfigError, DataError
from engine.feeds import BarFrame
from engine.ml.config import MlConfig
from engine.ml.features import build_features
from engine.ml.online import training_set

__all__ = ["Dataset", "build_dataset", "load_dataset"]


@dataclass(frozen=True)
class Dataset:
    """Labelled samples: ``x``, ``y``, ``weight``; bar indices ``start``/``end``; times.

    ``ts_close`` holds every bar's close time (ns), so ``ts_close[start[k]]`` is when
    sample k was observed and ``ts_close[end[k]]`` when its label was known.
    """

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ts_close: np.ndarray
    feature_names: list[str]


def build_dataset(frame: BarFrame, ml: MlConfig, window: bool = True) -> Dataset:
    """Return the labelled samples of ``frame`` under ``ml``.

    ``window``: keep only the latest ``retrain.max_samples`` (what ``ml train`` fits on,
    as the backtest's last refit would); False keeps every sample (``ml evaluate``, which
    caps each fold's training window instead, `engine.ml.evaluate`).
    """
    columns = {name: getattr(frame, name) for name in ("open", "high", "low", "close", "volume")}
    rows = build_features(columns, ml.features)
    x, y, weight, start, end = training_set(rows, np.asarray(frame.close), ml, window)
    return Dataset(x, y, weight, start, end, np.asarray(frame.ts_close_ns), ml.feature_names)


def load_dataset(config: RunConfig, window: bool = True) -> tuple[Dataset, MlConfig]:
    """Load the config's bars and return the data set of its ``[ml]`` symbol.

    ``window``: as in `build_dataset`.

    Raises:
        ConfigError: No ``[ml]`` section. DataError: bad bars, or too few labelled samples.
    """
    from engine.runtime.inputs import load_frames

    ml = config.ml
    if ml is None:
        raise ConfigError("the config has no [ml] section (features, label, model)")
    symbol = ml.symbol or config.symbols[0]
    frames = [f for f in load_frames(config) if isinstance(f, BarFrame) and f.symbol == symbol]
    if not frames:
        raise DataError(f"ml: no bars for {symbol}; the [ml] symbol needs a bar source")
    dataset = build_dataset(frames[0], ml, window)
    count, folds = len(dataset.y), ml.splits.folds
    if count < 2 * folds:  # each fold (and walk-forward's first block) needs samples
        raise DataError(
            f"ml: {symbol} gives {count} labelled samples, too few for {folds} folds "
            f"(2 a fold at least): use fewer ml.splits.folds, more bars or a shorter "
            "label horizon"
        )
    if len(np.unique(dataset.y)) < 2:
        raise DataError(
            f"ml: {symbol}'s {count} labelled samples are {int(dataset.y.sum())} up: the "
            "labels are all one class, nothing to learn; change ml.label (threshold, "
            "barriers) or use more bars"
        )
    return dataset, ml
