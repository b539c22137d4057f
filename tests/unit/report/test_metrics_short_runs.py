"""Metrics of runs too short for most figures: what is still defined is given.

Audit of the HTML reports, finding 10c: a one-bar run's page drew its benchmark line but
left the benchmark's return and CAGR blank (they need two values, the start and the
close, as the run's own return and CAGR do; beta, alpha, correlation and the information
ratio need two returns). A CAGR too large for a float is left empty, as the run's is.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.feeds import BarFrame
from engine.report.metrics import compute_metrics

HOUR = 3_600 * 10**9
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00Z


def one_bar(close: float) -> BarFrame:
    one = [np.array([v]) for v in (100.0, max(100.0, close), min(100.0, close), close, 1.0)]
    return BarFrame("X/USD", HOUR, np.array([T0]), *one, "<synthetic>")


def metrics_of(equity: float, close: float) -> dict[str, object]:
    return compute_metrics(
        initial_cash=1_000.0, start_ns=T0, ts=np.array([T0 + HOUR]),
        equity=np.array([equity]), gross_exposure=np.zeros(1), trades=[], fees_paid=0.0,
        frames=[one_bar(close)],
    )  # fmt: skip


def test_a_one_bar_runs_benchmark_has_its_return_and_cagr() -> None:
    metrics = metrics_of(1_000.5, 100.01)
    assert metrics["benchmark_total_return"] == pytest.approx(0.0001, rel=1e-9)
    years = HOUR / (86_400e9 * 365.25)
    assert metrics["benchmark_cagr"] == pytest.approx(1.0001 ** (1 / years) - 1, rel=1e-9)
    assert metrics["total_return"] == pytest.approx(0.0005, rel=1e-9)
    for key in ("alpha", "beta", "information_ratio", "correlation"):
        assert metrics[key] is None, key  # one return each: no co-movement to measure


def test_a_cagr_too_large_for_a_float_is_empty() -> None:
    metrics = metrics_of(1_100.0, 110.0)  # +10 % in an hour: 1.1 ** 8766 overflows
    assert metrics["total_return"] == pytest.approx(0.1, rel=1e-12)
    assert metrics["benchmark_total_return"] == pytest.approx(0.1, rel=1e-12)
    assert metrics["cagr"] is None
    assert metrics["benchmark_cagr"] is None
