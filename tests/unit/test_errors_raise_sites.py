"""Every place that raised the bare `KestrelError` now raises its group (issue 12).

Each former bare raise is driven twice: through the function that raises it, asserting the
class and the message, and through the ``kestrel`` command that reaches it, asserting the
group's exit code and the single ``error: …`` line on stderr. The AST scan at the end fails
on any ``raise KestrelError`` left in engine/, so the base cannot come back by mistake.
"""

from __future__ import annotations

import ast
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

import engine.runtime
from engine import cli, cli_exchange, cli_report
from engine.errors import (
    DataError,
    InternalError,
    Interrupted,
    OutputPathError,
    PluginError,
    QueryError,
    RunLookupError,
    UsageError,
)
from engine.persistence import RunStore
from engine.report import export
from engine.report.data import ReportData
from engine.report.export import export_run
from engine.report.run_folder import MANIFEST, check_complete, prepare_output
from tests.unit.persistence.test_persistence_store import equity_row, run_row

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
GOOG_CONFIG = ROOT / "configs" / "sma_cross_goog.toml"
GOOG_DATA = ROOT / "data" / "GOOG.csv"


def kestrel(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in-process; return its exit code and stderr."""
    capsys.readouterr()
    code = cli.main(list(args))
    return code, capsys.readouterr().err


def assert_one_line(err: str, start: str) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith(start), err
    assert "Traceback" not in err


# --- run lookups: RunLookupError -------------------------------------------------------------


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A SQLite store holding runs ``unit-a-1`` and ``unit-a-2`` (an ambiguous prefix)."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url)
    for run_id in ("unit-a-1", "unit-a-2"):
        store.save_run(
            run_row(run_id, "2030-01-01T00:00:00+00:00"),
            order_rows=[],
            fill_rows=[],
            trade_rows=[],
            equity_rows=[equity_row(1)],
        )
    store.engine.dispose()
    return url


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" ", "error: an empty run id names no run; see `kestrel runs list`"),
        ("nope", "error: no run 'nope' in sqlite:///"),
        ("unit-a-2x", "error: no run 'unit-a-2x' in sqlite:///"),  # did you mean, see below
        ("unit-a", "error: 'unit-a' matches 2 runs: unit-a-1, unit-a-2; give more of the id"),
    ],
)
def test_a_run_id_that_names_no_single_run_is_a_run_lookup_error(
    text: str, message: str, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RunLookupError, match=message.removeprefix("error: ")[:20]):
        RunStore(store_url).resolve_id(text)
    code, err = kestrel(capsys, "runs", "show", text, "--db", store_url)
    assert code == 2
    assert_one_line(err, message)
    if text in {"nope", "unit-a-2x"}:
        hint = " (did you mean 'unit-a-2'?)" if text == "unit-a-2x" else ""
        assert err.endswith(f"runs.db{hint}; see `kestrel runs list`\n"), err


def test_an_empty_report_target_is_a_run_lookup_error(capsys: pytest.CaptureFixture[str]) -> None:
    message = "an empty name names no run: give a run folder or a run id"
    with pytest.raises(RunLookupError, match=message):
        cli_report.report(target="")
    code, err = kestrel(capsys, "report", "")
    assert code == 2
    assert_one_line(err, f"error: {message}\n")


def run_folder(folder: Path, run_id: str = "r1", files: tuple[str, ...] = ("config.toml",)) -> Path:
    """Write a minimal complete run folder: a manifest and the files it lists that exist."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text("")
    manifest = {"complete": True, "files": list(files), "run_id": run_id}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(
    ("case", "expected", "message"),
    [
        ("empty", None, "holds no complete run (interrupted, still being written"),
        ("replaced", "r2", "now holds run r1, not r2 (its files were replaced"),
        ("missing", None, "is missing equity.csv; restore the files or run the backtest again"),
        ("tampered", None, "names run id '../evil', which is not a safe file name"),
    ],
)
def test_a_folder_without_the_complete_run_is_a_run_lookup_error(
    case: str,
    expected: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "run"
    if case == "empty":
        folder.mkdir()
    elif case == "missing":
        run_folder(folder, files=("config.toml", "equity.csv"))
    elif case == "tampered":  # a legacy folder (no manifest) whose run.json was edited
        folder.mkdir()
        (folder / "config.toml").write_text("")
        (folder / "run.json").write_text(json.dumps({"run_id": "../evil"}))
    else:
        run_folder(folder)
    with pytest.raises(RunLookupError, match=message[:30].replace("(", r"\(")):
        check_complete(folder, expected)
    if expected is None:  # the CLI checks a folder for any run; a stored run id for its own
        code, err = kestrel(capsys, "report", str(folder))
        assert code == 2
        assert_one_line(err, "error: ")
        assert message in err


def test_a_folder_without_equity_is_not_a_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(tmp_path / "run")  # complete by its manifest, but no equity.csv
    with pytest.raises(RunLookupError, match="is not a run folder"):
        ReportData.from_dir(folder)
    code, err = kestrel(capsys, "report", str(folder))
    assert code == 2
    assert_one_line(err, f"error: {folder} is not a run folder (no config.toml/equity.csv); ")


# --- runs queries: QueryError ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--where", "sharpe"), "--where 'sharpe': expected METRIC OP NUMBER"),
        (("--where", "sharpe>1.2.3"), "--where 'sharpe>1.2.3': '1.2.3' is not a number"),
        (("--sort", "sharpx"), "unknown field 'sharpx': not a column, metric or strategy param"),
    ],
)
def test_a_runs_query_that_cannot_be_read_is_a_query_error(
    args: tuple[str, str], message: str, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    option: dict[str, Any] = {"where": [args[1]]} if args[0] == "--where" else {"sort": args[1]}
    with pytest.raises(QueryError, match=message[:12]):
        cli_report.runs_list(db=store_url, **option)  # parse_condition / RunStore.query_runs
    code, err = kestrel(capsys, "runs", "list", *args, "--db", store_url)
    assert code == 2
    assert_one_line(err, f"error: {message}")


# --- command lines: UsageError ---------------------------------------------------------------


def test_comparing_one_run_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    message = "runs compare needs at least two runs, got 1: give two or more run folders"
    with pytest.raises(UsageError, match=message):
        cli_report.runs_compare(targets=["x"])
    code, err = kestrel(capsys, "runs", "compare", "x")
    assert code == 2
    assert_one_line(err, f"error: {message}")


def test_deleting_without_yes_off_a_terminal_is_a_usage_error(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: nobody to ask
    message = "runs delete asks for confirmation: pass --yes to delete"
    with pytest.raises(UsageError, match=message):
        cli_report.runs_delete(targets=["unit-a-1"], db=store_url)
    code, err = kestrel(capsys, "runs", "delete", "unit-a-1", "--db", store_url)
    assert code == 2
    assert_one_line(err, f"error: {message}\n")
    assert RunStore(store_url).get_run("unit-a-1") is not None  # nothing was deleted


# --- missing inputs: DataError ---------------------------------------------------------------


def test_a_missing_data_file_is_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "GOOG.cvs"
    (tmp_path / "GOOG.csv").write_text("")
    message = f"data file {str(missing)!r} does not exist (did you mean '{tmp_path / 'GOOG.csv'}'?)"
    with pytest.raises(DataError, match="does not exist"):
        cli.data_inspect(file=str(missing))
    code, err = kestrel(capsys, "data", "inspect", str(missing))
    assert code == 2
    assert_one_line(err, f"error: {message}\n")


def test_a_missing_benchmark_file_is_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = run_folder(tmp_path / "run")
    missing = tmp_path / "SPY.csv"
    with pytest.raises(DataError, match=r"benchmark file .* does not exist"):
        cli_report.report(target=str(folder), benchmark=missing)
    code, err = kestrel(capsys, "report", str(folder), "--benchmark", str(missing))
    assert code == 2
    assert_one_line(err, f"error: benchmark file {str(missing)!r} does not exist\n")


def test_a_missing_catalog_is_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog"
    message = f"no catalog at {catalog}; fill it with `kestrel data download`"
    with pytest.raises(DataError, match="no catalog at"):
        cli_exchange.data_list(catalog=catalog)
    code, err = kestrel(capsys, "data", "list", "--catalog", str(catalog))
    assert code == 2
    assert_one_line(err, f"error: {message}\n")


# --- output paths: OutputPathError -----------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("file", "is a file, not a folder; give another path"),
        ("under_file", "is a file, so no folder can be made under it"),
        ("not_writable", "is not writable; give a folder you can write to"),
        ("not_empty", "is not empty (mine.txt) and is not a previous run's folder; choose"),
    ],
)
def test_an_unusable_output_folder_is_an_output_path_error(
    case: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "afile").write_text("")
    out = {"file": tmp_path / "afile", "under_file": tmp_path / "afile" / "run"}.get(
        case, tmp_path / "out"
    )
    if case == "not_writable":  # the tests run as root, whom os.access never refuses
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode: access(path, mode) and Path(path) != tmp_path
        )
    if case == "not_empty":
        out.mkdir()
        (out / "mine.txt").write_text("")
        with pytest.raises(OutputPathError, match=r"is not empty \(mine.txt\)"):
            prepare_output(out)
    else:
        with pytest.raises(OutputPathError, match=message[:20]):
            cli._check_writable(out, f"--out {str(out)!r}")
    if case == "file":
        with pytest.raises(OutputPathError, match="is a file, not a folder; give another path"):
            prepare_output(out)
    code, err = kestrel(capsys, "backtest", str(GOOG_CONFIG), "--no-db", "--out", str(out))
    assert code == 2
    assert_one_line(err, f"error: --out {str(out)!r}")
    assert message in err
    kept = [tmp_path / "afile", *([out] if case == "not_empty" else [])]
    assert sorted(tmp_path.iterdir()) == sorted(kept)  # nothing was created
    if case == "not_empty":
        assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_failing_to_write_the_artifacts_is_an_output_path_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli, "_run_with_progress", lambda config: object())  # no real run
    monkeypatch.setattr(engine.runtime, "finish_run", refuse)  # imported by the command
    out = tmp_path / "out"
    with pytest.raises(OutputPathError, match="Permission denied; give --out a folder"):
        cli.backtest(config=GOOG_CONFIG, out=out, no_db=True)
    code, err = kestrel(capsys, "backtest", str(GOOG_CONFIG), "--no-db", "--out", str(out))
    assert code == 2
    assert_one_line(
        err,
        f"error: cannot write the run's artifacts under {str(out)!r}: Permission denied; "
        "give --out a folder you can write to\n",
    )


