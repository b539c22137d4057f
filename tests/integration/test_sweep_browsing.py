"""Sweeps in ``runs list``/``compare``, ``sweeps best``, and walk-forward analyses in the store.

A grid sweep of the SMA crossover on GOOG with ``--keep-best 2``: the two full runs are
linked to their trials (``runs list`` shows ``<sweep>#<trial>``); ``runs list --sweep``
ranks and filters every trial like runs; ``runs compare --sweep`` compares the kept runs
best first; ``sweeps best`` names the kept run of the best trial (or writes it once).
A walk-forward is stored and shown again by id; one that chose nothing is refused, and
windows that chose nothing hold cash.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine.optimize.search import SweepSpec, rank, result_from_row
from engine.persistence import RunStore
from engine.persistence.sweeps import SweepStore
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

GOOG = "configs/sma_cross_goog.toml"
GRID = ["--param", "fast=5:15:5", "--param", "slow=20:40:20", "--workers", "1"]


@pytest.fixture
def goog(tmp_path: Path) -> str:
    """The GOOG config in a project of its own: a sweep writes its kept runs and its page
    under the project's backtests/, which must not be the repository's (tests run alongside)."""
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "pyproject.toml").write_text("")
    shutil.copy(REPO / GOOG, project / "configs")
    shutil.copy(REPO / "data" / "GOOG.csv", project / "data")
    return str(project / GOOG)


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'k.db'}"


def sweep_of(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("sweep: "))


def ranked_trials(db: str, sweep: str) -> list[int]:
    sweeps = SweepStore(RunStore(db))
    row = sweeps.get_sweep(sweep)
    assert row is not None
    results = [result_from_row(r) for r in sweeps.trials(sweep)]
    return [r.number for r in rank(results, SweepSpec.from_json(row["spec"]))]


def run_count(db: str) -> int:
    return len(RunStore(db).query_runs(limit=None))


def test_kept_runs_are_their_trials_in_runs_list_compare_and_best(
    kestrel: CliRunner, tmp_path: Path, goog: str
) -> None:
    db = url(tmp_path)
    result = kestrel("optimize", goog, *GRID, "--keep-best", "2", "--db", db)
    assert result.code == 0, result.err
    sweep = sweep_of(result.out)
    order = ranked_trials(db, sweep)
    kept = SweepStore(RunStore(db)).kept_runs(sweep)
    assert sorted(kept) == sorted(order[:2])

    listed = kestrel("runs", "list", "--db", db)
    assert listed.code == 0, listed.err
    for trial, run_id in kept.items():
        line = next(line for line in listed.out.splitlines() if run_id in line)
        assert f"{sweep}#{trial}" in line

    trials = kestrel("runs", "list", "--sweep", sweep[:-4], "--sort", "sharpe", "--db", db)
    assert trials.code == 0, trials.err
    rows = [line for line in trials.out.splitlines() if re.match(r"^│\s+\d+\s+│", line)]
    assert [int(row.split("│")[1]) for row in rows] == order  # best first, every trial
    for trial, run_id in kept.items():
        assert run_id in rows[order.index(trial)]
    default = kestrel("runs", "list", "--sweep", sweep, "--db", db)  # best first by default
    assert [
        int(line.split("│")[1])
        for line in default.out.splitlines()
        if re.match(r"^│\s+\d+\s+│", line)
    ] == order
    assert f"{len(order)} trials" in default.out
    cut = kestrel("runs", "list", "--sweep", sweep, "--limit", "2", "--db", db)
    assert f"2 of {len(order)} trials (--limit 2" in cut.out  # was "2 trials": cut unsaid
    only = kestrel("runs", "list", "--sweep", sweep, "--where", "fast>5", "--db", db)
    shown = [line for line in only.out.splitlines() if re.match(r"^│\s+\d+\s+│", line)]
    assert sorted(int(row.split("│")[2]) for row in shown) == [10, 10, 15, 15]  # the fast column
    typo = kestrel("runs", "list", "--sweep", sweep, "--where", "fsat>5", "--db", db)
    assert_one_line_error(typo, "fsat", "did you mean fast")

    compared = kestrel(
        "runs", "compare", "--sweep", sweep, "--db", db, "--html", str(tmp_path / "c.html")
    )
    assert compared.code == 0, compared.err
    header = next(line for line in compared.out.splitlines() if "metric" in line)
    best_run, second_run = kept[order[0]], kept[order[1]]
    assert header.index(best_run) < header.index(second_run)

    before = run_count(db)
    best = kestrel("sweeps", "best", sweep, "--db", db)
    assert best.code == 0, best.err
    assert f"best trial {order[0]} of 6" in best.out
    assert f"run: {best_run}" in best.out
    again = kestrel("optimize", goog, *GRID, "--keep-best", "2", "--resume", "--db", db)
    assert again.code == 0, again.err
    assert again.out.count("(kept before)") == 2, (again.out, again.err)
    assert run_count(db) == before  # nothing run twice

    shown_sweep = kestrel("sweeps", "show", sweep, "--db", db)
    for trial, run_id in kept.items():
        assert f"trial {trial}: full run {run_id}" in shown_sweep.out


def test_sweeps_best_writes_the_best_run_once_from_the_stored_config(
    kestrel: CliRunner, tmp_path: Path, goog: str
) -> None:
    db = url(tmp_path)
    result = kestrel("optimize", goog, *GRID, "--db", db)
    assert result.code == 0, result.err
    sweep = sweep_of(result.out)
    assert run_count(db) == 0
    first = kestrel("sweeps", "best", sweep, "--db", db)
    assert first.code == 0, first.err
    run_id = next(line.split()[1] for line in first.out.splitlines() if line.startswith("run: "))
    run = RunStore(db).get_run(run_id)
    assert run is not None
    best = ranked_trials(db, sweep)[0]
    trial = SweepStore(RunStore(db)).trials(sweep)[best]
    assert run["params"] == {"fast": trial["params"]["fast"], "slow": trial["params"]["slow"]}
    assert run["metrics"]["sharpe"] == trial["metrics"]["sharpe"]  # the same backtest
    report = Path(run["artifacts_dir"]) / "report.html"
    assert f"report: {report}" in first.out
    assert report.is_file()
    second = kestrel("sweeps", "best", sweep, "--db", db)
    assert f"run: {run_id}" in second.out
    assert run_count(db) == 1


def test_sweeps_best_of_an_unknown_sweep_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    RunStore(url(tmp_path)).engine.dispose()  # an empty store (a missing one is refused)
    result = kestrel("sweeps", "best", "nope", "--db", url(tmp_path))
    assert_one_line_error(result, "no sweep 'nope'")


def test_a_walkforward_is_stored_and_shown_again(kestrel: CliRunner, tmp_path: Path) -> None:
    db, out = url(tmp_path), tmp_path / "wf"
    result = kestrel(
        "walkforward", GOOG, "--param", "fast=5:10:5", "--in-sample", "800",
        "--out-of-sample", "600", "--workers", "1", "--db", db, "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    analysis = next(
        line.split()[1] for line in result.out.splitlines() if line.startswith("walk-forward: ")
    )
    written = json.loads((out / "walkforward.json").read_text())
    stored = SweepStore(RunStore(db)).get_walkforward(analysis)
    assert stored is not None
    assert stored["windows"] == written["windows"]
    assert stored["metrics"] == written["metrics"]
    assert stored["spec"]["in_sample"] == 800
    assert stored["artifacts_dir"] == str(out)
    listed = kestrel("sweeps", "list", "--db", db)
    assert analysis in listed.out
    shown = kestrel("sweeps", "show", analysis[:-3], "--db", db)
    assert shown.code == 0, shown.err
    for window in written["windows"]:
        params = ", ".join(f"{k}={v}" for k, v in window["params"].items())
        assert params in shown.out
    assert "walk-forward efficiency" in shown.out


def test_a_walkforward_that_chose_nothing_is_refused_and_writes_nothing(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    db, out = url(tmp_path), tmp_path / "wf"
    result = kestrel(
        "walkforward", GOOG, "--param", "fast=5:20:5", "--in-sample", "25",
        "--out-of-sample", "500", "--workers", "1", "--db", db, "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(result, "chose nothing", "25 in-sample bars", "lengthen --in-sample")
    assert not out.exists()
    assert SweepStore(RunStore(db)).list_walkforwards() == []


def test_windows_that_chose_nothing_hold_cash(kestrel: CliRunner, tmp_path: Path) -> None:
    # anchored, 40 in-sample bars first: SMA 60 cannot form, so window 0 chooses nothing;
    # later windows have grown past the warm-up and trade.
    out = tmp_path / "wf"
    result = kestrel(
        "walkforward", GOOG, "--param", "fast=5:10:5", "--param", "slow=60", "--scheme",
        "anchored", "--in-sample", "40", "--out-of-sample", "300", "--workers", "1",
        "--db", url(tmp_path), "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "window 0 chose nothing" in result.out
    summary = json.loads((out / "walkforward.json").read_text())
    assert summary["windows"][0]["params"] is None
    assert all(w["params"] is not None for w in summary["windows"][1:])
    curve = pd.read_csv(out / "oos_equity.csv")
    assert len(curve) == 2148 - 40  # every out-of-sample bar once, idle ones included
    assert (curve["equity"].iloc[:300] == 10_000.0).all()  # cash held through window 0
    assert curve["equity"].iloc[300:].nunique() > 1


@pytest.mark.parametrize("command", ["best", "show"])
def test_sweep_commands_on_an_empty_store(kestrel: CliRunner, tmp_path: Path, command: str) -> None:
    RunStore(url(tmp_path)).engine.dispose()  # created empty (a missing one is refused)
    result = kestrel("sweeps", command, "x", "--db", url(tmp_path))
    assert_one_line_error(result, "'x'")
    listed = kestrel("sweeps", "list", "--db", url(tmp_path))
    assert "no sweeps or walk-forward analyses" in listed.out
