"""``kestrel report`` and ``kestrel runs list|compare|export|delete`` on real stored runs."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import load_config
from engine.persistence import RunStore
from engine.runtime import finish_run, run_backtest
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

BTC_SHA256 = "3a293252e00c15d603aa164d4ce1e1876f999c03c1e9773f694ae5429455fc6e"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Store the BTC and GOOG demo runs in a fresh SQLite file; return ids, folders, URL."""
    root = tmp_path_factory.mktemp("runs")
    url = f"sqlite:///{root / 'runs.db'}"
    store = RunStore(url)
    found: dict[str, str] = {"url": url, "root": str(root)}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        for name in ("btc", "goog"):
            result = run_backtest(load_config(REPO / "configs" / f"sma_cross_{name}.toml"))
            run_id, folder = finish_run(result, out_dir=root / name, store=store)
            found[name] = run_id
            found[f"{name}_dir"] = str(folder)
    return found


def test_compare_prints_metrics_side_by_side(
    kestrel: CliRunner, stored: dict[str, str], tmp_path: Path
) -> None:
    page = tmp_path / "compare.html"
    result = kestrel(
        "runs", "compare", stored["btc"], stored["goog_dir"], "--db", stored["url"],
        "--html", str(page),
    )  # fmt: skip
    assert result.code == 0, result.err
    out = result.out
    assert stored["btc"] in out
    assert stored["goog"] in out
    btc = json.loads((Path(stored["btc_dir"]) / "metrics.json").read_text())
    goog = json.loads((Path(stored["goog_dir"]) / "metrics.json").read_text())
    line = next(line for line in out.splitlines() if "total return" in line)
    assert f"{btc['total_return'] * 100:.2f}%" in line
    assert f"{goog['total_return'] * 100:.2f}%" in line
    assert line.index(f"{btc['total_return'] * 100:.2f}%") < line.index(
        f"{goog['total_return'] * 100:.2f}%"
    )
    for label in ("Sharpe", "max drawdown", "trades", "win rate"):
        assert label in out
    text = page.read_text()
    assert text.count('"mode":"lines"') == 2  # one overlaid equity chart, two runs


def test_compare_needs_two_runs(kestrel: CliRunner, stored: dict[str, str]) -> None:
    result = kestrel("runs", "compare", stored["btc"], "--db", stored["url"])
    assert_one_line_error(result, "at least two")


def test_list_filters_and_sorting(kestrel: CliRunner, stored: dict[str, str]) -> None:
    db = ("--db", stored["url"])
    both = kestrel("runs", "list", *db)
    assert stored["btc"] in both.out
    assert stored["goog"] in both.out
    goog = kestrel("runs", "list", *db, "--symbol", "goog")
    assert stored["goog"] in goog.out
    assert stored["btc"] not in goog.out
    rich = kestrel("runs", "list", *db, "--where", "total_return>100%")
    assert stored["goog"] in rich.out
    assert stored["btc"] not in rich.out
    many = kestrel("runs", "list", *db, "--where", "num_trades>=100", "--where", "calmar>0")
    assert stored["btc"] in many.out
    assert stored["goog"] not in many.out
    ascending = kestrel("runs", "list", *db, "--sort", "total_return", "--asc")
    assert ascending.out.index(stored["btc"]) < ascending.out.index(stored["goog"])
    descending = kestrel("runs", "list", *db, "--sort", "total_return")
    assert descending.out.index(stored["goog"]) < descending.out.index(stored["btc"])
    by_strategy = kestrel("runs", "list", *db, "--strategy", "no_such_strategy")
    assert "no matching runs" in by_strategy.out
    future = kestrel("runs", "list", *db, "--since", "2200-01-01")
    assert "no matching runs" in future.out


def test_list_rejects_a_bad_condition(kestrel: CliRunner, stored: dict[str, str]) -> None:
    result = kestrel("runs", "list", "--db", stored["url"], "--where", "sharpe is big")
    assert_one_line_error(result, "--where", "METRIC OP NUMBER")


