"""Issue 11: ``kill -9`` at any moment never leaves a run that looks complete and is not.

Real ``kestrel backtest`` processes are killed at seeded random moments and at the two
moments that matter (while their ``.partial`` folder is being written, and as soon as the
published folder appears). Then: every run ``runs list`` shows has a complete folder and
all its rows and works with ``report``, ``runs compare`` and ``runs export``; every
incomplete one is listed only by ``runs list --all`` and refused by those commands; every
folder on disk is one the store knows; ``runs gc`` removes the leftovers and nothing else.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config
from engine.errors import PersistenceError
from engine.persistence import RunStore
from engine.persistence.schema import runs as runs_table
from engine.report.assets import ASSETS_DIR
from engine.report.run_folder import MANIFEST, check_complete, partial_folders
from engine.runtime import finish_run, run_backtest
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_runs_cli_concurrency import spawn

SEED = 20261204


def kill_when(proc: subprocess.Popen[str], backtests: Path, moment: str, delay: float) -> bool:
    """Kill ``proc`` with SIGKILL after ``delay`` s, or when ``moment`` shows in ``backtests``.

    Return True if the moment was seen (the kill came then, unless the run had just ended).
    """
    start = time.monotonic()
    seen = False
    while time.monotonic() - start < 60 and proc.poll() is None:
        if moment == "partial" and partial_folders(backtests):
            seen = True
            break
        if moment == "published" and list(backtests.glob(f"*/{MANIFEST}")):
            seen = True
            break
        if moment == "random" and time.monotonic() - start >= delay:
            seen = True
            break
        time.sleep(0.002)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()  # reaped: its pid is really gone
    return seen


@pytest.mark.slow
def test_kill_9_never_leaves_a_false_complete_run(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project of its own: runs go to <project root>/backtests, the folder watched below
    # (a config in the repository would put them in the repository's backtests/, where no
    # moment would be seen and every kill would come by the clock alone).
    (tmp_path / "data").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "backtests").mkdir()  # also the project marker
    shutil.copy(REPO / "data" / "GOOG.csv", tmp_path / "data" / "GOOG.csv")
    shutil.copy(REPO / "configs" / "sma_cross_goog.toml", tmp_path / "configs")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    config = str(tmp_path / "configs" / "sma_cross_goog.toml")
    rng = random.Random(SEED)
    moments = ["partial", "published", *(["random"] * 4)]
    for moment in moments:  # one at a time, so each moment is watched on its own
        proc = spawn("backtest", config, "--db", url, cwd=tmp_path)
        seen = kill_when(proc, tmp_path / "backtests", moment, rng.uniform(0.3, 3.5))
        assert seen or moment == "random", f"the {moment!r} moment never showed"
    # without a store only the .partial folder can be left (next to --out)
    no_db = spawn("backtest", config, "--no-db", "--out", str(tmp_path / "nodb"), cwd=tmp_path)
    assert kill_when(no_db, tmp_path, "partial", 0.0)
    finished = spawn("backtest", config, "--db", url, cwd=tmp_path)
    assert finished.wait(timeout=300) == 0

    monkeypatch.chdir(tmp_path)
    store = RunStore(url)
    complete = set(store.run_ids())
    everything = set(store.run_ids(include_incomplete=True))
    incomplete = everything - complete
    assert complete  # at least the finished run
    for run_id in complete:
        run = store.get_run(run_id)
        assert run is not None
        folder = Path(run["artifacts_dir"])
        assert check_complete(folder, run_id)[0] == run_id
        bars = json.loads((folder / "metrics.json").read_text())["bars"]
        assert len(store.table_rows("equity", run_id)) == bars
    # every published folder belongs to a run the store knows
    for manifest in (tmp_path / "backtests").glob(f"*/{MANIFEST}"):
        known = json.loads(manifest.read_text())["run_id"]
        assert known in everything, known

    listed = kestrel("runs", "list", "--db", url)
    assert all(run_id in listed.out for run_id in complete)
    assert not any(run_id in listed.out for run_id in incomplete)
    every = kestrel("runs", "list", "--db", url, "--all")
    assert all(run_id in every.out for run_id in everything)
    good = sorted(complete)[0]
    for command in (["report", good], ["runs", "export", good], ["runs", "compare", good, good]):
        monkeypatch.chdir(tmp_path)
        result = kestrel(*command, "--db", url)
        assert result.code == 0, (command, result.err)
    for run_id in incomplete:
        monkeypatch.chdir(tmp_path)
        assert_one_line_error(kestrel("report", run_id, "--db", url), "no run")
        assert_one_line_error(kestrel("runs", "export", run_id, "--db", url), "no run")
    for partial in partial_folders(tmp_path / "backtests"):
        assert_one_line_error(kestrel("report", str(partial)), "no complete run")

    monkeypatch.chdir(tmp_path)
    cleaned = kestrel("runs", "gc", "--db", url, "--dir", str(tmp_path))
    assert cleaned.code == 0, cleaned.err
    assert set(store.run_ids(include_incomplete=True)) == complete
    assert partial_folders(tmp_path / "backtests") == []
    assert partial_folders(tmp_path) == []
    assert not (tmp_path / "nodb").exists() or check_complete(tmp_path / "nodb")
    for run_id in complete:  # gc never touches a complete run
        run = store.get_run(run_id)
        assert run is not None
        assert check_complete(Path(run["artifacts_dir"]), run_id)[0] == run_id
    for folder in (tmp_path / "backtests").iterdir():
        if folder.is_dir() and folder.name != ASSETS_DIR:  # the reports' shared plotly.js
            assert check_complete(folder)[0] in complete  # no unknown folder is left


class FailingStore(RunStore):
    """A real store whose commit fails right after the folder was published."""

    def complete_run(self, run: Any, **rows: Any) -> None:
        publish = rows.pop("before_commit")

        def publish_then_fail() -> None:
            publish()
            raise PersistenceError("the disk is full")

        super().complete_run(run, **rows, before_commit=publish_then_fail)


def test_a_failed_save_leaves_no_files_and_no_row(tmp_path: Path) -> None:
    result = run_backtest(load_config(REPO / "configs" / "sma_cross_goog.toml"))
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    for out in (tmp_path / "new", user):
        with pytest.raises(PersistenceError, match="disk is full"):
            finish_run(result, out_dir=out, store=FailingStore(url), force=True)
        assert partial_folders(out.parent) == []
        assert partial_folders(user) == []
    assert not (tmp_path / "new").exists()
    assert [p.name for p in user.iterdir()] == ["notes.txt"]
    assert RunStore(url).run_ids(include_incomplete=True) == []


def test_gc_keeps_a_run_whose_writer_is_alive(kestrel: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url)
    row = {
        "run_id": "live-run", "name": "n", "strategy": "s:S", "symbols": "X",
        "created_at": "2026-01-01T00:00:00+00:00", "start_ns": 0, "end_ns": 1, "bars": 1,
        "initial_cash": 1.0, "final_equity": 1.0, "total_return": 0.0, "sharpe": None,
        "max_drawdown": None, "num_trades": 0, "artifacts_dir": str(tmp_path / "live"),
        "config_toml": "", "metrics_json": "{}",
    }  # fmt: skip
    store.begin_run(row)  # written by this (living) process
    assert "live-run" not in kestrel("runs", "list", "--db", url).out
    every = kestrel("runs", "list", "--db", url, "--all")
    assert "live-run" in every.out
    assert "writing" in every.out
    kept = kestrel("runs", "gc", "--db", url)
    assert "kept live-run" in kept.out
    assert store.run_ids(include_incomplete=True) == ["live-run"]


def test_gc_finishes_a_delete_that_was_killed(kestrel: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    out = tmp_path / "run"
    assert (
        kestrel("backtest", "configs/sma_cross_goog.toml", "--db", url, "--out", str(out)).code == 0
    )
    store = RunStore(url)
    (run_id,) = store.run_ids()
    store.mark_deleting(run_id)  # what `runs delete` does first; then it was killed
    dead = subprocess.Popen(["true"])
    dead.wait()
    with store.engine.begin() as conn:
        conn.execute(runs_table.update().values(writer=f"{socket.gethostname()}:{dead.pid}"))
    assert run_id not in kestrel("runs", "list", "--db", url).out  # hidden, files still there
    assert "deleting" in kestrel("runs", "list", "--db", url, "--all").out
    assert (out / MANIFEST).is_file()
    cleaned = kestrel("runs", "gc", "--db", url)
    assert f"removed incomplete run {run_id}" in cleaned.out
    assert store.run_ids(include_incomplete=True) == []
    assert not out.exists()
