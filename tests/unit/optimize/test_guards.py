"""DSR and PBO (engine.optimize.guards) against independent computations on constructed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from engine.optimize.guards import deflated_sharpe, pbo_cscv, sharpe_ratios

EULER = 0.5772156649015329


def reference_dsr(matrix: np.ndarray, chosen: int) -> float:
    """The 2014 paper's formula written out with scipy, column by column."""
    sharpes = [np.mean(c) / np.std(c, ddof=1) for c in matrix.T]
    variance = np.var(sharpes, ddof=1)
    trials = matrix.shape[1]
    expected = math.sqrt(variance) * (
        (1 - EULER) * stats.norm.ppf(1 - 1 / trials)
        + EULER * stats.norm.ppf(1 - 1 / (trials * math.e))
    )
    returns = matrix[:, chosen]
    sr = sharpes[chosen]
    skew = stats.skew(returns, bias=True)
    kurt = stats.kurtosis(returns, fisher=False, bias=True)
    n = returns.size
    z = (sr - expected) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def test_dsr_matches_the_papers_formula_computed_independently() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.standard_t(5, size=(500, 40)) * 0.01 + rng.normal(0, 0.001, size=40)
    chosen = int(np.argmax(sharpe_ratios(matrix)))
    found = deflated_sharpe(matrix, chosen)
    assert found["trials"] == 40
    assert found["observations"] == 500
    assert found["deflated_sharpe"] == pytest.approx(reference_dsr(matrix, chosen), rel=1e-9)
    assert found["deflated_sharpe"] < found["probabilistic_sharpe"]


def test_dsr_hand_computed_two_trials() -> None:
    # Two trials of 4 returns. Trial 0: +-1 around 1 -> values 2,0,2,0: mean 1, std (ddof 1)
    # sqrt(4/3), SR = sqrt(3)/2; skew 0; kurtosis 1 (two-point distribution).
    # Trial 1: 1,3,1,3: mean 2, same std, SR = sqrt(3). V = var([√3/2, √3], ddof 1) = 3/8.
    matrix = np.array([[2.0, 1.0], [0.0, 3.0], [2.0, 1.0], [0.0, 3.0]])
    sr = math.sqrt(3) / 2
    expected_max = math.sqrt(3 / 8) * (
        (1 - EULER) * stats.norm.ppf(0.5) + EULER * stats.norm.ppf(1 - 1 / (2 * math.e))
    )
    z = (sr - expected_max) * math.sqrt(3) / math.sqrt(1 - 0 + (1 - 1) / 4 * sr**2)
    found = deflated_sharpe(matrix, 0)
    assert found["sharpe"] == pytest.approx(sr, rel=1e-12)
    assert found["sharpe_variance"] == pytest.approx(3 / 8, rel=1e-12)
    assert found["expected_max_sharpe"] == pytest.approx(expected_max, rel=1e-12)
    assert found["deflated_sharpe"] == pytest.approx(stats.norm.cdf(z), rel=1e-12)


def test_equal_sharpes_deflate_nothing() -> None:
    # V = 0 -> SR* = 0 -> DSR = PSR
    base = np.array([0.01, -0.005, 0.02, 0.0, 0.004, -0.01, 0.015, 0.003])
    matrix = np.stack([base, base * 2.0, base * 3.0], axis=1)
    found = deflated_sharpe(matrix, 0)
    assert found["expected_max_sharpe"] == pytest.approx(0.0, abs=1e-12)
    assert found["deflated_sharpe"] == pytest.approx(found["probabilistic_sharpe"], rel=1e-12)


def reference_pbo(matrix: np.ndarray, blocks: int) -> float:
    """CSCV written out as in the paper: loops over splits, argsort ranks (no ties here)."""
    rows, trials = matrix.shape
    groups = np.array_split(np.arange(rows), blocks)
    logits = []
    for pick in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([groups[b] for b in pick])
        outside = np.concatenate([groups[b] for b in range(blocks) if b not in pick])
        is_sr = matrix[inside].mean(0) / matrix[inside].std(0, ddof=1)
        oos_sr = matrix[outside].mean(0) / matrix[outside].std(0, ddof=1)
        best = int(np.argmax(is_sr))
        rank = int(np.argsort(np.argsort(oos_sr))[best]) + 1  # 1 = worst
        omega = rank / (trials + 1)
        logits.append(math.log(omega / (1 - omega)))
    return float(np.mean(np.array(logits) <= 0))


