"""`finish_run` writes the artifacts, the report and the store's rows at once (issue 13).

What must hold: the three really overlap; the files and rows are the ones a one-at-a-time
save wrote; the store commits only after both files were written and the folder published;
a failure of any writer or Ctrl-C leaves no folder, no partial folder and no row, and
raises the first failure (artifacts', else report's, else store's), with every writer
finished before `finish_run` returns.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import engine.runtime.runs as runs_module
from engine.config import load_config
from engine.errors import PersistenceError
from engine.persistence import RunStore
from engine.report.artifacts import write_artifacts
from engine.report.html import render_report
from engine.report.run_folder import partial_folders
from engine.runtime import BacktestResult, finish_run, run_backtest

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 30.0  # only a broken (sequential) save waits this long, then fails


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return run_backtest(load_config(REPO / "configs" / "sma_cross_goog.toml"))


def _digests(folder: Path) -> dict[str, str]:
    skip = {"run.json", "run-manifest.json", "report.html"}  # name the run id and time
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.name not in skip
    }


def test_the_artifacts_wait_for_the_report_to_have_started(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The artifacts are written in the calling thread: if the report only started after
    # them (one at a time), this wait would run out and the save would fail.
    report_started = threading.Event()

    def artifacts(*args: Any, **kwargs: Any) -> Any:
        assert report_started.wait(WAIT_S), "the report did not start while artifacts ran"
        return write_artifacts(*args, **kwargs)

    def report(*args: Any, **kwargs: Any) -> Any:
        report_started.set()
        return render_report(*args, **kwargs)

    monkeypatch.setattr(runs_module, "write_artifacts", artifacts)
    monkeypatch.setattr(runs_module, "render_report", report)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    run_id, folder = finish_run(result, out_dir=tmp_path / "run", store=RunStore(url))
    assert (folder / "report.html").is_file()
    assert RunStore(url).run_ids() == [run_id]
    monkeypatch.undo()
    # the same files as a save that had no reason to overlap
    _, alone = finish_run(result, out_dir=tmp_path / "alone", store=None)
    assert _digests(folder) == _digests(alone)
    assert len(_digests(folder)) >= 7


def test_the_store_commits_only_after_both_files_are_published(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    release_report = threading.Event()

    def slow_report(*args: Any, **kwargs: Any) -> Any:
        # the store's rows are written meanwhile; it must still wait for this file
        assert release_report.wait(WAIT_S)
        seen.append("report")
        return render_report(*args, **kwargs)

    class WatchingStore(RunStore):
        def complete_run(self, run: Any, **rows: Any) -> None:
            publish = rows.pop("before_commit")

            def watched() -> None:
                release_report.set()  # the rows are in: let the report go
                publish()
                seen.append(f"published with report.html: {(out / 'report.html').is_file()}")

            super().complete_run(run, **rows, before_commit=watched)
            seen.append("committed")

    out = tmp_path / "run"
    monkeypatch.setattr(runs_module, "render_report", slow_report)
    finish_run(result, out_dir=out, store=WatchingStore(f"sqlite:///{tmp_path / 'r.db'}"))
    assert seen == ["report", "published with report.html: True", "committed"]


class BoomError(Exception):
    pass


@pytest.mark.parametrize("failing", ["artifacts", "report", "store", "ctrl-c"])
def test_a_failure_anywhere_leaves_nothing_and_raises_it(
    failing: str, result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished: list[str] = []  # writers that ran to their end (before finish_run raised)

    def artifacts(*args: Any, **kwargs: Any) -> Any:
        if failing == "artifacts":
            raise BoomError("artifacts failed")
        if failing == "ctrl-c":
            raise KeyboardInterrupt
        out = write_artifacts(*args, **kwargs)
        finished.append("artifacts")
        return out

    def report(*args: Any, **kwargs: Any) -> Any:
        if failing == "report":
            raise BoomError("report failed")
        out = render_report(*args, **kwargs)
        finished.append("report")
        return out

    class Store(RunStore):
        def complete_run(self, run: Any, **rows: Any) -> None:
            if failing == "store":
                raise PersistenceError("the disk is full")
            super().complete_run(run, **rows)
            finished.append("store")

    monkeypatch.setattr(runs_module, "write_artifacts", artifacts)
    monkeypatch.setattr(runs_module, "render_report", report)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    expected: type[BaseException] = {
        "store": PersistenceError,
        "ctrl-c": KeyboardInterrupt,
    }.get(failing, BoomError)
    with pytest.raises(expected):
        finish_run(result, out_dir=tmp_path / "run", store=Store(url))
    assert not (tmp_path / "run").exists()
    assert partial_folders(tmp_path) == []
    assert RunStore(url).run_ids(include_incomplete=True) == []
    assert "store" not in finished  # nothing committed
    if failing in ("artifacts", "ctrl-c"):
        assert finished == ["report"]  # the report's thread ended before the undo


def test_without_a_store_the_files_are_written_at_once_too(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def report(*args: Any, **kwargs: Any) -> Any:
        raise BoomError("report failed")

    monkeypatch.setattr(runs_module, "render_report", report)
    with pytest.raises(BoomError):
        finish_run(result, out_dir=tmp_path / "run", store=None)
    assert not (tmp_path / "run").exists()
    assert partial_folders(tmp_path) == []
    monkeypatch.setattr(runs_module, "render_report", render_report)
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    assert (folder / "report.html").is_file()
    assert (folder / "equity.csv").is_file()


def test_the_report_names_the_run_even_when_written_before_run_json(
    result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run.json is the artifacts' last file: a report that read it from the folder would
    # name the run or not depending on which thread came first
    report_done = threading.Event()

    def late_artifacts(*args: Any, **kwargs: Any) -> Any:
        assert report_done.wait(WAIT_S)
        return write_artifacts(*args, **kwargs)

    def report(*args: Any, **kwargs: Any) -> Any:
        try:
            return render_report(*args, **kwargs)
        finally:
            report_done.set()

    monkeypatch.setattr(runs_module, "write_artifacts", late_artifacts)
    monkeypatch.setattr(runs_module, "render_report", report)
    run_id, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    page = (folder / "report.html").read_text(encoding="utf-8")
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run_id in page
    assert info["inputs_sha256"] in page  # the provenance section, from run.json's facts
    assert info["created_at"] in page
