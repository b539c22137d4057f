"""Overfitting guards of a sweep: the deflated Sharpe ratio and the PBO by CSCV.

In: the sweep's ``T × N`` matrix of per-period returns (one column per completed trial; the
optimizer keeps each trial's per-day returns in memory, `engine.optimize.trial`) and which
trial the sweep chose. Out: plain dicts, stored with the sweep and printed by the CLI.

Deflated Sharpe ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014): the
chosen trial's per-period Sharpe ratio SR (mean / std, ddof 1, of its T returns), with the
skewness γ3 and kurtosis γ4 of those returns (population moments), tested against
SR* = E[max SR of N skill-less trials] = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))), where
N is the number of completed trials and V the variance (ddof 1) of their per-period Sharpe
ratios: DSR = Φ((SR − SR*) √(T − 1) / √(1 − γ3 SR + (γ4 − 1)/4 SR²)). The two formulas are
`engine.report.metrics.expected_max_sharpe` and `probabilistic_sharpe` (shared with a single
run's ``deflated_sharpe``). Read DSR as the probability that the chosen trial's true Sharpe
ratio is above zero after the search that found it; below 0.95 the search explains it.

Probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu, "The Probability
of Backtest Overfitting", 2015), by combinatorially symmetric cross-validation: split the T
rows into S contiguous blocks (S even, default 16; sizes differ by at most one row when T is
not a multiple of S); for each of the C(S, S/2) ways to pick half the blocks as in-sample
(IS), the rest out-of-sample (OOS), take the trial n* with the best IS Sharpe ratio (first on
ties) and its OOS rank r among the N trials (1 = worst; tied values share their average
rank; a sweep passes the trials its DSR counts, those with a Sharpe ratio: `sweep_guards`);
ω = r / (N + 1), λ = ln(ω / (1 − ω)). PBO is the fraction of splits with λ ≤ 0 — the IS
winner at or below the OOS median. Also reported: the fraction of splits where the IS winner
loses money OOS (``prob_oos_loss``). Per-block sums make each split a few matrix products,
so 12,870 splits × 1,000 trials take well under a second.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.report.metrics import central_moments, expected_max_sharpe, probabilistic_sharpe

__all__ = ["deflated_sharpe", "pbo_cscv", "sharpe_ratios"]

Matrix = npt.NDArray[np.float64]


def sharpe_ratios(matrix: Matrix) -> Matrix:
    """Return each column's per-period Sharpe ratio (mean / std, ddof 1; NaN if std is 0)."""
    mean = matrix.mean(axis=0)
    std = matrix.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Matrix = np.where(std > 0, mean / std, np.nan)
    return result


def deflated_sharpe(matrix: Matrix, chosen: int) -> dict[str, Any]:
    """Return the deflated Sharpe ratio of column ``chosen`` given all columns as the trials.

    Keys: ``deflated_sharpe``, ``probabilistic_sharpe`` (against 0), ``sharpe`` (per period),
    ``expected_max_sharpe`` (SR*), ``sharpe_variance`` (V), ``trials`` (N, the columns with
    a defined Sharpe ratio), ``observations`` (T). Undefined values are None.
    """
    observations = matrix.shape[0]
    sharpes = sharpe_ratios(matrix)
    finite = sharpes[np.isfinite(sharpes)]
    trials = int(finite.size)
    variance = float(np.var(finite, ddof=1)) if trials > 1 else 0.0
    benchmark = expected_max_sharpe(trials, variance)
    sharpe = float(sharpes[chosen])
    returns = matrix[:, chosen]
    m2, m3, m4 = central_moments(returns)
    if observations < 3 or not math.isfinite(sharpe) or not m2 > 0:
        psr = dsr = math.nan
    else:
        skew, kurtosis = m3 / m2**1.5, m4 / m2**2
        psr = probabilistic_sharpe(sharpe, observations, skew, kurtosis)
        dsr = probabilistic_sharpe(sharpe, observations, skew, kurtosis, benchmark)
    return {
        "deflated_sharpe": _finite(dsr),
        "probabilistic_sharpe": _finite(psr),
        "sharpe": _finite(sharpe),
        "expected_max_sharpe": _finite(benchmark),
        "sharpe_variance": _finite(variance),
        "trials": trials,
        "observations": observations,
    }


def pbo_cscv(matrix: Matrix, blocks: int = 16) -> dict[str, Any]:
    """Return the probability of backtest overfitting of the trials in ``matrix``'s columns.

    ``blocks`` is lowered to the largest even number leaving two rows per block when T is
    short. Keys: ``pbo``, ``prob_oos_loss``, ``logit_median`` (median λ), ``splits``,
    ``blocks``, ``trials``; ``pbo`` is None (with ``reason``) below 2 trials or 4 rows.
    """
    rows, trials = matrix.shape
    blocks = min(blocks, (rows // 2) // 2 * 2)
    if trials < 2 or blocks < 2:
        reason = "needs at least 2 completed trials" if trials < 2 else "needs at least 4 periods"
        return {"pbo": None, "reason": reason, "trials": trials, "blocks": blocks, "splits": 0}
    groups = np.array_split(np.arange(rows), blocks)
    counts = np.array([g.size for g in groups], dtype=np.float64)
    sums = np.stack([matrix[g].sum(axis=0) for g in groups])  # blocks × trials
    squares = np.stack([(matrix[g] * matrix[g]).sum(axis=0) for g in groups])
    picks = list(itertools.combinations(range(blocks), blocks // 2))
    member = np.zeros((len(picks), blocks))
    for row, pick in enumerate(picks):
        member[row, list(pick)] = 1.0
    in_sample = _split_sharpes(member, counts, sums, squares)
    out_sample = _split_sharpes(1.0 - member, counts, sums, squares)
    best = np.argmax(np.where(np.isnan(in_sample), -np.inf, in_sample), axis=1)
    oos = np.where(np.isnan(out_sample), -np.inf, out_sample)
    winner = oos[np.arange(len(picks)), best][:, None]
    rank = (oos < winner).sum(axis=1) + ((oos == winner).sum(axis=1) + 1) / 2.0
    omega = rank / (trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return {
        "pbo": float(np.mean(logits <= 0)),
        "prob_oos_loss": float(np.mean(winner[:, 0] < 0)),
        "logit_median": float(np.median(logits)),
        "splits": len(picks),
        "blocks": blocks,
        "trials": trials,
    }


def _split_sharpes(member: Matrix, counts: Matrix, sums: Matrix, squares: Matrix) -> Matrix:
    """Return the Sharpe ratio of every trial over the blocks each row of ``member`` selects."""
    n = (member @ counts)[:, None]
    total = member @ sums
    mean = total / n
    variance = (member @ squares - total * mean) / (n - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Matrix = np.where(variance > 0, mean / np.sqrt(np.maximum(variance, 0.0)), np.nan)
    return result


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
