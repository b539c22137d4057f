"""The Ray executor (a local instance with 2 CPUs) gives the local pool's results exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from engine.config import load_config
from engine.optimize.executors import LocalExecutor, RayExecutor
from engine.optimize.search import SweepSpec, plan
from engine.optimize.space import parse_param
from engine.optimize.trial import TrialResult, TrialSpec
from tests.integration.conftest import REPO

ray = pytest.importorskip("ray")
NAMES = ["fast", "slow", "target_percent", "allow_short"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def by_number(results: Iterator[TrialResult]) -> dict[int, TrialResult]:
    return {r.number: r for r in results}


def test_a_grid_sweep_on_ray_equals_the_local_pool(local_ray: None) -> None:
    config = load_config(REPO / "configs" / "sma_cross_goog.toml")
    spec = SweepSpec(
        (parse_param("fast=4:16:4", NAMES), parse_param("slow=10:50:20", NAMES)), ("sharpe",)
    )
    trials = plan(spec, None)  # fast 12/16 with slow 10 fail: Params refuses slow <= fast
    with LocalExecutor(config, 2) as pool:
        local = by_number(pool.run(trials))
    remote_executor = RayExecutor(config, batch_size=3)
    try:
        assert remote_executor.workers == 2
        remote = by_number(remote_executor.run(trials))
    finally:
        remote_executor.close()
    assert ray.is_initialized()  # the test's instance: the executor did not stop it
    assert sorted(local) == sorted(remote) == list(range(len(trials)))
    statuses = {local[n].status for n in local}
    assert statuses == {"complete", "failed"}
    for number, mine in local.items():
        theirs = remote[number]
        assert (theirs.params, theirs.status) == (mine.params, mine.status)
        assert theirs.error == mine.error
        assert json.dumps(theirs.metrics, sort_keys=True) == json.dumps(
            mine.metrics, sort_keys=True
        )
        if mine.returns is None:
            assert theirs.returns is None
        else:
            assert theirs.returns is not None
            assert np.array_equal(theirs.returns, mine.returns)


def test_ray_retries_a_failed_trial_once_then_records_it(local_ray: None) -> None:
    config = load_config(REPO / "configs" / "sma_cross_goog.toml")
    executor = RayExecutor(config, batch_size=2)
    try:
        results = list(executor.run([TrialSpec(0, {"fast": 30, "slow": 10}),
                                     TrialSpec(1, {"fast": 5, "slow": 20})]))  # fmt: skip
    finally:
        executor.close()
    assert sorted(r.number for r in results) == [0, 1]  # each reported once
    assert executor.retried == {0}
    failed = next(r for r in results if r.number == 0)
    assert failed.status == "failed"
    assert "slow (10) must be greater than fast (30)" in str(failed.error)
