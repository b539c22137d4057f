"""Issue 11: parallel ``kestrel backtest`` processes on one fresh store all get stored.

Eight real CLI processes start together on a store that does not exist yet (SQLite file,
fresh PostgreSQL database), while ``runs list`` processes read it: every process exits 0,
every run is stored with all its rows, and every folder is complete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.persistence import RunStore
from engine.persistence.schema import SCHEMA_VERSION
from engine.persistence.store import sqlite_file
from engine.report.run_folder import MANIFEST, check_complete
from tests.integration.conftest import REPO

PROCESSES = 8


def spawn(*args: str, cwd: Path = REPO) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "KESTREL_DB_URL"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_many(url: str, root: Path) -> None:
    """Start PROCESSES backtests and two readers at once; assert all of them succeeded."""
    config = str(REPO / "configs" / "sma_cross_goog.toml")
    procs = [
        spawn("backtest", config, "--db", url, "--out", str(root / f"r{i}"))
        for i in range(PROCESSES)
    ]
    # A reading command refuses a store file that does not exist yet: the readers start
    # once the first backtest has created it (its schema may still be being written).
    database = sqlite_file(url)
    deadline = time.monotonic() + 120
    while database is not None and not database.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    readers = [spawn("runs", "list", "--db", url, "--limit", "100") for _ in range(2)]
    for proc in [*procs, *readers]:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    store = RunStore(url)
    bars = json.loads((root / "r0" / "metrics.json").read_text())["bars"]
    ids = set()
    for i in range(PROCESSES):
        run_id, _ = check_complete(root / f"r{i}")
        ids.add(run_id)
        run = store.get_run(run_id)
        assert run is not None
        assert run["status"] == "complete"
        assert len(store.table_rows("equity", run_id)) == bars
        assert json.loads((root / f"r{i}" / MANIFEST).read_text())["run_id"] == run_id
    assert len(ids) == PROCESSES
    assert set(store.run_ids()) >= ids
    assert not list(root.glob(".*.partial"))
    store.engine.dispose()


def test_parallel_runs_on_a_fresh_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'runs.db'}"
    run_many(url, tmp_path)
    assert set(RunStore(url).run_ids()) == {
        json.loads((tmp_path / f"r{i}" / MANIFEST).read_text())["run_id"] for i in range(PROCESSES)
    }


@pytest.mark.postgres
def test_parallel_runs_on_a_fresh_postgres_store(fresh_postgres: str, tmp_path: Path) -> None:
    run_many(fresh_postgres, tmp_path)
    store = RunStore(fresh_postgres)
    assert len(store.run_ids()) == PROCESSES
    store.engine.dispose()


WRITER = """
import sys
from engine.persistence import RunStore
from engine.persistence.schema import SCHEMA_VERSION
url, run_id, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = RunStore(url)
row = dict(run_id=run_id, name="big", strategy="s:S", symbols="X",
           created_at="2026-01-01T00:00:00+00:00", start_ns=0, end_ns=1, bars=rows,
           initial_cash=1.0, final_equity=1.0, total_return=0.0, sharpe=None,
           max_drawdown=None, num_trades=0, artifacts_dir=None, config_toml="",
           metrics_json="{}")
equity = [dict(ts_event=t, cash=1.0, equity=1.0, gross_exposure=0.0) for t in range(rows)]
store.save_run(row, order_rows=[], fill_rows=[], trade_rows=[], equity_rows=equity)
"""
READER = """
import sys
from engine.persistence import RunStore
from engine.persistence.schema import SCHEMA_VERSION
store = RunStore(sys.argv[1])
for _ in range(int(sys.argv[2])):
    store.list_runs()
    store.query_runs(conditions=[("bars", ">", 0.0)])
"""


def test_big_concurrent_writes_and_reads_on_sqlite(tmp_path: Path) -> None:
    """Store-level stress: 8 writers of 40k-row runs and 2 readers, no 'database is locked'."""
    url = f"sqlite:///{tmp_path / 'big.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def python(code: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args], env=env, cwd=REPO, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    procs = [python(WRITER, url, f"big-{i}", "40000") for i in range(PROCESSES)]
    procs += [python(READER, url, "20") for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    store = RunStore(url)
    assert sorted(store.run_ids()) == sorted(f"big-{i}" for i in range(PROCESSES))
    for i in range(PROCESSES):
        rows = store.table_rows("equity", f"big-{i}")
        assert (len(rows), rows[-1]["ts_event"]) == (40_000, 39_999)


OPEN = "import sys\nfrom engine.persistence import RunStore\nRunStore(sys.argv[1])\n"


def open_at_once(url: str, processes: int = PROCESSES) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, url],
            env=env,
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err  # before: "table runs already exists" / pg_type
    store = RunStore(url)
    with store.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version FROM schema_version")).scalar()
        rows = conn.execute(sa.text("SELECT count(*) FROM schema_version")).scalar()
    assert (version, rows) == (SCHEMA_VERSION, 1)
    store.engine.dispose()


def test_a_fresh_sqlite_store_opened_by_many_processes_at_once(tmp_path: Path) -> None:
    open_at_once(f"sqlite:///{tmp_path / 'race.db'}")


@pytest.mark.postgres
def test_a_fresh_postgres_store_opened_by_many_processes_at_once(fresh_postgres: str) -> None:
    open_at_once(fresh_postgres)