def test_report_by_run_id_prefix_and_by_folder(
    kestrel: CliRunner, stored: dict[str, str], tmp_path: Path
) -> None:
    folder = Path(stored["goog_dir"])
    (folder / "report.html").unlink()
    result = kestrel("report", stored["goog"][:30], "--db", stored["url"])
    assert result.code == 0, result.err
    assert (folder / "report-rerender.html").is_file()  # never the backtest's page's name
    out = tmp_path / "r.html"
    again = kestrel("report", str(folder), "--out", str(out), "--risk-free-rate", "0.02")
    assert again.code == 0, again.err
    assert "2.00%" in out.read_text()  # the risk-free rate row


def test_report_with_a_benchmark_file(
    kestrel: CliRunner, stored: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    result = kestrel(
        "report", stored["btc_dir"], "--out", str(out),
        "--benchmark", "data/binance_ETH_USDT_1h_20201201_20210717.csv",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "binance_ETH_USDT_1h_20201201_20210717" in out.read_text()  # legend name


def test_report_errors_are_one_line(kestrel: CliRunner, stored: dict[str, str]) -> None:
    assert_one_line_error(kestrel("report", "no-such-run", "--db", stored["url"]), "no-such-run")
    assert_one_line_error(kestrel("report", "2", "--db", stored["url"]), "matches 2 runs")


def test_export_then_reproduce(kestrel: CliRunner, stored: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "btc.zip"
    result = kestrel(
        "runs", "export", stored["btc"], "--db", stored["url"], "--out", str(target),
        "--include-data",
    )  # fmt: skip
    assert result.code == 0, result.err
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(f"{stored['btc']}/manifest.json"))
        archive.extractall(tmp_path / "unzipped")
    run_id = stored["btc"]
    for name in ("config.toml", "metrics.json", "equity.csv", "trades.csv", "report.html"):
        assert f"{run_id}/{name}" in names
    assert manifest["data"][0]["sha256"] == BTC_SHA256
    assert manifest["reproduce"] == f"kestrel backtest {run_id}/reproduce.toml"
    rerun = kestrel(
        "backtest", str(tmp_path / "unzipped" / run_id / "reproduce.toml"), "--no-db",
        "--out", str(tmp_path / "rerun"),
    )  # fmt: skip
    assert rerun.code == 0, rerun.err
    original = (Path(stored["btc_dir"]) / "metrics.json").read_text()
    assert (tmp_path / "rerun" / "metrics.json").read_text() == original
    for name in ("trades.csv", "fills.csv", "equity.csv"):
        assert (tmp_path / "rerun" / name).read_bytes() == (
            Path(stored["btc_dir"]) / name
        ).read_bytes()


def test_delete_removes_rows_and_its_own_folder(kestrel: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    made = kestrel(
        "backtest", "configs/sma_cross_goog.toml", "--db", url, "--out", str(tmp_path / "g")
    )
    assert made.code == 0, made.err
    run_id = RunStore(url).run_ids()[0]
    asked = kestrel("runs", "delete", run_id, "--db", url)
    assert_one_line_error(asked, "--yes")
    assert_one_line_error(kestrel("runs", "delete", "nope", "--db", url, "--yes"), "nope")
    done = kestrel("runs", "delete", run_id, "--db", url, "--yes")
    assert done.code == 0, done.err
    assert RunStore(url).run_ids() == []
    assert not (tmp_path / "g").exists()


def _stored_row(run_id: str, fast: int, sharpe: float, trades: int) -> dict[str, object]:
    return {
        "run_id": run_id, "name": "p", "strategy": "strategies.sma_cross:SmaCross",
        "symbols": "GOOG", "created_at": f"2026-01-0{fast % 9 + 1}T00:00:00+00:00",
        "start_ns": 0, "end_ns": 1, "bars": 10, "initial_cash": 100.0, "final_equity": 110.0,
        "total_return": 0.1, "sharpe": sharpe, "max_drawdown": -0.1, "num_trades": trades,
        "artifacts_dir": None,
        "config_toml": f'[strategy]\npath = "x:Y"\nparams = {{ fast = {fast}, slow = 30 }}\n',
        "metrics_json": json.dumps({"sharpe": sharpe, "calmar": fast / 10}),
    }  # fmt: skip


@pytest.fixture
def param_runs(tmp_path: Path) -> str:
    """Three stored runs (ids p5, p10, p20) differing in ``fast``, Sharpe and trades."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = RunStore(url)
    for fast, sharpe, trades in ((5, 0.5, 40), (10, 1.5, 20), (20, 1.2, 10)):
        store.save_run(
            _stored_row(f"p{fast}", fast, sharpe, trades),
            order_rows=[], fill_rows=[], trade_rows=[], equity_rows=[],
        )  # fmt: skip
    return url


def _listed(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line.startswith("│ p")]


def test_list_unknown_fields_get_did_you_mean(kestrel: CliRunner, param_runs: str) -> None:
    db = ("--db", param_runs)
    assert_one_line_error(kestrel("runs", "list", *db, "--where", "sharp>1"), "'sharp'", "sharpe")
    assert_one_line_error(kestrel("runs", "list", *db, "--sort", "sharp"), "'sharp'", "sharpe")
    assert_one_line_error(kestrel("runs", "list", *db, "--where", "fats>1"), "'fats'", "fast")
    assert_one_line_error(kestrel("runs", "list", *db, "--sort", "nonsense_field"), "nonsense")


def test_list_filters_and_sorts_by_trades_and_parameters(
    kestrel: CliRunner, param_runs: str
) -> None:
    db = ("--db", param_runs)
    assert _listed(kestrel("runs", "list", *db, "--where", "trades>=20").out) == ["p5", "p10"]
    assert _listed(kestrel("runs", "list", *db, "--where", "fast>5").out) == ["p20", "p10"]
    assert _listed(kestrel("runs", "list", *db, "--where", "params.fast==10").out) == ["p10"]
    by_fast = kestrel("runs", "list", *db, "--sort", "fast", "--asc")
    assert _listed(by_fast.out) == ["p5", "p10", "p20"]
    assert "fast" in by_fast.out.splitlines()[1]  # the sort column is shown
    assert _listed(kestrel("runs", "list", *db, "--sort", "trades").out) == ["p5", "p10", "p20"]
    assert _listed(kestrel("runs", "list", *db, "--sort", "sharpe").out) == ["p10", "p20", "p5"]
    by_metric = kestrel("runs", "list", *db, "--where", "calmar>0.6", "--sort", "calmar")
    assert _listed(by_metric.out) == ["p20", "p10"]


def test_list_on_an_empty_store_still_catches_typos(kestrel: CliRunner, tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'empty.db'}")
    RunStore(db[1]).engine.dispose()  # an empty store (a missing file is refused)
    assert_one_line_error(kestrel("runs", "list", *db, "--where", "sharp>1"), "sharpe")
    calmar = kestrel("runs", "list", *db, "--where", "calmar>1")  # a metric, no run yet
    assert calmar.code == 0, calmar.err
    assert "no matching runs" in calmar.out


def test_compare_reads_the_stored_curve_when_the_folder_has_moved(
    kestrel: CliRunner, stored: dict[str, str], tmp_path: Path
) -> None:
    """The store's equity blocks give the same comparison as the run's equity.csv."""
    db = ("--db", stored["url"])
    from_files = kestrel(
        "runs", "compare", stored["btc"], stored["goog"], *db, "--html", str(tmp_path / "a.html")
    )
    folder = Path(stored["btc_dir"])
    moved = folder.with_name(folder.name + "-moved")
    folder.rename(moved)
    try:
        from_store = kestrel(
            "runs",
            "compare",
            stored["btc"],
            stored["goog"],
            *db,
            "--html",
            str(tmp_path / "b.html"),
        )
    finally:
        moved.rename(folder)
    assert (from_files.code, from_store.code) == (0, 0), from_store.err
    assert from_store.out.replace("b.html", "a.html") == from_files.out
    assert (tmp_path / "b.html").read_bytes() == (tmp_path / "a.html").read_bytes()
