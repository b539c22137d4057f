"""Schema versions and migrations (stored runs survive an upgrade) and masked passwords."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, inspect, select

from engine.errors import PersistenceError
from engine.persistence import RunStore, mask_url
from engine.persistence import schema as schema_module
from engine.persistence.urls import scrub

V2_COLUMNS = {"status", "writer", "params_json"}


def first_release_store(url: str) -> None:
    """Create the tables exactly as the first release did (no version table, no v2 columns)."""
    old = MetaData()
    Table(
        "runs",
        old,
        *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
          for c in schema_module.runs.columns if c.name not in V2_COLUMNS),
    )  # fmt: skip
    for name in ("orders", "fills", "trades", "events", "equity"):
        schema_module.metadata.tables[name].to_metadata(old)
    engine = create_engine(url)
    old.create_all(engine)
    config = '[strategy]\npath = "s:S"\nparams = { fast = 7, slow = 21 }\n'
    with engine.begin() as conn:
        conn.execute(
            old.tables["runs"].insert(),
            [{
                "run_id": "old-run", "name": "old", "strategy": "s:S", "symbols": "GOOG",
                "created_at": "2025-01-01T00:00:00+00:00", "start_ns": 1, "end_ns": 2,
                "bars": 2, "initial_cash": 100.0, "final_equity": 105.0, "total_return": 0.05,
                "sharpe": 1.25, "max_drawdown": -0.01, "num_trades": 1,
                "artifacts_dir": "backtests/old-run", "config_toml": config,
                "metrics_json": json.dumps({"sharpe": 1.25}),
            }],
        )  # fmt: skip
        conn.execute(
            old.tables["equity"].insert(),
            [{"run_id": "old-run", "ts_event": t, "cash": 1.0, "equity": 2.0,
              "gross_exposure": 0.0} for t in (1, 2)],
        )  # fmt: skip
    engine.dispose()


def test_upgrade_from_the_first_release_keeps_stored_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    first_release_store(url)
    store = RunStore(url)
    with store.engine.connect() as conn:
        assert (
            conn.execute(select(schema_module.schema_version.c.version)).scalar()
            == schema_module.SCHEMA_VERSION
        )
        tables = set(inspect(conn).get_table_names())
        assert {"paper_accounts", "paper_journal", "sweeps", "sweep_trials"} <= tables
        assert {"live_accounts", "live_orders", "live_fills", "equity_blocks"} <= tables
        assert {"sweep_runs", "walkforwards"} <= tables
        assert "base_dir" in {c["name"] for c in inspect(conn).get_columns("sweeps")}
        columns = {c["name"] for c in inspect(conn).get_columns("runs")}
        indexes = {i["name"] for i in inspect(conn).get_indexes("runs")}
    assert columns >= V2_COLUMNS
    assert "ix_runs_created_at" in indexes
    run = store.get_run("old-run")
    assert run is not None
    assert (run["status"], run["final_equity"], run["params"]) == (
        "complete",
        105.0,
        {"fast": 7, "slow": 21},
    )
    assert [r["ts_event"] for r in store.table_rows("equity", "old-run")] == [1, 2]
    assert [r["run_id"] for r in store.query_runs(conditions=[("fast", "==", 7.0)])] == ["old-run"]
    store.engine.dispose()
    again = RunStore(url)  # already current: nothing to do, nothing lost
    assert again.run_ids() == ["old-run"]
    again.engine.dispose()


def test_a_store_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    RunStore(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(schema_module.schema_version.update().values(version=99))
    engine.dispose()
    with pytest.raises(PersistenceError, match="schema version 99 is newer"):
        RunStore(url)


def test_sqlite_store_runs_in_wal_mode(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'w.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    store.engine.dispose()


SECRET = "s3cr3t-Pw"


def test_mask_url_and_scrub() -> None:
    url = f"postgresql+psycopg://postgres:{SECRET}@db.example:5432/test"
    assert mask_url(url) == "postgresql+psycopg://postgres:***@db.example:5432/test"
    assert mask_url("sqlite:///backtests/kestrel.db") == "sqlite:///backtests/kestrel.db"
    assert SECRET not in mask_url(f"bogus+://u:{SECRET}@h/x")
    encoded = "postgresql+psycopg://u:p%40ss%2Fw0rd@h/db"  # password p@ss/w0rd
    assert "p@ss/w0rd" not in scrub("failed for p@ss/w0rd and p%40ss%2Fw0rd", encoded)
    assert "w0rd" not in mask_url(encoded)


def test_store_errors_never_show_the_password() -> None:
    bad = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test?connect_timeout=2"
    with pytest.raises(PersistenceError) as caught:
        RunStore(bad)
    assert SECRET not in str(caught.value)
    assert "postgres:***@127.0.0.1:1" in str(caught.value)
    assert caught.value.__cause__ is None  # the driver's text (with the URL) is not chained
    with pytest.raises(PersistenceError) as unparsable:
        RunStore(f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:notaport/test")
    assert SECRET not in str(unparsable.value)


def test_a_locked_sqlite_write_is_retried_until_the_lock_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock longer than the busy timeout: retried, saved."""
    import sqlite3
    import threading

    from engine.persistence import store as store_module

    path = tmp_path / "locked.db"
    RunStore(f"sqlite:///{path}").engine.dispose()  # schema in place
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.05)
    store = RunStore(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a big run's save holds it
    release = threading.Timer(0.4, holder.execute, ["COMMIT"])
    release.start()
    row = {
        "run_id": "after-lock", "name": "n", "strategy": "s:S", "symbols": "X",
        "created_at": "2026-01-01T00:00:00+00:00", "start_ns": 0, "end_ns": 1, "bars": 1,
        "initial_cash": 1.0, "final_equity": 1.0, "total_return": 0.0, "sharpe": None,
        "max_drawdown": None, "num_trades": 0, "artifacts_dir": None, "config_toml": "",
        "metrics_json": "{}",
    }  # fmt: skip
    store.save_run(row, order_rows=[], fill_rows=[], trade_rows=[], equity_rows=[])
    release.join()
    holder.close()
    assert store.run_ids() == ["after-lock"]
