"""The CLI end to end: happy paths with real sample data, and every bad input as one line.

Bad input must give exactly one line on stderr starting with ``error:``, exit code 2 and
no traceback; data gaps are warnings, not errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.persistence import RunStore
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

GOOD_ROWS = [
    "timestamp,open,high,low,close,volume",
    "2021-01-01T00:00:00Z,10,11,9,10.5,100",
    "2021-01-01T01:00:00Z,10.5,12,10,11.5,100",
    "2021-01-01T02:00:00Z,11.5,12,11,11.8,100",
    "2021-01-01T03:00:00Z,11.8,12.5,11.2,12.1,100",
]


def write_config(tmp_path: Path, data_path: Path, extra: str = "", strategy: str = "") -> Path:
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
[run]
name = "cli-test"
[[data]]
path = "{data_path.as_posix()}"
symbol = "X"
[strategy]
path = "{strategy or "strategies.sma_cross:SmaCross"}"
params = {{ fast = 2, slow = 3 }}
{extra}
"""
    )
    return config


def write_csv(tmp_path: Path, rows: list[str], name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def test_backtest_prints_summary_and_writes_artifacts(kestrel: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--out", str(tmp_path / "run"),
        "--db", f"sqlite:///{db}",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "final equity" in result.out
    assert "Sharpe" in result.out
    for name in ("config.toml", "metrics.json", "trades.csv", "orders.csv", "fills.csv",
                 "equity.csv", "run.json"):  # fmt: skip
        assert (tmp_path / "run" / name).is_file(), name
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["bars"] == 5482
    assert metrics["num_trades"] > 10
    # gaps in the sample data are reported as a warning, not an error
    assert "warning: BTC/USDT" in result.err
    assert "gaps" in result.err

    listed = kestrel("runs", "list", "--db", f"sqlite:///{db}")
    assert listed.code == 0
    assert "sma_cross" in listed.out
    run_id = json.loads((tmp_path / "run" / "run.json").read_text())["run_id"]
    shown = kestrel("runs", "show", run_id, "--db", f"sqlite:///{db}")
    assert shown.code == 0
    assert f"{metrics['final_equity']:,.2f}" in shown.out


def test_db_url_from_environment(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("KESTREL_DB_URL", f"sqlite:///{db}")
    assert (
        kestrel("backtest", "configs/sma_cross_goog.toml", "--out", str(tmp_path / "r")).code == 0
    )
    assert db.is_file()
    assert "sma_cross_goog" in kestrel("runs", "list").out


def test_strategies_list_shows_shipped_plugins(kestrel: CliRunner) -> None:
    result = kestrel("strategies", "list")
    assert result.code == 0
    assert "sma_cross" in result.out
    assert "strategies.sma_cross:SmaCross" in result.out


def test_data_inspect_reports_rows_range_and_gaps(kestrel: CliRunner) -> None:
    result = kestrel("data", "inspect", "data/binance_BTC_USDT_1h_20201201_20210717.csv")
    assert result.code == 0, result.err
    assert "5,482" in result.out
    assert "1h" in result.out
    assert "2020-12-01T00:00:00Z" in result.out
    assert "2021-07-17T20:00:00Z" in result.out
    assert "6 (11 missing bars" in result.out


def test_data_inspect_lists_problems_and_fails(kestrel: CliRunner, tmp_path: Path) -> None:
    bad = write_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]])
    result = kestrel("data", "inspect", str(bad))
    assert result.code == 2
    assert "problem:" in result.out
    assert_one_line_error(result, "problem")


