"""``kestrel optimize``: trials stored one row each, failures recorded, bad input, resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config
from engine.optimize.trial import trial_config
from engine.persistence import RunStore
from engine.persistence.sweeps import SweepStore
from engine.runtime import run_backtest
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

# SmaCross that raises on its 100th bar when fast == 10 (a bug one parameter point hits),
# and sleeps a little per run when asked to (so a test can kill a sweep mid-way).
STRATEGY = """
import time
from strategies.sma_cross import SmaCross


class Fragile(SmaCross):
    def on_start(self, ctx):
        super().on_start(ctx)
        self.seen = 0
        started = __import__("os").environ.get("KESTREL_TEST_TRIAL_STARTED")
        if started:  # one line per backtest begun, so a test can kill while trials sleep
            with open(started, "a") as marks:
                marks.write("started\\n")
        time.sleep(float(__import__("os").environ.get("KESTREL_TEST_TRIAL_SLEEP", "0")))

    def on_bar(self, ctx, bar):
        self.seen += 1
        if self.params.fast == 10 and self.seen == 100:
            raise ZeroDivisionError("fast 10 divides by zero")
        super().on_bar(ctx, bar)
"""


def write_config(
    folder: Path, strategy: str = "strategies.sma_cross:SmaCross", name: str = "sweep_test"
) -> Path:
    (folder / "fragile.py").write_text(STRATEGY)
    config = folder / "sweep.toml"
    config.write_text(
        f'[run]\nname = "{name}"\n[[data]]\npath = "{REPO / "data" / "GOOG.csv"}"\n'
        f'symbol = "GOOG"\n[strategy]\npath = "{strategy}"\nparams = {{ fast = 10, slow = 30 }}\n'
    )
    return config


def sweep_of(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("sweep: "))
    return line.split()[1]


def page_charts(out: str) -> dict[str, dict[str, Any]]:
    """Return the sweep page's chart figures by island id (the page path is printed)."""
    line = next(line for line in out.splitlines() if line.startswith("page: "))
    text = Path(line.removeprefix("page: ")).read_text()
    found = re.findall(r'data-chart="chart-(\w+)">(.*?)</script>', text)
    return {name: json.loads(body) for name, body in found}


def stored_trials(url: str, sweep: str) -> list[dict[str, object]]:
    store = RunStore(url)
    try:
        return [
            {k: row[k] for k in ("trial", "params", "status", "value", "metrics", "error")}
            for row in SweepStore(store).trials(sweep)
        ]
    finally:
        store.engine.dispose()


def test_grid_trials_are_rows_with_the_metrics_of_a_plain_backtest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "optimize", str(config), "--param", "fast=5:15:5", "--param", "slow=20:40:20",
        "--db", url, "--workers", "2", "--keep-best", "1",
    )  # fmt: skip
    assert result.code == 0, result.err
    sweep = sweep_of(result.out)
    trials = stored_trials(url, sweep)
    assert [t["params"] for t in trials] == [
        {"fast": f, "slow": s} for f in (5, 10, 15) for s in (20, 40)
    ]
    base = load_config(config)
    for trial in trials:
        plain = run_backtest(trial_config(base, dict(trial["params"])))  # type: ignore[call-overload]
        assert trial["status"] == "complete"
        assert trial["metrics"] == json.loads(json.dumps(plain.metrics))
        assert trial["value"] == plain.metrics["sharpe"]
    best = max(trials, key=lambda t: t["value"])  # type: ignore[arg-type, return-value]
    table_first = next(line for line in result.out.splitlines() if line.startswith("│    1 "))
    assert f"│ {best['trial']:>5} │" in table_first
    assert "deflated Sharpe ratio of trial" in result.out
    assert "probability of backtest overfitting (CSCV, 16 blocks, 12870 splits)" in result.out
    store = RunStore(url)
    row = SweepStore(store).get_sweep(sweep)
    assert row is not None
    assert row["status"] == "complete"
    assert row["guards"]["chosen"] == best["trial"]
    assert 0.0 <= row["guards"]["pbo"]["pbo"] <= 1.0
    charts = page_charts(result.out)
    assert sorted(charts) == ["heatmap", "parallel"]  # one objective: no Pareto front
    heat = charts["heatmap"]["data"][0]
    assert (heat["x"], heat["y"]) == (["5", "10", "15"], ["20", "40"])
    for trial in trials:
        fast, slow = trial["params"]["fast"], trial["params"]["slow"]  # type: ignore[index]
        cell = heat["z"][heat["y"].index(str(slow))][heat["x"].index(str(fast))]
        assert cell == trial["value"]
    lines = charts["parallel"]["data"][0]
    assert [d["label"] for d in lines["dimensions"]] == ["fast", "slow", "sharpe"]
    assert len(lines["line"]["color"]) == 6
    # --keep-best 1: the best trial rerun as a full, stored run with its artifacts
    kept = next(line for line in result.out.splitlines() if line.startswith("trial "))
    number, run_id, folder = kept.split()[1].rstrip(":"), kept.split()[3], kept.split()[5]
    assert int(number) == best["trial"]
    run = RunStore(url).get_run(run_id)
    assert run is not None
    assert run["params"] == {"fast": best["params"]["fast"], "slow": best["params"]["slow"]}  # type: ignore[index]
    assert run["metrics"]["sharpe"] == best["value"]
    assert (Path(folder) / "report.html").is_file()
    # returns are kept only on request
    assert all(r["returns"] is None for r in SweepStore(store).trials(sweep, with_returns=True))


