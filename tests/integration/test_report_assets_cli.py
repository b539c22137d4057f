"""The shared plotly.js from the command line: backtest, report, compare, gc, delete.

Runs share ``<runs>/_assets/plotly-<version>-<hash>.min.js``; ``--self-contained`` embeds
it; ``runs gc`` and ``runs delete`` never remove it, gc only a killed writer's temporary
copy (`engine.report.assets`).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from engine.report.assets import asset_name, plotly_js
from tests.integration.conftest import CliRunner, assert_one_line_error

CONFIG = "configs/sma_cross_goog.toml"
SRC = re.compile(r'<script src="([^"]+)"></script>')
MARK = "plotly.js v"  # in plotly.min.js's licence comment: the source is in the page


def test_runs_share_one_copy_and_gc_and_delete_leave_it(kestrel: CliRunner, tmp_path: Path) -> None:
    js = plotly_js()
    assert js is not None  # plotly is a dependency of the project
    name = asset_name(js)
    runs, db = tmp_path / "runs", f"sqlite:///{tmp_path / 'runs.db'}"
    for folder in ("a", "b", "c"):
        done = kestrel("backtest", CONFIG, "--out", str(runs / folder), "--db", db)
        assert done.code == 0, done.err
    alone = kestrel("backtest", CONFIG, "--out", str(runs / "d"), "--db", db, "--self-contained")
    assert alone.code == 0, alone.err
    assert [p.name for p in (runs / "_assets").iterdir()] == [name]
    asset = (runs / "_assets" / name).stat()
    for folder in ("a", "b", "c"):
        page = (runs / folder / "report.html").read_text()
        assert SRC.findall(page) == [f"../_assets/{name}"]
        assert MARK not in page
    embedded = (runs / "d" / "report.html").read_text()
    assert MARK in embedded
    assert "_assets" not in embedded
    # the same inputs give the same page but for the run's id and creation time
    pages = []
    for folder in ("a", "b"):
        info = json.loads((runs / folder / "run.json").read_text())
        text = (runs / folder / "report.html").read_text()
        pages.append(text.replace(info["run_id"], "RUN").replace(info["created_at"], "T"))
    assert pages[0] == pages[1]

    # kestrel report re-renders beside the run's page (shared) or embedded; --out elsewhere
    again = kestrel("report", str(runs / "a"), "--db", db, "--self-contained")
    assert again.code == 0, again.err
    assert MARK in (runs / "a" / "report-rerender.html").read_text()
    elsewhere = tmp_path / "pages" / "a.html"
    again = kestrel("report", str(runs / "b"), "--db", db, "--out", str(elsewhere))
    assert again.code == 0, again.err
    assert SRC.findall(elsewhere.read_text()) == [f"_assets/{name}"]
    assert (elsewhere.parent / "_assets" / name).read_bytes() == js.encode()
    compare = tmp_path / "pages" / "compare.html"
    shown = kestrel("runs", "compare", str(runs / "b"), str(runs / "c"), "--html", str(compare))
    assert shown.code == 0, shown.err
    assert SRC.findall(compare.read_text()) == [f"_assets/{name}"]

    # a killed writer's temporary copy goes once it is over an hour old; nothing else
    stale = runs / "_assets" / f".{name}.4242.tmp"
    fresh = runs / "_assets" / f".{name}.4243.tmp"
    mine = runs / "_assets" / "notes.tmp"
    for path in (stale, fresh, mine):
        path.write_text("x")
    for path in (stale, mine):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    looked = kestrel("runs", "gc", "--db", db, "--dir", str(runs), "--dry-run")
    assert f"would remove {stale}" in looked.out
    assert stale.is_file()
    cleaned = kestrel("runs", "gc", "--db", db, "--dir", str(runs))
    assert cleaned.code == 0, cleaned.err
    assert cleaned.out.strip() == f"removed {stale}"
    assert sorted(p.name for p in (runs / "_assets").iterdir()) == sorted(
        [name, fresh.name, mine.name]
    )
    fresh.unlink()
    mine.unlink()
    listed = kestrel("runs", "list", "--db", db, "--all")
    assert "_assets" not in listed.out
    deleted = kestrel("runs", "delete", "--yes", "--db", db, *_ids(runs))
    assert deleted.code == 0, deleted.err
    assert [p.name for p in runs.iterdir()] == ["_assets"]  # every run folder went, not it
    kept = (runs / "_assets" / name).stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (asset.st_ino, asset.st_mtime_ns)
    assert kestrel("runs", "gc", "--db", db, "--dir", str(runs)).code == 0
    assert (runs / "_assets" / name).is_file()


def _ids(runs: Path) -> list[str]:
    return [
        json.loads((runs / folder / "run.json").read_text())["run_id"]
        for folder in ("a", "b", "c", "d")
    ]


def test_a_run_may_not_be_written_as_the_shared_folder(kestrel: CliRunner, tmp_path: Path) -> None:
    refused = kestrel("backtest", CONFIG, "--out", str(tmp_path / "_assets"), "--no-db")
    assert_one_line_error(refused, "shared plotly.js")
    assert not (tmp_path / "_assets").exists()