BAD_DATA = {
    "unsorted": [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]],
    "duplicate": [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1], GOOD_ROWS[2]],
    "nan": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,10.5,NaN,10,11.5,100"],
    "inf": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,10.5,inf,10,11.5,100"],
    "negative": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,-10.5,12,10,11.5,100"],
    "high_below_low": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,10.5,9,10,9.5,100"],
    "high_below_close": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,10.5,11,10,11.5,1"],
    "not_a_number": [GOOD_ROWS[0], GOOD_ROWS[1], "2021-01-01T01:00:00Z,10.5,abc,10,11.5,100"],
    "bad_timestamp": [GOOD_ROWS[0], GOOD_ROWS[1], "yesterday,10.5,12,10,11.5,100"],
    "missing_column": ["timestamp,open,high,low,volume", "2021-01-01T00:00:00Z,10,11,9,100"],
    "empty": [GOOD_ROWS[0]],
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_one_line_exit_2(kestrel: CliRunner, tmp_path: Path, case: str) -> None:
    data = write_csv(tmp_path, BAD_DATA[case])
    result = kestrel("backtest", str(write_config(tmp_path, data)), "--no-db")
    assert_one_line_error(result, "bars.csv")


def test_missing_data_file(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel("backtest", str(write_config(tmp_path, tmp_path / "nope.csv")), "--no-db")
    assert_one_line_error(result, "nope.csv")


BAD_CONFIG = {
    "unknown_top_key": ("[zzz]\nmax = 1", "unknown key 'zzz'", "(valid: 'account', 'data'"),
    "misspelt_section": (
        '[strateg]\npath = "x"',
        "unknown key 'strateg'",
        "did you mean 'strategy'",
    ),
    "unknown_nested_key": (
        "[execution]\nfee_rat = 0.1",
        "unknown key 'execution.fee_rat'",
        "did you mean 'fee_rate'",
    ),
    "wrong_type": ('[execution]\nfee_rate = "high"', "execution.fee_rate", "expected a number"),
    "out_of_range": ("[execution]\nfee_rate = 2.0", "fee_rate must be in [0, 1)"),
    "bad_choice": (
        '[execution]\nmarket_fill = "next_opn"',
        "market_fill",
        "did you mean 'next_open'",
    ),
    "negative_cash": ("[account]\ninitial_cash = -5.0", "initial_cash must be in (0, 1e+15]"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIG))
def test_bad_config_is_one_line_exit_2(kestrel: CliRunner, tmp_path: Path, case: str) -> None:
    extra, *fragments = BAD_CONFIG[case]
    data = write_csv(tmp_path, GOOD_ROWS)
    result = kestrel("backtest", str(write_config(tmp_path, data, extra)), "--no-db")
    assert_one_line_error(result, *fragments)


def test_unknown_strategy(kestrel: CliRunner, tmp_path: Path) -> None:
    data = write_csv(tmp_path, GOOD_ROWS)
    config = write_config(tmp_path, data, strategy="sma_cros")
    assert_one_line_error(
        kestrel("backtest", str(config), "--no-db"), "unknown strategy 'sma_cros'", "sma_cross"
    )
    config = write_config(tmp_path, data, strategy="strategies.sma_cross:SmaCros")
    assert_one_line_error(kestrel("backtest", str(config), "--no-db"), "did you mean 'SmaCross'")
    config = write_config(tmp_path, data, strategy="strategies.nope:X")
    assert_one_line_error(kestrel("backtest", str(config), "--no-db"), "strategies.nope")


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("strategy.params.fast=40", ("slow (3) must be greater than fast (40)",)),
        ("strategy.params.fastt=4", ("strategy.params.fastt", "did you mean 'fast'")),
        ("strategy.params.fast=2.5", ("strategy.params.fast", "whole number")),
        ('strategy.params.fast="x"', ("strategy.params.fast",)),
        ("strategy.params.fast", ("expected key=value",)),
        ("data.5.path=x.csv", ("list index below 1",)),
    ],
)
def test_bad_parameters_via_set(
    kestrel: CliRunner, tmp_path: Path, override: str, fragments: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, write_csv(tmp_path, GOOD_ROWS))
    assert_one_line_error(
        kestrel("backtest", str(config), "--no-db", "--set", override), *fragments
    )


def test_missing_and_invalid_config_files(kestrel: CliRunner, tmp_path: Path) -> None:
    assert_one_line_error(kestrel("backtest", str(tmp_path / "none.toml")), "does not exist")
    broken = tmp_path / "broken.toml"
    broken.write_text("[run\nname=")
    assert_one_line_error(kestrel("backtest", str(broken)), "invalid TOML")


