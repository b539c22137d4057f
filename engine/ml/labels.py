"""Labels from forward returns or triple-barrier events, their end bars, and weights.

In: closes (oldest first) and a `LabelConfig`. Out: `Labels` — per sample (one per bar):
the label (1.0 up, 0.0 not up, NaN while unresolved), the bar index its label ends at
(-1 while unresolved), and the barrier width used.

A label is a claim about bars after its sample, so it is **resolved** only when the bars
deciding it are in the data: the time barrier ``t + horizon`` exists, or (triple
barrier) a close before it touched a barrier. Computed on closes cut at any bar, a
resolved label is the same as on the whole series (it reads closes up to its end only);
`engine.ml.online` relies on this to label inside a backtest.

Sample weights (`uniqueness_weights`): the average uniqueness of each label over the
bars its return spans, ``(t, end]`` (López de Prado, *Advances in Financial Machine
Learning*, ch. 4): at each bar the concurrency is the number of labels spanning it, and a
label's weight is the mean of ``1 / concurrency`` over its bars. Overlapping labels share
information, so each counts less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.indicators import registry
from engine.ml.config import LabelConfig

__all__ = ["Labels", "barrier_widths", "make_labels", "uniqueness_weights"]


@dataclass(frozen=True)
class Labels:
    """Per-sample labels (NaN unresolved), end bar indices (-1 unresolved), widths σ_t."""

    y: np.ndarray
    end: np.ndarray
    width: np.ndarray

    @property
    def resolved(self) -> np.ndarray:
        """Return the boolean mask of samples whose label is known."""
        return self.end >= 0


def barrier_widths(close: np.ndarray, cfg: LabelConfig) -> np.ndarray:
    """Return σ_t: stddev of the last ``vol_window`` one-bar returns × sqrt(horizon).

    Computed with the indicator kernels (``rocp`` then ``stddev``), causal: σ_t uses
    closes up to t only. NaN during the warm-up.
    """
    rocp, rocp_params = registry.resolve("rocp", {"timeperiod": 1})
    stddev, std_params = registry.resolve("stddev", {"timeperiod": cfg.vol_window, "nbdev": 1.0})
    returns = np.asarray(rocp.compute({"real": close}, **rocp_params)["real"], dtype=np.float64)
    # stddev's kernel is given the returns from their first defined value (bar 1)
    sigma = np.full(len(close), np.nan)
    if len(close) > 1:
        tail = stddev.compute({"real": returns[1:]}, **std_params)["real"]
        sigma[1:] = np.asarray(tail, dtype=np.float64)
    return sigma * math.sqrt(cfg.horizon)


def make_labels(close: np.ndarray, cfg: LabelConfig) -> Labels:
    """Return the labels of every bar of ``close`` under ``cfg`` (see the module doc)."""
    close = np.ascontiguousarray(close, dtype=np.float64)
    if cfg.kind == "forward_return":
        width = np.zeros(len(close))
        y, end = _forward_kernel(close, cfg.horizon, cfg.threshold)
    else:
        width = barrier_widths(close, cfg)
        y, end = _barrier_kernel(
            close, width, cfg.horizon, cfg.profit_take, cfg.stop_loss, cfg.threshold
        )
    return Labels(y, end, width)


@njit(cache=True)
def _forward_kernel(
    close: np.ndarray, horizon: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    n = close.shape[0]
    y = np.full(n, np.nan)
    end = np.full(n, -1, dtype=np.int64)
    for i in range(n - horizon):
        y[i] = 1.0 if close[i + horizon] / close[i] - 1.0 > threshold else 0.0
        end[i] = i + horizon
    return y, end


@njit(cache=True)
def _barrier_kernel(
    close: np.ndarray,
    width: np.ndarray,
    horizon: int,
    profit_take: float,
    stop_loss: float,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    n = close.shape[0]
    y = np.full(n, np.nan)
    end = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        sigma = width[i]
        if sigma != sigma:  # NaN: no volatility yet, no label
            continue
        upper = close[i] * (1.0 + profit_take * sigma)
        lower = close[i] * (1.0 - stop_loss * sigma)
        last = min(i + horizon, n - 1)
        for j in range(i + 1, last + 1):
            if close[j] >= upper:
                y[i] = 1.0
                end[i] = j
                break
            if close[j] <= lower:
                y[i] = 0.0
                end[i] = j
                break
        if end[i] < 0 and i + horizon <= n - 1:
            y[i] = 1.0 if close[i + horizon] / close[i] - 1.0 > threshold else 0.0
            end[i] = i + horizon
    return y, end


def uniqueness_weights(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return each label's average uniqueness over its bars ``(start, end]``.

    Args:
        start: Sample bar indices (the bar whose close the features and label start at).
        end: The bar index each label ends at (> start).

    Only the labels given count toward concurrency: pass exactly the training set, so a
    weight never depends on labels that were not known yet.
    """
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    if len(start) == 0:
        return np.empty(0)
    if np.any(end <= start):
        raise ValueError("uniqueness_weights: every label must end after its start")
    origin = int(start.min())
    size = int(end.max()) - origin + 2
    counts = np.zeros(size, dtype=np.int64)
    np.add.at(counts, start - origin + 1, 1)  # spans (start, end] = [start + 1, end]
    np.add.at(counts, end - origin + 1, -1)
    concurrency = np.cumsum(counts)
    inverse = np.zeros(size)
    covered = concurrency > 0
    inverse[covered] = 1.0 / concurrency[covered]
    cumulative = np.concatenate(([0.0], np.cumsum(inverse)))
    lo = start - origin + 1
    hi = end - origin
    averages: np.ndarray = (cumulative[hi + 1] - cumulative[lo]) / (hi - lo + 1)
    return averages
