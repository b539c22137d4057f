"""No command replaces a file, or fills a folder, that Kestrel did not write.

`engine.report.ownership` is the rule. Every command that writes to a path the user
names — ``report --out``, ``runs compare --html``, ``runs export --out``, ``optimize
--html``, ``walkforward --out``, ``ml evaluate --out`` — is given a user's file (or a
folder holding one): one line, exit 2, the file byte-for-byte unchanged and nothing else
written. Given its own earlier output instead, the same command replaces it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import update

from engine.persistence import RunStore
from engine.persistence.schema import runs
from engine.persistence.sweeps import SweepStore
from engine.report.ownership import is_kestrel_page, is_kestrel_zip
from tests.integration.conftest import CliRunner, assert_one_line_error

GOOG = "configs/sma_cross_goog.toml"
USER_TEXT = "<!DOCTYPE html><html><head><title>My notes</title></head><body>mine</body></html>\n"


def backtest(kestrel: CliRunner, tmp_path: Path, name: str = "run") -> tuple[str, Path]:
    folder = tmp_path / name
    result = kestrel("backtest", GOOG, "--db", url(tmp_path), "--out", str(folder))
    assert result.code == 0, result.err
    return str(folder), folder


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'k.db'}"


def listing(folder: Path) -> list[str]:
    """Names in ``folder`` but SQLite's own ``-wal``/``-shm`` files, which come and go."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("k.db-"))


def users_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(USER_TEXT)
    return path


@pytest.mark.parametrize("command", ["report", "compare", "export"])
def test_a_page_or_zip_never_replaces_a_users_file(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    run, _ = backtest(kestrel, tmp_path)
    mine = users_file(tmp_path / "mine.html")
    before = listing(tmp_path)
    args = {
        "report": ["report", run, "--out", str(mine)],
        "compare": ["runs", "compare", run, run, "--html", str(mine)],
        "export": ["runs", "export", run, "--out", str(mine)],
    }[command]
    result = kestrel(*args, "--db", url(tmp_path))
    assert_one_line_error(
        result, str(mine), "was not written by Kestrel", "nothing was overwritten"
    )
    assert mine.read_text() == USER_TEXT
    assert listing(tmp_path) == before  # nothing else written


@pytest.mark.parametrize("command", ["report", "compare", "export"])
def test_the_same_command_replaces_its_own_earlier_output(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    run, _ = backtest(kestrel, tmp_path)
    target = tmp_path / ("out.zip" if command == "export" else "out.html")
    args = {
        "report": ["report", run, "--out", str(target)],
        "compare": ["runs", "compare", run, run, "--html", str(target)],
        "export": ["runs", "export", run, "--out", str(target)],
    }[command]
    for _ in range(2):
        result = kestrel(*args, "--db", url(tmp_path))
        assert result.code == 0, result.err
    assert (is_kestrel_zip if command == "export" else is_kestrel_page)(target)


def test_a_folder_is_not_a_page(kestrel: CliRunner, tmp_path: Path) -> None:
    run, _ = backtest(kestrel, tmp_path)
    (tmp_path / "pages").mkdir()
    result = kestrel("report", run, "--out", str(tmp_path / "pages"), "--db", url(tmp_path))
    assert_one_line_error(result, "is a folder")


def test_optimize_refuses_a_users_page_before_any_trial_runs(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    mine = users_file(tmp_path / "sweep.html")
    result = kestrel(
        "optimize", GOOG, "--param", "fast=5:10:5", "--html", str(mine), "--db", url(tmp_path),
        "--workers", "1",
    )  # fmt: skip
    assert_one_line_error(result, "--html", "was not written by Kestrel")
    assert mine.read_text() == USER_TEXT
    assert SweepStore(RunStore(url(tmp_path))).list_sweeps() == []  # nothing was started


@pytest.mark.parametrize("command", ["walkforward", "ml evaluate"])
def test_an_output_folder_holding_a_users_file_is_refused(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    folder = tmp_path / "results"
    users_file(folder / "notes.html")
    users_file(folder / "report.html")  # a name the command writes, but not its file
    args = {
        "walkforward": [
            "walkforward", GOOG, "--param", "fast=5:10:5", "--in-sample", "800",
            "--out-of-sample", "600", "--workers", "1", "--db", url(tmp_path),
        ],
        "ml evaluate": ["ml", "evaluate", "configs/ml_signal_btc.toml"],
    }[command]  # fmt: skip
    result = kestrel(*args, "--out", str(folder))
    assert_one_line_error(result, str(folder), "Kestrel did not write", "nothing was overwritten")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.html", "report.html"]
    assert (folder / "report.html").read_text() == USER_TEXT


def test_walkforward_reruns_into_its_own_folder(kestrel: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    args = [
        "walkforward", GOOG, "--param", "fast=5:10:5", "--in-sample", "800",
        "--out-of-sample", "600", "--workers", "1", "--db", url(tmp_path), "--out", str(folder),
    ]  # fmt: skip
    first = kestrel(*args)
    assert first.code == 0, first.err
    written = (folder / "walkforward.json").read_bytes()
    again = kestrel(*args)
    assert again.code == 0, again.err
    assert (folder / "walkforward.json").read_bytes() == written  # deterministic, replaced
    assert {p.name for p in folder.iterdir()} <= {
        "walkforward.json", "oos_equity.csv", "report.html", "_assets",
    }  # fmt: skip


def test_an_export_zip_is_recognised_only_with_its_manifest(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.zip"
    with zipfile.ZipFile(theirs, "w") as archive:
        archive.writestr("photos/cat.jpg", b"\xff\xd8")
    assert not is_kestrel_zip(theirs)
    ours = tmp_path / "ours.zip"
    with zipfile.ZipFile(ours, "w") as archive:
        archive.writestr("run1/manifest.json", "{}")
        archive.writestr("run1/metrics.json", "{}")
    assert is_kestrel_zip(ours)
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    assert not is_kestrel_zip(tmp_path / "broken.zip")


def test_a_page_is_recognised_by_its_generator_mark_or_a_legacy_title(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text('<!DOCTYPE html><html><head><meta name="generator" content="Kestrel">')
    assert is_kestrel_page(page)
    page.write_text("<!DOCTYPE html>\n<html><head><title>Backtest goog-1</title>")
    assert is_kestrel_page(page)  # written before the mark existed
    page.write_text(USER_TEXT)
    assert not is_kestrel_page(page)
    page.write_text('Kestrel <meta name="generator" content="Kestrel"> but not a page')
    assert not is_kestrel_page(page)


@pytest.mark.parametrize("command", [["report"], ["runs", "export"]])
def test_a_run_without_a_folder_says_what_it_is(
    kestrel: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    store = RunStore(url(tmp_path))  # a paper account's row: the store holds it all
    store.begin_run(
        {
            "run_id": "paper-demo", "name": "demo", "strategy": "x:Y", "symbols": "BTC/USDT",
            "created_at": "2026-01-01T00:00:00", "bars": 1, "initial_cash": 1.0,
            "final_equity": 1.0, "total_return": 0.0, "num_trades": 0, "config_toml": "",
            "metrics_json": "{}",
        }
    )  # fmt: skip
    with store.engine.begin() as conn:  # as a paper session marks its account's row
        conn.execute(update(runs).values(status="complete"))
    result = kestrel(*command, "paper-demo", "--db", url(tmp_path))
    assert_one_line_error(result, "paper-demo has no artifacts folder", "runs compare paper-demo")
