"""Allocation methods against closed forms and their defining properties."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from engine.strategy.allocation import (
    WeightBounds,
    allocate,
    apply_bounds,
    equal_weight,
    inverse_volatility,
    max_sharpe,
    min_variance,
    risk_contributions,
    risk_parity,
    shrunk_covariance,
)

# three assets with unequal volatilities (10%, 20%, 40%) and positive correlations
VOLS = np.array([0.10, 0.20, 0.40])
CORR = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.5], [0.1, 0.5, 1.0]])
COV = CORR * np.outer(VOLS, VOLS)


def test_equal_weight_is_one_over_n() -> None:
    np.testing.assert_array_equal(equal_weight(4), [0.25] * 4)


def test_inverse_volatility_on_a_diagonal_covariance() -> None:
    cov = np.diag([0.01, 0.04, 0.16])  # σ = 0.1, 0.2, 0.4 → 1/σ = 10, 5, 2.5
    np.testing.assert_allclose(inverse_volatility(cov), [10 / 17.5, 5 / 17.5, 2.5 / 17.5])


def test_risk_parity_equalizes_risk_contributions_within_1e_8() -> None:
    w = risk_parity(COV)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(risk_contributions(w, COV), [1 / 3] * 3, rtol=0, atol=1e-8)
    assert (np.diff(w) < 0).all()  # the riskier the asset, the smaller its weight


def test_risk_parity_on_a_diagonal_covariance_is_inverse_volatility() -> None:
    cov = np.diag([0.01, 0.04, 0.16])
    np.testing.assert_allclose(risk_parity(cov), inverse_volatility(cov), atol=1e-12)


def test_two_asset_min_variance_matches_the_closed_form() -> None:
    s1, s2, rho = 0.2, 0.3, 0.25
    cov = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    w1 = (s2 * s2 - rho * s1 * s2) / (s1 * s1 + s2 * s2 - 2 * rho * s1 * s2)
    np.testing.assert_allclose(min_variance(cov), [w1, 1 - w1], atol=1e-12)


def test_min_variance_unbounded_is_the_analytic_solution() -> None:
    inv = np.linalg.solve(COV, np.ones(3))
    expected = inv / inv.sum()
    assert (expected > 0).all()  # no bound binds
    np.testing.assert_allclose(min_variance(COV), expected, atol=1e-12)


def test_min_variance_with_a_binding_cap_is_the_bounded_optimum() -> None:
    bounds = WeightBounds(0.0, 0.5)
    w = min_variance(COV, bounds)
    assert w[0] == pytest.approx(0.5, abs=1e-12)  # the low-vol asset wants more than 50%
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    # with w0 fixed at 0.5 the rest is the 2-asset problem's KKT solution: no weight
    # vector within the bounds has a lower variance (checked on a fine grid)
    best = min(
        float(v @ COV @ v) for a in np.linspace(0, 0.5, 2001) for v in [np.array([0.5, a, 0.5 - a])]
    )
    assert float(w @ COV @ w) <= best + 1e-15


def test_max_sharpe_unbounded_is_the_tangency_portfolio() -> None:
    mu = np.array([0.04, 0.07, 0.12])
    inv = np.linalg.solve(COV, mu - 0.01)
    expected = inv / inv.sum()
    assert (expected > 0).all()
    np.testing.assert_allclose(max_sharpe(mu, COV, risk_free=0.01), expected, atol=1e-6)


def test_max_sharpe_without_a_positive_excess_return_is_min_variance() -> None:
    mu = np.array([-0.01, -0.02, 0.0])
    np.testing.assert_allclose(max_sharpe(mu, COV), min_variance(COV), atol=1e-12)


@pytest.mark.parametrize("method", ["inverse_volatility", "risk_parity", "min_variance"])
def test_bounds_are_respected_and_weights_sum_to_one(method: str) -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0, 1.0, (400, 4)) * np.array([0.005, 0.01, 0.02, 0.04])
    bounds = WeightBounds(0.1, 0.4)
    w = allocate(method, returns, bounds)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w >= 0.1 - 1e-12).all()
    assert (w <= 0.4 + 1e-12).all()
    assert w.max() == pytest.approx(0.4, abs=1e-9)  # the lowest-vol asset is capped


def test_max_sharpe_respects_bounds() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.001, 0.01, (300, 3)) + np.array([0.002, 0.0, -0.001])
    w = allocate("max_sharpe", returns, WeightBounds(0.05, 0.6))
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w.min() >= 0.05 - 1e-12
    assert w.max() <= 0.6 + 1e-12


def test_apply_bounds_redistributes_in_proportion() -> None:
    # 0.7 capped at 0.5: 0.2 goes to the others in proportion 0.2 : 0.1
    w = apply_bounds(np.array([0.7, 0.2, 0.1]), WeightBounds(0.0, 0.5))
    np.testing.assert_allclose(w, [0.5, 0.2 + 0.2 * 2 / 3, 0.1 + 0.2 / 3], atol=1e-15)


def test_shrunk_covariance_is_scikit_learns_ledoit_wolf() -> None:
    rng = np.random.default_rng(1)
    returns = rng.normal(0, 0.01, (50, 3))
    np.testing.assert_array_equal(shrunk_covariance(returns), LedoitWolf().fit(returns).covariance_)


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot sum to 1"):
        equal_weight(3, WeightBounds(0.0, 0.3))
    with pytest.raises(ValueError, match="min_weight <= max_weight"):
        WeightBounds(0.5, 0.2)
    with pytest.raises(ValueError, match="unknown allocation method 'x'"):
        allocate("x", np.zeros((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        shrunk_covariance(np.array([[0.1, np.nan], [0.2, 0.3]]))
