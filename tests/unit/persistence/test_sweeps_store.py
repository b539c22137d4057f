"""SweepStore: trials round-trip exactly; the tables appear even in a store that lacks them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect, select, text

from engine.optimize.search import result_from_row, trial_row
from engine.optimize.trial import TrialResult
from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.persistence.sweeps import SweepStore

SWEEP = {
    "sweep_id": "s-1", "name": "s", "strategy": "x:Y", "created_at": "2026-01-01T00:00:00",
    "config_toml": "", "spec_json": '{"method": "grid"}',
}  # fmt: skip
RUN_ROW = {
    "run_id": "r-1", "name": "s", "strategy": "x:Y", "symbols": "GOOG",
    "created_at": "2026-01-01T00:00:00", "bars": 1, "initial_cash": 1.0, "final_equity": 1.0,
    "total_return": 0.0, "num_trades": 0, "config_toml": "", "metrics_json": "{}",
}  # fmt: skip


def test_trials_round_trip_with_exact_returns(tmp_path: Path) -> None:
    sweeps = SweepStore(RunStore(f"sqlite:///{tmp_path / 'k.db'}"))
    sweeps.begin_sweep(SWEEP)
    returns = np.array([0.1, -1 / 3, 2e-17, np.pi])
    done = TrialResult(0, {"fast": 5}, "complete", {"sharpe": 1.25, "n": 3}, None, returns)
    failed = TrialResult(1, {"fast": 50}, "failed", error="ConfigError: no")
    for result in (failed, done):
        sweeps.save_trial("s-1", trial_row(result, ["sharpe"]))
    back = [result_from_row(r) for r in sweeps.trials("s-1", with_returns=True)]
    assert [(r.number, r.params, r.status, r.metrics, r.error) for r in back] == [
        (0, {"fast": 5}, "complete", {"sharpe": 1.25, "n": 3}, None),
        (1, {"fast": 50}, "failed", None, "ConfigError: no"),
    ]
    assert back[0].returns is not None
    assert back[0].returns.tobytes() == returns.tobytes()
    sweeps.set_status("s-1", "complete", {"pbo": {"pbo": 0.25}})
    row = sweeps.get_sweep("s-1")
    assert row is not None
    assert (row["status"], row["guards"], row["spec"]) == (
        "complete",
        {"pbo": {"pbo": 0.25}},
        {"method": "grid"},
    )
    sweeps.drop_returns("s-1")
    assert all(r["returns"] is None for r in sweeps.trials("s-1", with_returns=True))
    assert sweeps.list_sweeps()[0]["trials"] == 2
    assert sweeps.delete_sweep("s-1")
    assert sweeps.trials("s-1") == []


def test_a_current_store_without_the_sweep_tables_gets_them(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    with store.engine.begin() as conn:  # as a branch that gave version 4 to other tables
        schema_module.sweep_trials.drop(conn)
        schema_module.sweeps.drop(conn)
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
    assert version == schema_module.SCHEMA_VERSION
    sweeps = SweepStore(store)
    with store.engine.connect() as conn:
        assert {"sweeps", "sweep_trials"} <= set(inspect(conn).get_table_names())
    sweeps.begin_sweep(SWEEP)
    assert sweeps.get_sweep("s-1") is not None


def test_a_version_6_store_gains_the_links_walkforwards_and_base_dir(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = RunStore(url)
    with store.engine.begin() as conn:  # back to what version 6 created
        schema_module.sweep_runs.drop(conn)
        schema_module.walkforwards.drop(conn)
        conn.exec_driver_sql("ALTER TABLE sweeps DROP COLUMN base_dir")
        conn.execute(
            text(
                "INSERT INTO sweeps (sweep_id, name, strategy, created_at, config_toml, "
                "spec_json, status) VALUES ('s-1', 's', 'x:Y', '2026', '', '{}', 'complete')"
            )
        )
        conn.execute(schema_module.schema_version.update().values(version=6))
    store.engine.dispose()
    upgraded = RunStore(url)
    with upgraded.engine.connect() as conn:
        # the v7 step ran (its tables exist), then the later ones: the store is current
        assert (
            conn.execute(select(schema_module.schema_version.c.version)).scalar()
            == schema_module.SCHEMA_VERSION
        )
        assert {"sweep_runs", "walkforwards"} <= set(inspect(conn).get_table_names())
    row = SweepStore(upgraded).get_sweep("s-1")
    assert row is not None
    assert (row["status"], row["base_dir"]) == ("complete", None)  # kept; no folder known


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_kept_run_is_linked_to_its_trial_and_the_link_goes_with_the_run(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'k.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("fresh_postgres")
    )
    store = RunStore(url)
    sweeps = SweepStore(store)
    sweeps.begin_sweep(SWEEP)
    sweeps.save_trial("s-1", trial_row(TrialResult(3, {"fast": 5}, "complete", {}), ["sharpe"]))
    store.begin_run(RUN_ROW)
    sweeps.link_run("s-1", 3, "r-1")
    assert sweeps.kept_runs("s-1") == {3: "r-1"}
    assert sweeps.sweeps_of_runs(["r-1", "r-2"]) == {"r-1": ("s-1", 3)}
    store.delete_run("r-1")  # ON DELETE CASCADE: no link to a run that is gone
    assert sweeps.kept_runs("s-1") == {}
    store.begin_run(RUN_ROW)
    sweeps.link_run("s-1", 3, "r-1")
    assert sweeps.delete_sweep("s-1")  # and none to a sweep that is gone; the run stays
    assert sweeps.sweeps_of_runs(["r-1"]) == {}
    assert store.get_run("r-1") is not None
    store.engine.dispose()
