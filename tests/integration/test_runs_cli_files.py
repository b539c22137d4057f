"""Issue 11: never lose a user's files or runs (``backtest --out``, ``runs delete|export``).

Every case puts a user's own files next to a run's and checks, byte for byte, that they
survive; ids read from files are never used as paths.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from engine.errors import OutputPathError, RunLookupError
from engine.persistence import RunStore
from engine.report.run_folder import (
    MANIFEST,
    WRITER,
    OutputPlan,
    check_complete,
    partial_folders,
    prepare_output,
    publish,
    remove_run_files,
    start_partial,
)
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

GOOG = "configs/sma_cross_goog.toml"
RUN_FILES = {
    "config.toml", "metrics.json", "trades.csv", "orders.csv", "fills.csv", "equity.csv",
    "events.csv", "run.json", "report.html", MANIFEST,
}  # fmt: skip


def user_project(root: Path) -> dict[str, bytes]:
    """Make a folder that looks like a user's project; return its files' contents."""
    files = {
        "data/my_prices.csv": b"ts,open\n1,2\n",
        "strategies/mine.py": b"print('my strategy')\n",
        "kestrel.db": b"not really a database",
        "notes.txt": b"do not lose me\n",
        "trades.csv": b"my own trades, not a run's\n",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


def assert_intact(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        assert (root / name).read_bytes() == content, name


def run_id_in(folder: Path) -> str:
    return str(json.loads((folder / "run.json").read_text())["run_id"])


def test_out_refuses_a_users_non_empty_folder(kestrel: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    files = user_project(project)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    refused = kestrel("backtest", GOOG, "--db", db, "--out", str(project))
    assert_one_line_error(refused, "is not empty", "--force")
    assert_intact(project, files)
    assert not (project / "config.toml").exists()
    assert RunStore(db).run_ids() == []  # refused before anything ran or was stored
    a_file = kestrel("backtest", GOOG, "--no-db", "--out", str(project / "notes.txt"))
    assert_one_line_error(a_file, "is a file")
    assert_intact(project, files)


def test_force_then_delete_removes_only_the_runs_files(kestrel: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    files = user_project(project)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    made = kestrel("backtest", GOOG, "--db", db, "--out", str(project), "--force")
    assert made.code == 0, made.err
    run_id = run_id_in(project)
    manifest = json.loads((project / MANIFEST).read_text())
    assert manifest["created_folder"] is False
    assert set(manifest["files"]) == RUN_FILES - {MANIFEST}
    assert "net_pnl" in (project / "trades.csv").read_text()  # --force replaced that one
    files.pop("trades.csv")
    done = kestrel("runs", "delete", run_id, "--db", db, "--yes")
    assert done.code == 0, done.err
    assert_intact(project, files)
    left = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert left == set(files)  # the run's files are gone, the user's stay
    assert RunStore(db).run_ids() == []


def test_out_dot_in_a_project_then_delete_keeps_the_project(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported disaster: ``--out .`` and ``runs delete`` emptied the project."""
    project = tmp_path / "project"
    files = user_project(project)
    files["data/GOOG.csv"] = (REPO / "data" / "GOOG.csv").read_bytes()  # the config reads it
    (project / "data" / "GOOG.csv").write_bytes(files["data/GOOG.csv"])
    config = REPO / GOOG
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.chdir(project)
    assert_one_line_error(kestrel("backtest", str(config), "--db", db, "--out", "."), "--force")
    monkeypatch.chdir(project)
    made = kestrel("backtest", str(config), "--db", db, "--out", ".", "--force")
    assert made.code == 0, made.err
    run_id = run_id_in(project)
    monkeypatch.chdir(project)
    done = kestrel("runs", "delete", run_id, "--db", db, "--yes")
    assert done.code == 0, done.err
    files.pop("trades.csv")  # replaced by the forced run, then removed as the run's
    assert_intact(project, files)
    assert project.is_dir()
    assert not [p for p in project.iterdir() if p.name.endswith(".partial")]