@pytest.mark.parametrize(("trials", "blocks"), [(5, 4), (12, 8), (30, 10)])
def test_pbo_matches_a_loop_over_every_split(trials: int, blocks: int) -> None:
    rng = np.random.default_rng(trials)
    matrix = rng.normal(0.0005, 0.01, size=(240, trials))
    found = pbo_cscv(matrix, blocks)
    assert found["splits"] == math.comb(blocks, blocks // 2)
    assert found["pbo"] == pytest.approx(reference_pbo(matrix, blocks), abs=1e-12)


def test_pbo_hand_computed_cases() -> None:
    # Two blocks of two rows. Trial A is good in block 1, bad in block 2; B the opposite:
    # whichever half is in-sample, its winner is the out-of-sample loser -> PBO = 1.
    a = [0.02, 0.01, -0.01, -0.02]
    b = [-0.01, -0.02, 0.02, 0.01]
    found = pbo_cscv(np.array([a, b]).T, blocks=2)
    assert (found["pbo"], found["splits"], found["prob_oos_loss"]) == (1.0, 2, 1.0)
    # A trial better than the other in every block wins in- and out-of-sample -> PBO = 0.
    c = [0.03, 0.01, 0.02, 0.04]
    d = [0.01, -0.01, 0.0, 0.02]
    found = pbo_cscv(np.array([c, d]).T, blocks=2)
    assert (found["pbo"], found["prob_oos_loss"]) == (0.0, 0.0)
    # rank 2 of 2: omega = 2/3, logit ln 2
    assert found["logit_median"] == pytest.approx(math.log(2.0))


def test_pbo_needs_two_trials_and_enough_rows() -> None:
    assert pbo_cscv(np.zeros((100, 1)))["pbo"] is None
    assert pbo_cscv(np.ones((3, 4)))["reason"] == "needs at least 4 periods"
    assert pbo_cscv(np.random.default_rng(0).normal(size=(10, 3)))["blocks"] == 4


def test_the_trials_a_kept_run_is_deflated_by_are_the_guards() -> None:
    # 5 points, 3 failed (slow not above fast): the report of the kept best run divided its
    # Sharpe by 5 trials while the sweep's guard counted 2 (found by an audit). A complete
    # trial with a flat curve has no Sharpe ratio and is not counted either, as in the guard.
    from engine.optimize.search import trials_tried
    from engine.optimize.trial import COMPLETE, FAILED, TrialResult

    rng = np.random.default_rng(3)
    results = [
        TrialResult(0, {"fast": 10}, COMPLETE, {}, None, rng.normal(0.001, 0.01, 50)),
        TrialResult(1, {"fast": 20}, COMPLETE, {}, None, rng.normal(0.0, 0.01, 50)),
        TrialResult(2, {"fast": 30}, FAILED, None, "ValueError: slow", None),
        TrialResult(3, {"fast": 40}, FAILED, None, "ValueError: slow", None),
        TrialResult(4, {"fast": 50}, COMPLETE, {}, None, np.zeros(50)),
    ]
    assert trials_tried(results) == 2
    # without stored returns (a sweep run without --store-returns), the completed ones
    bare = [TrialResult(r.number, r.params, r.status, r.metrics, r.error) for r in results]
    assert trials_tried(bare) == 3


def test_the_pbo_counts_the_trials_the_dsr_counts() -> None:
    """Found by an audit: PBO kept do-nothing trials (flat returns, no Sharpe ratio), which
    rank last out-of-sample in every split and so lower PBO (0.259 over 6 trials against
    0.561 over the 4 with a Sharpe ratio), while the DSR's N left them out."""
    from engine.optimize.search import SweepSpec, sweep_guards
    from engine.optimize.space import ParamSpec
    from engine.optimize.trial import COMPLETE, TrialResult

    rng = np.random.default_rng(11)
    active = [rng.normal(0.0005, 0.01, 64) for _ in range(4)]
    results = [
        TrialResult(n, {"fast": n}, COMPLETE, {"sharpe": float(np.mean(r) / np.std(r))}, None, r)
        for n, r in enumerate(active)
    ]
    results += [
        TrialResult(n, {"fast": n}, COMPLETE, {"sharpe": None}, None, np.zeros(64)) for n in (4, 5)
    ]
    spec = SweepSpec((ParamSpec("fast", tuple(range(6))),), ("sharpe",), "grid", None, 0, None)
    guards = sweep_guards(results, spec)
    assert guards["dsr"]["trials"] == 4
    assert guards["pbo"]["trials"] == 4
    assert guards["pbo"]["pbo"] == pbo_cscv(np.stack(active, axis=1))["pbo"]