# --- exports: DataError, PluginError, and InternalError where a check above cannot fail ----


def export_folder(tmp_path: Path, data: Path, strategy: dict[str, str] | None = None) -> Path:
    """A complete run folder whose config reads ``data`` (and run.json names ``strategy``)."""
    folder = run_folder(tmp_path / "r1", files=("config.toml", "run.json"))
    (folder / "config.toml").write_text(f'[[data]]\nsymbol = "GOOG"\npath = "{data}"\n')
    (folder / "run.json").write_text(json.dumps({"run_id": "r1", "strategy": strategy}))
    return folder


@pytest.mark.parametrize(
    ("case", "group", "code", "message"),
    [
        (
            "data_missing",
            DataError,
            2,
            "error: cannot include data for GOOG: file not found; restore it or export without "
            "--include-data",
        ),
        ("data_hidden", DataError, 2, "error: data file '"),
        ("strategy_edited", PluginError, 2, "error: cannot include the strategy: "),
    ],
)
def test_an_export_that_cannot_include_its_inputs_names_the_input(
    case: str,
    group: type[Exception],
    code: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / ("missing.csv" if case == "data_missing" else ".goog.csv")
    if case != "data_missing":
        data.write_text(GOOG_DATA.read_text())
    strategy = None
    if case == "strategy_edited":
        data = data.rename(tmp_path / "goog.csv")
        source = tmp_path / "mine.py"
        source.write_text("class Mine: ...\n")
        strategy = {"class": "mine:Mine", "source": str(source), "sha256": "0" * 64}
    folder = export_folder(tmp_path, data, strategy)
    with pytest.raises(group, match=message.removeprefix("error: ")[:20]):
        export_run(folder, tmp_path / "r1.zip", include_data=True)
    code_seen, err = kestrel(capsys, "runs", "export", str(folder), "--include-data")
    assert code_seen == code
    assert_one_line(err, message)
    if case == "data_hidden":
        assert err.endswith("has no usable file name; rename it or export without --include-data\n")
    assert not list(tmp_path.rglob("*.zip"))


@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        ("../evil", "run id '../evil' is not a safe file name"),
        ("a/../b", "refusing to write zip entry 'a/../b/config.toml': not inside a/../b/"),
    ],
)
def test_an_unsafe_run_id_past_the_folder_checks_is_an_internal_error(
    run_id: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`check_complete` and `is_safe_run_id` never let these through; break them to see."""
    folder = run_folder(tmp_path / "r1")
    monkeypatch.setattr(export, "check_complete", lambda folder: (run_id, ["config.toml"]))
    if run_id == "a/../b":  # past the first check too: the zip-entry check is the last guard
        monkeypatch.setattr(export, "is_safe_run_id", lambda text: True)
    with pytest.raises(InternalError, match=message[:24]):
        export_run(folder, tmp_path / "x.zip")
    code, err = kestrel(capsys, "runs", "export", str(folder), "--out", str(tmp_path / "x.zip"))
    assert code == 70
    assert_one_line(err, "error: internal error: ")
    assert message in err
    assert "please report it" in err
    assert not list(tmp_path.rglob("*.zip"))


# --- Ctrl-C in a download: Interrupted, exit 130 ---------------------------------------------


def test_ctrl_c_in_a_download_is_interrupted_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(request: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_exchange, "_download_with_progress", stop)
    args = ["--exchange", "binance", "--symbols", "BTC/USDT", "--timeframe", "1h"]
    args += ["--since", "2021-01-01", "--catalog", str(tmp_path)]
    message = (
        f"download stopped; every page fetched so far is stored in {tmp_path}: run the same "
        "command again to resume"
    )
    with pytest.raises(Interrupted, match="download stopped"):
        cli_exchange.data_download(
            exchange="binance",
            symbols="BTC/USDT",
            timeframe="1h",
            since="2021-01-01",
            catalog=tmp_path,
        )
    code, err = kestrel(capsys, "data", "download", *args)
    assert code == 130
    assert_one_line(err, f"interrupted: {message}\n")


# --- the bare base cannot be raised ----------------------------------------------------------


def bare_raises(source: str, module: str) -> list[str]:
    """Return ``module:line`` of every ``raise KestrelError`` (called or not, any prefix)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = raised.attr if isinstance(raised, ast.Attribute) else getattr(raised, "id", "")
        if name == "KestrelError":
            found.append(f"{module}:{node.lineno}")
    return found


def test_the_scan_finds_every_spelling_of_a_bare_raise() -> None:
    source = "\n".join(
        [
            "raise KestrelError('x')",
            "raise errors.KestrelError('x')",
            "raise engine.errors.KestrelError",
            "raise KestrelError",
            "raise ConfigError('x')",  # a group: fine
            "raise",  # a re-raise: fine
            "raise exc from KestrelError",  # the cause is not what is raised
            "raise KestrelErrorish('x')",
        ]
    )
    assert bare_raises(source, "m") == ["m:1", "m:2", "m:3", "m:4"]


def test_engine_never_raises_the_bare_base() -> None:
    sources = sorted(ENGINE.rglob("*.py"))
    assert len(sources) > 30
    found = [hit for path in sources for hit in bare_raises(path.read_text(), str(path))]
    assert found == []