def test_a_previous_run_folder_is_reused_and_each_delete_is_precise(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert kestrel("backtest", GOOG, "--db", db, "--out", str(out)).code == 0
    first = run_id_in(out)
    again = kestrel("backtest", GOOG, "--db", db, "--out", str(out))
    assert again.code == 0, again.err  # a previous run's folder: no --force needed
    second = run_id_in(out)
    assert first != second
    assert json.loads((out / MANIFEST).read_text())["created_folder"] is True  # inherited
    # the first run's folder now holds the second: report refuses to show it as the first
    assert_one_line_error(kestrel("report", first, "--db", db), f"now holds run {second}")
    gone = kestrel("runs", "delete", first, "--db", db, "--yes")
    assert gone.code == 0, gone.err
    assert {p.name for p in out.iterdir()} == RUN_FILES  # not the first run's files any more
    assert kestrel("runs", "delete", second, "--db", db, "--yes").code == 0
    assert not out.exists()  # Kestrel created it and it is empty now


def test_empty_folder_given_by_the_user_is_kept(kestrel: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert kestrel("backtest", GOOG, "--db", db, "--out", str(out)).code == 0
    run_id = run_id_in(out)
    assert kestrel("runs", "delete", run_id, "--db", db, "--yes").code == 0
    assert out.is_dir()
    assert list(out.iterdir()) == []


def test_delete_refuses_empty_ambiguous_and_substring_ids(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    for name in ("a", "b"):
        assert kestrel("backtest", GOOG, "--db", db, "--out", str(tmp_path / name)).code == 0
    ids = sorted(RunStore(db).run_ids())
    assert_one_line_error(kestrel("runs", "delete", "", "--db", db, "--yes"), "empty")
    assert_one_line_error(kestrel("runs", "delete", "  ", "--db", db, "--yes"), "empty")
    ambiguous = kestrel("runs", "delete", "2", "--db", db, "--yes")
    assert_one_line_error(ambiguous, "matches 2 runs", ids[0], ids[1])
    assert_one_line_error(kestrel("runs", "delete", "sma_cross_goog", "--db", db, "--yes"))
    shown = kestrel("runs", "show", ids[0][:4], "--db", db)
    assert_one_line_error(shown, "matches 2 runs", ids[0], ids[1])
    assert sorted(RunStore(db).run_ids()) == ids  # nothing was deleted
    assert (tmp_path / "a" / "config.toml").is_file()
    assert (tmp_path / "b" / "config.toml").is_file()
    by_prefix = kestrel("runs", "delete", ids[0][:-3], "--db", db, "--yes")
    assert by_prefix.code == 0, by_prefix.err
    assert RunStore(db).run_ids() == [ids[1]]


@pytest.mark.parametrize(
    "command",
    [["runs", "show"], ["report"], ["runs", "compare", "X", "--html", "T/c.html"],
     ["runs", "export", "--out", "T/x.zip"]],
)  # fmt: skip
def test_every_lookup_takes_the_id_or_its_unique_beginning_never_a_substring(
    kestrel: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    """``runs show``, ``report``, ``runs compare`` and ``runs export`` took a unique substring
    (the README says "exact or a unique beginning", as ``runs delete`` does)."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert kestrel("backtest", GOOG, "--db", db, "--out", str(tmp_path / "a")).code == 0
    (run_id,) = RunStore(db).run_ids()
    args = [run_id if a == "X" else a.replace("T/", f"{tmp_path}/") for a in command]
    middle = kestrel(*args, run_id[4:], "--db", db)
    assert_one_line_error(middle, f"no run {run_id[4:]!r}", "give the run id or its beginning")
    beginning = kestrel(*args, run_id[:-3], "--db", db)
    assert beginning.code == 0, beginning.err


def test_a_legacy_folder_loses_only_its_artifacts(kestrel: CliRunner, tmp_path: Path) -> None:
    """A run written before manifests: run.json names it; only artifact names go."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    out = tmp_path / "legacy"
    assert kestrel("backtest", GOOG, "--db", db, "--out", str(out)).code == 0
    run_id = run_id_in(out)
    (out / MANIFEST).unlink()  # as the previous release left it
    (out / "mine.txt").write_text("user file")
    assert kestrel("runs", "delete", run_id, "--db", db, "--yes").code == 0
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_export_refuses_a_hostile_run_id(kestrel: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "run"
    assert kestrel("backtest", GOOG, "--no-db", "--out", str(folder)).code == 0
    # a legacy folder whose run.json was tampered with
    (folder / MANIFEST).unlink()
    info = json.loads((folder / "run.json").read_text())
    for hostile in ("../../evil", "/tmp/evil", "..", "a/../../b"):
        info["run_id"] = hostile
        (folder / "run.json").write_text(json.dumps(info))
        result = kestrel("runs", "export", str(folder))
        assert_one_line_error(result, "not a safe file name")
    # the run and its report's shared plotly.js, nothing else
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["_assets", "run"]
    assert not list(tmp_path.rglob("*.zip"))
    assert not (tmp_path / "evil.zip").exists()
    # a manifest with a hostile id is not a complete run at all
    info["run_id"] = "good-id"
    (folder / "run.json").write_text(json.dumps(info))
    names = sorted(p.name for p in folder.iterdir() if p.name in RUN_FILES)
    manifest = {"complete": True, "run_id": "../../evil", "files": names}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert_one_line_error(kestrel("runs", "export", str(folder)), "no complete run")
    (folder / MANIFEST).write_text(json.dumps({**manifest, "run_id": "ok", "files": ["../x"]}))
    assert_one_line_error(kestrel("runs", "export", str(folder)), "no complete run")
    assert not list(tmp_path.rglob("*.zip"))


def test_export_zips_only_the_runs_files(kestrel: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    files = user_project(project)
    assert kestrel("backtest", GOOG, "--no-db", "--out", str(project), "--force").code == 0
    run_id = run_id_in(project)
    target = tmp_path / "x.zip"
    result = kestrel("runs", "export", str(project), "--out", str(target))
    assert result.code == 0, result.err
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
    # the run's own files, the export's manifest and the strategy's source (run identity)
    assert names == {f"{run_id}/{name}" for name in RUN_FILES - {MANIFEST}} | {
        f"{run_id}/manifest.json",
        f"{run_id}/strategy/sma_cross.py",
    }
    assert not any("notes.txt" in n or "kestrel.db" in n for n in names)
    assert_intact(project, {k: v for k, v in files.items() if k != "trades.csv"})


def _partial_with(plan: OutputPlan, run_id: str) -> Path:
    partial = start_partial(plan, run_id)
    (partial / "config.toml").write_text(f"# {run_id}\n")
    (partial / "run.json").write_text(json.dumps({"run_id": run_id}))
    return partial


def test_two_runs_racing_for_one_new_out_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan_a, plan_b = prepare_output(out), prepare_output(out)  # both see no folder
    partial_a, partial_b = _partial_with(plan_a, "run-a"), _partial_with(plan_b, "run-b")
    publish(partial_a, plan_a, "run-a")
    publish(partial_b, plan_b, "run-b")  # the rename fails: replaces run-a's folder instead
    assert check_complete(out) == ("run-b", ["config.toml", "run.json"])
    assert (out / "config.toml").read_text() == "# run-b\n"
    assert json.loads((out / MANIFEST).read_text())["created_folder"] is True
    assert partial_folders(tmp_path) == []
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", MANIFEST, "run.json"]


def _killed_between_manifest_and_rename(out: Path, run_id: str) -> Path:
    """A new folder's partial as `publish` leaves it when killed after writing the
    manifest and before the rename that publishes it."""
    plan = prepare_output(out)
    partial = _partial_with(plan, run_id)
    (partial / MANIFEST).write_text(
        json.dumps({"complete": True, "created_folder": True, "files": ["config.toml",
                    "run.json"], "kestrel_run_manifest": 1, "run_id": run_id})
    )  # fmt: skip
    return partial


def test_a_run_killed_just_after_publishing_is_removed_with_its_writer_mark(
    tmp_path: Path,
) -> None:
    # A SIGKILL between the rename that publishes a new folder and the removal of the
    # folder's `.writer` mark leaves the mark inside; removing the run (runs gc or delete:
    # its store row never became complete) must take the mark too, not leave a folder
    # holding only `.writer` (found by test_runs_cli_crash's 'published' moment).
    out = tmp_path / "out"
    _killed_between_manifest_and_rename(out, "run-a").rename(out)  # killed before the mark went
    assert (out / WRITER).is_file()
    removed = remove_run_files(out, "run-a")
    assert not out.exists()
    assert set(removed) == {"config.toml", "run.json", MANIFEST, WRITER, str(out)}


def test_a_partial_folder_killed_before_its_rename_is_no_complete_run(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # The partial holds every file and a complete manifest (the rename is what publishes
    # it), but the run was never published nor committed: `kestrel report` on it wrote a
    # report.html there and exited 0 (test_runs_cli_crash's random kill hit the window).
    partial = _killed_between_manifest_and_rename(tmp_path / "out", "run-a")
    with pytest.raises(RunLookupError, match="holds no complete run"):
        check_complete(partial)
    for command in (["report"], ["runs", "export"], ["runs", "compare", str(partial)]):
        assert_one_line_error(kestrel(*command, str(partial)), "no complete run")
    assert sorted(p.name for p in partial.iterdir()) == [
        WRITER,
        "config.toml",
        MANIFEST,
        "run.json",
    ]


def test_a_partial_folder_killed_before_its_manifest_is_no_legacy_run(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # config.toml and run.json, a legacy run's files, are there before the manifest:
    # the folder must not pass for a run written before manifests existed.
    partial = _partial_with(prepare_output(tmp_path / "out"), "run-a")
    with pytest.raises(RunLookupError, match="holds no complete run"):
        check_complete(partial)
    assert_one_line_error(kestrel("report", str(partial)), "no complete run")
    assert not (partial / "report.html").exists()


def test_a_folder_published_then_killed_before_its_writer_mark_went_is_no_complete_run(
    tmp_path: Path,
) -> None:
    # Renamed into place, killed before the `.writer` mark was removed and the store row
    # committed: the row says 'writing' and `runs gc` removes the folder, so no command
    # may read it as a finished run meanwhile.
    out = tmp_path / "out"
    _killed_between_manifest_and_rename(out, "run-a").rename(out)
    assert (out / WRITER).is_file()
    with pytest.raises(RunLookupError, match="holds no complete run"):
        check_complete(out)
    (out / WRITER).unlink()  # what publish does next: the folder is then complete
    assert check_complete(out) == ("run-a", ["config.toml", "run.json"])


def test_a_user_folder_appearing_before_publish_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = prepare_output(out)
    partial = _partial_with(plan, "run-a")
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="is not empty"):
        publish(partial, plan, "run-a")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_delete_from_another_folder_finds_a_relative_out(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.chdir(tmp_path)
    data = f"data.0.path={REPO / 'data' / 'GOOG.csv'}"
    made = kestrel("backtest", str(REPO / GOOG), "--set", data, "--db", db, "--out", "rel")
    assert made.code == 0, made.err
    run_id = run_id_in(tmp_path / "rel")
    monkeypatch.chdir(REPO)
    done = kestrel("runs", "delete", run_id, "--db", db, "--yes")
    assert done.code == 0, done.err
    assert not (tmp_path / "rel").exists()


def test_runs_commands_find_the_projects_store_from_any_subfolder(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # backtest anchors backtests/ at the project root found from its config; runs/report
    # must find the same store from wherever they run (was: the working directory's)
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    config = project / "configs" / "goog.toml"
    config.write_text((REPO / GOOG).read_text().replace('"data/', f'"{REPO}/data/'))
    deep = project / "notebooks" / "scratch"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert kestrel("backtest", str(config)).code == 0
    assert (project / "backtests" / "kestrel.db").is_file()
    assert not (deep / "backtests").exists()
    for where in (deep, project, project / "configs"):
        monkeypatch.chdir(where)
        listed = kestrel("runs", "list")
        assert listed.code == 0, listed.err
        assert "sma_cross_goog" in listed.out
    assert not (project / "configs" / "backtests").exists()