def test_usage_errors_and_unknown_run(kestrel: CliRunner, tmp_path: Path) -> None:
    assert_one_line_error(kestrel("backtest"), "Missing argument")
    assert_one_line_error(kestrel("backtest", "x.toml", "--bogus"), "--bogus")
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    RunStore(db).engine.dispose()  # an empty store (a missing file is refused: no store)
    assert_one_line_error(kestrel("runs", "show", "nope", "--db", db), "no run 'nope'")
    assert_one_line_error(kestrel("runs", "list", "--db", "nosuchdb://x"), "cannot open run store")
    bare = kestrel("runs", "list", "--db", "/tmp/x.db")  # a path, not a URL: says how
    assert_one_line_error(bare, "cannot open run store", "--db sqlite:////tmp/x.db")


def test_strategy_exception_is_one_line_with_location(kestrel: CliRunner, tmp_path: Path) -> None:
    plugin = tmp_path / "boom.py"
    plugin.write_text(
        "from engine.strategy import Strategy\n"
        "class Boom(Strategy):\n"
        "    def on_bar(self, ctx, bar):\n"
        "        if len(ctx.history(bar.symbol)) == 3:\n"
        "            raise ZeroDivisionError('bad math')\n"
    )
    data = write_csv(tmp_path, GOOD_ROWS)
    config = write_config(tmp_path, data, strategy=f"{plugin.as_posix()}:Boom").read_text()
    config_path = tmp_path / "boom.toml"
    config_path.write_text(config.replace("params = { fast = 2, slow = 3 }", ""))
    result = kestrel("backtest", str(config_path), "--no-db")
    assert_one_line_error(
        result, "ZeroDivisionError: bad math", "boom.py:5", "2021-01-01T03:00", code=3
    )  # 3: the strategy's code is at fault (engine.errors.exit_code)
    debug = kestrel("backtest", str(config_path), "--no-db", "--debug")
    assert debug.code == 3
    assert "Traceback" in debug.err


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "backtest", str(tmp_path / "missing.toml")],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: config file '{tmp_path / 'missing.toml'}' does not exist"
    ]


def test_progress_bar_on_a_terminal(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    result = kestrel("backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(tmp_path))
    assert result.code == 0, result.err
    assert "final equity" in result.out


def test_a_long_path_is_printed_on_one_line_when_piped(kestrel: CliRunner, tmp_path: Path) -> None:
    # rich folds at the console width (200 when piped): a folded path breaks a script's grep
    out = tmp_path / ("a_folder_with_a_long_name_" * 9) / "run"
    result = kestrel("backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    assert len(f"artifacts: {out}") > 200
    assert f"artifacts: {out}\n" in result.out
    assert f"report: {out / 'report.html'}\n" in result.out


def test_data_inspect_reads_a_catalog_file_at_its_timeframe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`data inspect catalog://…` said "data file 'catalog:/binance/…' does not exist"; a
    sparse catalog file (hours without trades are not served) is read at the path's 1h,
    not an inferred 2h that hides its missing hours (as 2c8c265 did for backtests)."""
    import pyarrow as pa

    from engine.feeds.catalog import CANDLE_SCHEMA, catalog_path, write_table

    t0 = 1_609_459_200_000  # 2021-01-01T00:00Z in ms
    hours = [0, 2, 4, 6, 8, 9]  # 1, 3, 5 and 7 had no trades
    rows = {
        "timestamp": [t0 + h * 3_600_000 for h in hours],
        **{name: [100.0] * len(hours) for name in ("open", "high", "low", "close")},
        "volume": [1.0] * len(hours),
    }
    path = catalog_path(tmp_path / "data" / "catalog", "binance", "BTC/USDT", "1h")
    write_table(path, pa.Table.from_pydict(rows, schema=CANDLE_SCHEMA))
    monkeypatch.chdir(tmp_path)  # data/catalog is looked up here, then under the project
    assert main(["data", "inspect", "catalog://binance/BTC/USDT/1h", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["timeframe"] == "1h"
    assert (report["rows"], report["gaps"]["count"], report["gaps"]["missing_bars"]) == (6, 4, 4)
    assert report["path"] == str(path)