def test_a_trial_that_raises_is_recorded_and_the_rest_finish(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "fragile.py:Fragile")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "optimize", str(config), "--param", "fast=5:15:5", "--param", "slow=10,40",
        "--db", url, "--workers", "2",
    )  # fmt: skip
    assert result.code == 0, result.err
    by_point = {
        (t["params"]["fast"], t["params"]["slow"]): t  # type: ignore[index]
        for t in stored_trials(url, sweep_of(result.out))
    }
    assert len(by_point) == 6
    raised = by_point[(10, 40)]
    assert raised["status"] == "failed"
    assert "fast 10 divides by zero" in str(raised["error"])
    assert raised["metrics"] is None
    refused = by_point[(15, 10)]  # slow <= fast: the Params class refuses it
    assert refused["status"] == "failed"
    assert "slow (10) must be greater than fast (15)" in str(refused["error"])
    assert "(at " not in str(refused["error"])  # an input error names no engine file
    assert by_point[(5, 40)]["status"] == by_point[(15, 40)]["status"] == "complete"
    assert "trials did not complete" in result.out
    # said before any trial runs: which points the strategy refuses, and how to skip them
    warned = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, result.err
    assert "2 of 6 parameter points" in warned[0]
    assert "slow (10) must be greater than fast (10)" in warned[0]
    assert "--constraint" in warned[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--param", "fsat=5:50:5"], ["no parameter 'fsat'", "did you mean 'fast'"]),
        (["--param", "fast=50:5:5"], ["start 50 is above stop 5"]),
        (["--param", "fast=5:50:5", "--objective", "sharpee"], ["did you mean 'sharpe'"]),
        (["--param", "fast=5:50:5", "--method", "gird"], ["did you mean 'grid'"]),
        (["--param", "fast=5:50:5", "--executor", "dask"], ["not an executor"]),
        (["--param", "fast=5:50:5", "--address", "auto"], ["--address needs --executor ray"]),
        (["--param", "fast=5:50:5", "--workers", "0"], ["--workers must be >= 1"]),
        (["--param", "fast=5:50:5", "--constraint", "open('x')"], ["Call is not allowed"]),
        (["--param", "fast=5:50:5", "--trials", "5"], ["not grid"]),
        (["--param", "fast=5:9:1", "--constraint", "fast > 100"], ["no parameter point"]),
        # a value of the wrong type is no trial to run and record as failed
        (["--param", "fast=5,nan"], ["--param 'fast=5,nan'", "fast: expected a whole number"]),
        (["--param", "fast=5.5,6"], ["strategy.params.fast: expected a whole number, got 5.5"]),
        (["--param", "fast=5:6:0.5"], ["strategy.params.fast: expected a whole number, got 5.5"]),
        (["--param", "fast=five"], ["fast: expected a whole number, got str 'five'"]),
        # every point refused by the strategy's Params (slow = 30 in the config): no sweep
        (
            ["--param", "fast=40,50"],
            ["every parameter point", "slow (30) must be greater than fast (40)", "fast=40"],
        ),
        (
            ["--param", "fast=40:50:10", "--method", "optuna", "--trials", "2"],
            ["every parameter point", "slow (30) must be greater than fast (40)"],
        ),
        (
            ["--param", "fast=40,50", "--method", "random", "--trials", "2"],
            ["every parameter point", "must be greater than fast"],
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    kestrel: CliRunner, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    config = write_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel("optimize", str(config), *args, "--db", url)
    assert_one_line_error(result, *fragments)
    store = RunStore(url)
    assert SweepStore(store).list_sweeps() == []  # refused before anything was stored
    store.engine.dispose()


def test_the_same_sweep_again_needs_resume_and_resume_shows_it(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    args = ["optimize", str(config), "--param", "fast=5:10:5", "--db", f"sqlite:///{tmp_path}/k.db"]
    first = kestrel(*args, "--workers", "1")
    assert first.code == 0, first.err
    again = kestrel(*args)
    assert_one_line_error(again, sweep_of(first.out), "add --resume")
    shown = kestrel(*args, "--resume")
    assert shown.code == 0, shown.err
    table = [line for line in first.out.splitlines() if line.startswith("│")]
    assert table == [line for line in shown.out.splitlines() if line.startswith("│")]
    guards = [line for line in first.out.splitlines() if "deflated" in line]
    assert guards == [line for line in shown.out.splitlines() if "deflated" in line]
    url = f"sqlite:///{tmp_path}/k.db"
    listed = kestrel("sweeps", "list", "--db", url)
    assert sweep_of(first.out) in listed.out
    assert "complete" in listed.out
    prefix = sweep_of(first.out)[:-4]
    both = kestrel("sweeps", "show", prefix, "--db", url)
    assert [line for line in both.out.splitlines() if line.startswith("│")] == table
    only = kestrel("sweeps", "show", prefix, "--where", "fast>5", "--db", url)
    rows = [line.split("│") for line in only.out.splitlines() if line.startswith("│")]
    assert [int(row[3]) for row in rows] == [10]  # the fast column
    assert guards[0] in only.out
    typo = kestrel("sweeps", "show", prefix, "--where", "fsat>5", "--db", url)
    assert_one_line_error(typo, "no parameter or metric 'fsat'", "did you mean 'fast'")
    missing = kestrel("sweeps", "show", "nope", "--db", url)
    assert_one_line_error(missing, "no sweep or walk-forward 'nope'")


def test_a_killed_sweep_resumed_ends_as_an_uninterrupted_one(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "fragile.py:Fragile")
    params = ["--param", "fast=2:25:1", "--param", "slow=30,60", "--constraint", "fast * 2 < slow"]
    killed_url = f"sqlite:///{tmp_path / 'killed.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KESTREL_TEST_TRIAL_SLEEP": "0.1"}
    command = [sys.executable, "-m", "engine.cli", "optimize", str(config), *params,
               "--db", killed_url, "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline and process.poll() is None:
        store = RunStore(killed_url)
        rows = SweepStore(store).list_sweeps()
        store.engine.dispose()
        count = rows[0]["trials"] if rows else 0
        if count >= 5:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its pool workers, at once
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    assert count >= 5
    resumed = kestrel("optimize", str(config), *params, "--db", killed_url, "--resume")
    assert resumed.code == 0, resumed.err
    sweep = sweep_of(resumed.out)
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = kestrel("optimize", str(config), *params, "--db", whole_url, "--workers", "2")
    assert whole.code == 0, whole.err
    assert sweep_of(whole.out) == sweep
    expected = stored_trials(whole_url, sweep)
    assert len(expected) == sum(1 for f in range(2, 26) for s in (30, 60) if f * 2 < s)
    assert stored_trials(killed_url, sweep) == expected
    guards = []
    for url in (killed_url, whole_url):
        store = RunStore(url)
        row = SweepStore(store).get_sweep(sweep)
        assert row is not None
        guards.append((row["status"], row["guards"]))
    assert guards[0] == guards[1]
    assert guards[0][0] == "complete"


def test_a_killed_optuna_sweep_resumed_ends_as_an_uninterrupted_one(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    pytest.importorskip("optuna")
    config = write_config(tmp_path, "fragile.py:Fragile")
    # 14 trials: 10 of TPE's random start-up, then 4 drawn from what it learnt
    params = ["--param", "fast=2:25:1", "--param", "slow=30:90:10", "--method", "optuna",
              "--trials", "14", "--seed", "3", "--constraint", "fast * 2 < slow"]  # fmt: skip
    killed_url = f"sqlite:///{tmp_path / 'killed.db'}"
    started = tmp_path / "started.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KESTREL_TEST_TRIAL_SLEEP": "0.3",
           "KESTREL_TEST_TRIAL_STARTED": str(started)}  # fmt: skip
    command = [sys.executable, "-m", "engine.cli", "optimize", str(config), *params,
               "--db", killed_url, "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip

    def begun() -> int:
        return len(started.read_text().splitlines()) if started.exists() else 0

    deadline = time.monotonic() + 120
    count, seen = 0, 0
    while time.monotonic() < deadline and process.poll() is None:
        store = RunStore(killed_url)
        rows = SweepStore(store).list_sweeps()
        store.engine.dispose()
        count = rows[0]["trials"] if rows else 0
        if count >= 5 and not seen:
            seen = begun()
        elif seen and begun() > seen:
            # a batch's trials have just begun their 0.3 s sleep: its points were all drawn
            # (the sampler is asked for a whole batch before any of it runs), so the kill
            # lands mid-batch, never in the milliseconds a batch is being asked
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    assert 5 <= count < 14
    resumed = kestrel(
        "optimize", str(config), *params, "--db", killed_url, "--workers", "2", "--resume"
    )
    assert resumed.code == 0, resumed.err
    sweep = sweep_of(resumed.out)
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = kestrel("optimize", str(config), *params, "--db", whole_url, "--workers", "2")
    assert whole.code == 0, whole.err
    expected = stored_trials(whole_url, sweep)
    assert len(expected) == 14
    assert len({json.dumps(t["params"], sort_keys=True) for t in expected}) > 10  # TPE moved on
    assert stored_trials(killed_url, sweep) == expected


def test_optuna_sweep_keeps_its_study_in_the_run_store(kestrel: CliRunner, tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    config = write_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "optimize", str(config), "--param", "fast=2:20:1", "--param", "slow=25:80:5",
        "--method", "optuna", "--trials", "8", "--seed", "1", "--workers", "2",
        "--constraint", "fast < slow - 10", "--db", url,
    )  # fmt: skip
    assert result.code == 0, result.err
    sweep = sweep_of(result.out)
    trials = stored_trials(url, sweep)
    assert len(trials) == 8
    study = optuna.load_study(study_name=sweep, storage=url)
    told = {t.number: t for t in study.trials}
    for trial in trials:
        assert told[trial["trial"]].params == trial["params"]  # type: ignore[index]
        if trial["status"] == "complete":
            assert told[trial["trial"]].values == [trial["value"]]  # type: ignore[index]


def test_two_objectives_use_nsga2_and_print_both(kestrel: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    config = write_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "optimize", str(config), "--param", "fast=2:20:2", "--param", "slow=30:90:10",
        "--method", "optuna", "--trials", "6", "--objective", "sharpe",
        "--objective", "max_drawdown", "--workers", "2", "--db", url,
    )  # fmt: skip
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if "rank" in line)
    assert "sharpe" in header
    assert "max_drawdo" in header
    trials = stored_trials(url, sweep_of(result.out))
    assert len(trials) == 6
    pareto = page_charts(result.out)["pareto"]["data"]
    scored = [t for t in trials if t["status"] == "complete" and t["value"] is not None]
    assert len(pareto[0]["x"]) == len(scored)
    front = list(zip(pareto[1]["x"], pareto[1]["y"], strict=True))
    assert front  # every front point is beaten by no trial on both objectives
    for x, y in front:
        assert not any(
            t["metrics"]["sharpe"] >= x
            and t["metrics"]["max_drawdown"] >= y  # type: ignore[index]
            and (t["metrics"]["sharpe"], t["metrics"]["max_drawdown"]) != (x, y)  # type: ignore[index]
            for t in scored
        )


def test_ctrl_c_keeps_the_finished_trials_and_exits_130(tmp_path: Path) -> None:
    config = write_config(tmp_path, "fragile.py:Fragile")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KESTREL_TEST_TRIAL_SLEEP": "0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "optimize", str(config), "--param", "fast=2:29:1",
         "--db", url, "--workers", "2"],
        cwd=REPO, env=env, start_new_session=True, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        store = RunStore(url)
        rows = SweepStore(store).list_sweeps()
        store.engine.dispose()
        if rows and rows[0]["trials"] >= 4:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted: sweep sweep_test-")
    assert "--resume" in lines[0]
    store = RunStore(url)
    sweeps = SweepStore(store)
    (row,) = sweeps.list_sweeps()
    kept = sweeps.trials(row["sweep_id"])
    assert f"its {len(kept)} finished trials are stored" in lines[0]
    assert 4 <= len(kept) < 39
    assert row["status"] == "interrupted"
    assert all(t["status"] == "complete" for t in kept)


@pytest.mark.postgres
def test_a_sweep_and_its_optuna_study_on_postgres(
    fresh_postgres: str, kestrel: CliRunner, tmp_path: Path
) -> None:
    optuna = pytest.importorskip("optuna")
    config = write_config(tmp_path, name="pg_sweep")
    result = kestrel(
        "optimize", str(config), "--param", "fast=2:20:2", "--param", "slow=30:90:10",
        "--method", "optuna", "--trials", "4", "--workers", "2", "--db", fresh_postgres,
    )  # fmt: skip
    assert result.code == 0, result.err
    sweep = sweep_of(result.out)
    store = RunStore(fresh_postgres)
    sweeps = SweepStore(store)
    try:
        trials = sweeps.trials(sweep)
        assert len(trials) == 4
        study = optuna.load_study(study_name=sweep, storage=fresh_postgres)
        assert sorted(t.number for t in study.trials) == sorted(t["trial"] for t in trials)
        row = sweeps.get_sweep(sweep)
        assert row is not None
        assert row["status"] == "complete"
        assert [s["sweep_id"] for s in sweeps.list_sweeps()] == [sweep]  # its own database
    finally:
        store.engine.dispose()


def test_a_sweep_on_changed_data_is_another_sweep_never_resumed(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # The sweep id hashed the config and the search, not the data: after the data file
    # changed, --resume added trials on the new data to those on the old and ranked the
    # mix as one sweep (found by an audit). The data's bytes are now in the id.
    data = tmp_path / "goog.csv"
    data.write_bytes((REPO / "data" / "GOOG.csv").read_bytes())
    config = tmp_path / "sweep.toml"
    config.write_text(
        f'[run]\nname = "changing"\n[[data]]\npath = "{data}"\nsymbol = "GOOG"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
        "params = { fast = 10, slow = 30 }\n"
    )
    args = ["optimize", str(config), "--param", "fast=5:10:5", "--workers", "1"]
    args += ["--db", f"sqlite:///{tmp_path}/k.db"]
    first = kestrel(*args)
    assert first.code == 0, first.err
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-200]) + "\n")  # the same file, 200 bars shorter
    again = kestrel(*args, "--resume")
    assert again.code == 0, again.err
    assert sweep_of(again.out) != sweep_of(first.out)
    url = f"sqlite:///{tmp_path}/k.db"
    assert len(stored_trials(url, sweep_of(first.out))) == 2
    assert len(stored_trials(url, sweep_of(again.out))) == 2


