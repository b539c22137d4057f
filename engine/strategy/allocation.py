"""Portfolio construction: long-only weights across assets from a window of returns.

In: a matrix of per-bar simple returns (rows oldest first, one column per asset) or a
covariance matrix, and per-asset weight bounds. Out: a numpy array of weights, each within
its bounds, summing to 1. The multi-asset strategy `strategies.portfolio` calls `allocate`;
authors may call the single methods directly. All logic lives here; nothing is stateful.

Methods (``METHODS``):

- ``equal_weight``: ``1 / n`` each.
- ``inverse_volatility``: ``w_i ∝ 1 / σ_i``, σ from the covariance's diagonal.
- ``risk_parity``: equal risk contribution, ``w_i (Σw)_i / w'Σw = 1 / n`` for every i.
  Solved numerically on Spinu's convex form (minimize ``½ x'Σx − Σ log(x_i) / n``, then
  ``w = x / Σx``) by cyclical coordinate descent, each step the positive root of the
  coordinate's quadratic, until no coordinate moves by more than ``tol`` (relative).
- ``min_variance``: minimize ``w'Σw``; SLSQP (scipy) under the bounds, then polished to
  the exact solution of the KKT equations on the assets whose bounds do not bind.
- ``max_sharpe``: maximize ``(w'μ − r_f) / sqrt(w'Σw)`` (the tangency portfolio), SLSQP
  under the bounds. When no asset's mean return beats ``r_f`` the ratio has no positive
  maximum worth holding long-only, and the minimum-variance weights are returned instead
  (decision: a long-only fully invested portfolio then wants the least risk).

Covariance: Ledoit–Wolf shrinkage of the sample covariance toward a scaled identity
(`sklearn.covariance.LedoitWolf`), which keeps the estimate well conditioned when the
window is short compared with the number of assets. μ for ``max_sharpe`` is the window's
mean return — a noisy estimate (see the failure modes in `strategies.portfolio`).

Bounds (`WeightBounds`): the same ``[min_weight, max_weight]`` for every asset, with
``n * min_weight <= 1 <= n * max_weight`` (otherwise no weights can sum to 1). The
optimizers (min variance, max Sharpe) take them as constraints. The heuristic methods
(equal weight, inverse volatility, risk parity) compute their weights unconstrained, then
`apply_bounds` clips them and hands what was clipped to the unclipped assets in proportion
to their weights (so with a binding bound, risk contributions are no longer equal).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.covariance import LedoitWolf

__all__ = [
    "METHODS",
    "WeightBounds",
    "allocate",
    "apply_bounds",
    "equal_weight",
    "inverse_volatility",
    "max_sharpe",
    "min_variance",
    "risk_contributions",
    "risk_parity",
    "shrunk_covariance",
]

Array = np.ndarray

METHODS = ("equal_weight", "inverse_volatility", "risk_parity", "min_variance", "max_sharpe")

_EPS = 1e-12  # slack when comparing weights with their bounds


@dataclass(frozen=True)
class WeightBounds:
    """Long-only bounds on every asset's weight (fractions of the portfolio)."""

    min_weight: float = 0.0
    max_weight: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_weight <= self.max_weight <= 1.0:
            raise ValueError(
                "weight bounds need 0 <= min_weight <= max_weight <= 1, got "
                f"{self.min_weight} and {self.max_weight}"
            )

    def check(self, n: int) -> None:
        """Raise ValueError unless ``n`` weights within the bounds can sum to 1."""
        if n < 1:
            raise ValueError("allocation needs at least one asset")
        if n * self.min_weight > 1.0 + _EPS or n * self.max_weight < 1.0 - _EPS:
            raise ValueError(
                f"{n} assets with weights in [{self.min_weight}, {self.max_weight}] cannot sum to 1"
            )


