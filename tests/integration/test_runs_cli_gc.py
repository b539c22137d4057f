"""``runs gc`` removes only the ``.partial`` folders Kestrel wrote, holding only its files.

A partial folder is Kestrel's when it holds the ``.writer`` mark (``host:pid``) a run puts
in it first, or its run id is a stored run's that never completed. It is removed only when
that writer is gone and every entry in it is a file a run writes: a folder that merely has
the name (``.my-notes.partial``), or one holding a user's file, is kept and named.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from engine.persistence import RunStore
from tests.integration.conftest import CliRunner


def _dead_writer() -> str:
    dead = subprocess.Popen(["true"])
    dead.wait()
    return f"{socket.gethostname()}:{dead.pid}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kestrel: CliRunner) -> Path:
    """A project (``pyproject.toml``) whose ``backtests/`` gc looks in, with an empty store."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "backtests").mkdir()
    RunStore(f"sqlite:///{tmp_path / 'backtests' / 'kestrel.db'}").engine.dispose()
    monkeypatch.chdir(tmp_path)
    return tmp_path / "backtests"


@pytest.mark.parametrize("dry_run", [True, False])
def test_gc_keeps_a_partial_folder_no_run_wrote(
    kestrel: CliRunner, project: Path, dry_run: bool
) -> None:
    notes = project / ".my-notes.partial"
    notes.mkdir()
    (notes / "ideas.txt").write_text("mine\n")
    os.utime(notes, (1e9, 1e9))
    result = kestrel("runs", "gc", *(["--dry-run"] if dry_run else []))
    assert result.code == 0, result.err
    assert "would remove" not in result.out
    assert f"removed {notes}" not in result.out
    assert f"kept {notes}" in result.out
    assert (notes / "ideas.txt").read_text() == "mine\n"


def test_gc_keeps_a_killed_runs_partial_folder_holding_a_users_file(
    kestrel: CliRunner, project: Path
) -> None:
    partial = project / ".sma-20260101T000000-abcdef.partial"
    partial.mkdir()
    (partial / ".writer").write_text(_dead_writer())
    (partial / "metrics.json").write_text("{}\n")
    (partial / "my-analysis.ipynb").write_text("{}\n")
    dry = kestrel("runs", "gc", "--dry-run")
    assert "would remove" not in dry.out
    result = kestrel("runs", "gc")
    assert f"kept {partial}" in result.out
    assert "my-analysis.ipynb" in result.out
    assert (partial / "my-analysis.ipynb").is_file()


def test_gc_removes_a_killed_runs_partial_folder(kestrel: CliRunner, project: Path) -> None:
    partial = project / ".sma-20260101T000000-abcdef.partial"
    partial.mkdir()
    (partial / ".writer").write_text(_dead_writer())
    for name in ("config.toml", "metrics.json", "equity.csv", "report.html"):
        (partial / name).write_text("x\n")
    assert f"would remove {partial}" in kestrel("runs", "gc", "--dry-run").out
    assert partial.is_dir()
    assert f"removed {partial}" in kestrel("runs", "gc").out
    assert not partial.exists()


def test_gc_keeps_an_unmarked_partial_folder_the_store_does_not_know(
    kestrel: CliRunner, project: Path
) -> None:
    partial = project / ".sma-20260101T000000-abcdef.partial"
    partial.mkdir()
    (partial / "config.toml").write_text("x\n")
    os.utime(partial, (1e9, 1e9))  # old: not one a run has just created
    result = kestrel("runs", "gc")
    assert f"kept {partial}" in result.out
    assert (partial / "config.toml").is_file()


def test_gc_removes_a_partial_folder_whose_writer_was_killed_writing_its_mark(
    kestrel: CliRunner, project: Path
) -> None:
    partial = project / ".sma-20260101T000000-abcdef.partial"
    partial.mkdir()
    (partial / ".writer").write_text("")  # killed between creating the mark and writing it
    assert f"removed {partial}" in kestrel("runs", "gc").out
    assert not partial.exists()


def test_gc_removes_an_empty_partial_folder_whose_writer_was_killed_before_its_mark(
    kestrel: CliRunner, project: Path
) -> None:
    """A run killed between creating its ``.partial`` folder and writing the mark in it
    left an empty folder that gc kept forever (``test_kill_9_never_leaves_a_false_complete
    _run`` failed 1 run in 10 there). An empty folder holds nothing anyone could lose; one
    younger than a minute is still left to the run that may be creating it."""
    partial = project / ".sma-20260101T000000-abcdef.partial"
    partial.mkdir()
    os.utime(partial, (1e9, 1e9))  # old: no run is still creating it
    assert f"removed {partial}" in kestrel("runs", "gc").out
    assert not partial.exists()
    young = project / ".sma-20260101T000001-abcdef.partial"
    young.mkdir()  # just created: its run may be writing the mark now
    assert f"removed {young}" not in kestrel("runs", "gc").out
    assert young.is_dir()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_gc_refuses_a_dir_that_is_not_a_folder(
    kestrel: CliRunner, project: Path, tmp_path: Path, kind: str
) -> None:
    """Found by an audit: a mistyped --dir said "nothing to clean", exit 0."""
    target = tmp_path / "nowhere"
    if kind == "file":
        target.write_text("mine\n")
    result = kestrel("runs", "gc", "--dir", str(target))
    fragment = "does not exist" if kind == "missing" else "is a file, not a folder"
    assert result.code == 2, result.err
    assert result.err.splitlines() == [f"error: runs gc --dir {str(target)!r} {fragment}"]