def test_a_random_budget_above_the_grid_says_the_whole_grid_runs(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Found by an audit: --trials 100 on an 11-point grid ran 11 trials without a word."""
    config = write_config(tmp_path)
    result = kestrel(
        "optimize", str(config), "--param", "fast=5:10:5", "--param", "slow=20,40",
        "--method", "random", "--trials", "100", "--db", f"sqlite:///{tmp_path / 'k.db'}",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        "warning: --trials 100 is more than the grid's 4 points: the random search runs "
        "each of them once (a grid search in random order)"
    ]
    assert "(4 trials)" in result.out


def test_a_kept_run_carries_the_sweeps_deflated_sharpe_everywhere(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Found by an audit: the sweep's guard said 0.9957 for the chosen trial, its kept run's
    report 96.61 % (N trials but the single-estimator variance) and its metrics.json and
    store row 0.99972 with trials 1 (not deflated at all)."""
    from engine.report.html import format_metric

    config = write_config(tmp_path)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "optimize", str(config), "--param", "fast=5:20:5", "--param", "slow=20:60:20",
        "--constraint", "fast < slow", "--db", url, "--keep-best", "2",
    )  # fmt: skip
    assert result.code == 0, result.err
    sweep = SweepStore(RunStore(url)).get_sweep(sweep_of(result.out))
    assert sweep is not None
    guard = sweep["guards"]["dsr"]
    kept = [line.split() for line in result.out.splitlines() if line.startswith("trial ")]
    assert len(kept) == 2
    values = []
    for words in kept:
        number, run_id, folder = int(words[1].rstrip(":")), words[3], Path(words[5])
        metrics = json.loads((folder / "metrics.json").read_text())
        stored = RunStore(url).get_run(run_id)
        assert stored is not None
        assert metrics["trials"] == guard["trials"] == stored["metrics"]["trials"]
        assert metrics["deflated_sharpe"] == stored["metrics"]["deflated_sharpe"]
        if number == sweep["guards"]["chosen"]:
            assert metrics["deflated_sharpe"] == guard["deflated_sharpe"]
            assert metrics["trials_sharpe_variance"] == guard["sharpe_variance"]
        shown = format_metric(metrics["deflated_sharpe"], "pct")
        assert f"Deflated Sharpe</th><td>{shown}</td>" in (folder / "report.html").read_text()
        again = kestrel("report", str(folder), "--out", str(tmp_path / f"{number}.html"))
        assert again.code == 0, again.err
        assert f"Deflated Sharpe</th><td>{shown}</td>" in (tmp_path / f"{number}.html").read_text()
        values.append(metrics["deflated_sharpe"])
    assert values[0] != values[1]  # each kept trial deflated as itself among the trials