def shrunk_covariance(returns: Array) -> Array:
    """Return the Ledoit–Wolf covariance of ``returns`` (rows: observations)."""
    data = np.asarray(returns, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"returns must be a 2-D array with >= 2 rows, got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("returns contain NaN or infinite values")
    return np.asarray(LedoitWolf().fit(data).covariance_, dtype=np.float64)


def risk_contributions(weights: Array, cov: Array) -> Array:
    """Return each asset's share of the portfolio variance, ``w_i (Σw)_i / w'Σw``."""
    w = np.asarray(weights, dtype=np.float64)
    marginal = cov @ w
    return np.asarray(w * marginal / float(w @ marginal), dtype=np.float64)


def apply_bounds(weights: Array, bounds: WeightBounds) -> Array:
    """Clip ``weights`` (>= 0, sum 1) to the bounds, redistributing proportionally.

    Assets pushed to a bound stay there; the rest share what is left in proportion to
    their weights, repeated until none leaves its bounds (at most ``n`` rounds).
    """
    w = np.asarray(weights, dtype=np.float64)
    n = w.size
    bounds.check(n)
    lo, hi = bounds.min_weight, bounds.max_weight
    fixed = np.full(n, np.nan)
    for _ in range(n + 1):
        free = np.isnan(fixed)
        budget = 1.0 - float(np.nansum(fixed))
        base = w[free]
        total = float(base.sum())
        share = base / total * budget if total > 0 else np.full(base.size, budget / base.size)
        out = fixed.copy()
        out[free] = share
        low, high = out < lo - _EPS, out > hi + _EPS
        if not (low.any() or high.any()):
            return out
        # fix the side that is violated most (in total); the other may resolve itself
        if float((lo - out[low]).sum()) >= float((out[high] - hi).sum()):
            fixed[low] = lo
        else:
            fixed[high] = hi
    raise AssertionError("apply_bounds did not converge")  # n rounds fix every asset


def equal_weight(n: int, bounds: WeightBounds | None = None) -> Array:
    """Return ``1 / n`` for each of ``n`` assets (bounds only checked: EW is symmetric)."""
    (bounds or WeightBounds()).check(n)
    return np.full(n, 1.0 / n)


def inverse_volatility(cov: Array, bounds: WeightBounds | None = None) -> Array:
    """Return weights proportional to ``1 / σ_i``, then bounded."""
    vol = np.sqrt(np.diag(cov))
    if not (vol > 0).all():
        raise ValueError("inverse_volatility: an asset has zero volatility")
    return apply_bounds((1.0 / vol) / float((1.0 / vol).sum()), bounds or WeightBounds())


def risk_parity(
    cov: Array, bounds: WeightBounds | None = None, *, tol: float = 1e-14, max_iter: int = 10_000
) -> Array:
    """Return the equal-risk-contribution weights, then bounded.

    Cyclical coordinate descent on ``½ x'Σx − b Σ log x_i`` (``b = 1/n``): the minimum is
    where ``x_i (Σx)_i = b`` for all i, i.e. equal risk contributions. Coordinate i solves
    ``Σ_ii x_i² + c_i x_i − b = 0`` with ``c_i = Σ_{j≠i} Σ_ij x_j``.
    """
    sigma = np.asarray(cov, dtype=np.float64)
    n = sigma.shape[0]
    diag = np.diag(sigma)
    if not (diag > 0).all():
        raise ValueError("risk_parity: an asset has zero variance")
    b = 1.0 / n
    x = 1.0 / np.sqrt(diag)
    for _ in range(max_iter):
        largest = 0.0
        for i in range(n):
            c = float(sigma[i] @ x) - diag[i] * x[i]
            new = (-c + math.sqrt(c * c + 4.0 * diag[i] * b)) / (2.0 * diag[i])
            largest = max(largest, abs(new - x[i]) / new)
            x[i] = new
        if largest <= tol:
            return apply_bounds(x / float(x.sum()), bounds or WeightBounds())
    raise ValueError(f"risk_parity did not converge in {max_iter} sweeps")


def _slsqp(objective: Callable[[Array], float], n: int, bounds: WeightBounds) -> Array:
    """Minimize ``objective`` over weights within ``bounds`` summing to 1 (SLSQP)."""
    start = apply_bounds(np.full(n, 1.0 / n), bounds)
    result = minimize(
        objective,
        start,
        method="SLSQP",
        bounds=[(bounds.min_weight, bounds.max_weight)] * n,
        constraints=[{"type": "eq", "fun": lambda w: float(np.sum(w)) - 1.0}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    w = np.clip(np.asarray(result.x, dtype=np.float64), bounds.min_weight, bounds.max_weight)
    return w / float(w.sum())


def min_variance(cov: Array, bounds: WeightBounds | None = None) -> Array:
    """Return the minimum-variance weights within the bounds.

    SLSQP finds which bounds bind; the free weights are then solved exactly from the KKT
    equations ``Σ_FF w_F + Σ_FB w_B = λ 1`` and ``Σ w = 1`` (kept if within bounds).
    """
    sigma = np.asarray(cov, dtype=np.float64)
    n = sigma.shape[0]
    limits = bounds or WeightBounds()
    limits.check(n)
    w = _slsqp(lambda v: float(v @ sigma @ v) * 1e4, n, limits)
    lo, hi = limits.min_weight, limits.max_weight
    bound = (np.abs(w - lo) < 1e-7) | (np.abs(w - hi) < 1e-7)
    free = ~bound
    if not free.any():
        return w
    fixed = np.where(np.abs(w - lo) < np.abs(w - hi), lo, hi)
    polished = fixed.copy()
    inv_ones = np.linalg.solve(sigma[np.ix_(free, free)], np.ones(int(free.sum())))
    inv_cross = np.linalg.solve(
        sigma[np.ix_(free, free)], sigma[np.ix_(free, bound)] @ fixed[bound]
    )
    budget = 1.0 - float(fixed[bound].sum())
    lam = (budget + float(inv_cross.sum())) / float(inv_ones.sum())
    polished[free] = lam * inv_ones - inv_cross
    if (polished >= lo - _EPS).all() and (polished <= hi + _EPS).all():
        return np.asarray(np.clip(polished, lo, hi), dtype=np.float64)
    return w


def max_sharpe(
    mean: Array, cov: Array, bounds: WeightBounds | None = None, *, risk_free: float = 0.0
) -> Array:
    """Return the weights of the highest Sharpe ratio within the bounds (see module doc)."""
    mu = np.asarray(mean, dtype=np.float64) - risk_free
    sigma = np.asarray(cov, dtype=np.float64)
    limits = bounds or WeightBounds()
    limits.check(mu.size)
    if not (mu > 0).any():
        return min_variance(sigma, limits)

    def negative_sharpe(w: Array) -> float:
        return -float(w @ mu) / math.sqrt(float(w @ sigma @ w))

    return _slsqp(negative_sharpe, mu.size, limits)


def allocate(
    method: str,
    returns: Array,
    bounds: WeightBounds | None = None,
    *,
    risk_free: float = 0.0,
) -> Array:
    """Return ``method``'s weights (one of `METHODS`) from a window of per-bar returns."""
    data = np.asarray(returns, dtype=np.float64)
    limits = bounds or WeightBounds()
    if method == "equal_weight":
        return equal_weight(data.shape[1], limits)
    cov = shrunk_covariance(data)
    if method == "inverse_volatility":
        return inverse_volatility(cov, limits)
    if method == "risk_parity":
        return risk_parity(cov, limits)
    if method == "min_variance":
        return min_variance(cov, limits)
    if method == "max_sharpe":
        return max_sharpe(data.mean(axis=0), cov, limits, risk_free=risk_free)
    raise ValueError(f"unknown allocation method {method!r}; expected one of {METHODS}")
