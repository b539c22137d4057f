"""SweepStore: trials round-trip exactly; the tables appear even in a store that lacks them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import inspect, select

from engine.optimize.search import result_from_row, trial_row
from engine.optimize.trial import TrialResult
from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.persistence.sweeps import SweepStore

SWEEP = {
    "sweep_id": "s-1", "name": "s", "strategy": "x:Y", "created_at": "2026-01-01T00:00:00",
    "config_toml": "", "spec_json": '{"method": "grid"}',
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
