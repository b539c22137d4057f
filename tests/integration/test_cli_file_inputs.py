"""A file named on the command line or in a config that is no file (an audit).

Each is one line on stderr and exit 2 that says what the name is: a folder ("is a folder,
not a file"), nothing at all ("is empty") or a missing file — never "does not exist" for a
folder, nor the config's own folder for an empty config key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

BTC = REPO / "configs" / "sma_cross_btc.toml"
EUR = REPO / "configs" / "sma_cross_eurusd_eur_account.toml"


def test_data_inspect_of_a_folder_says_it_is_a_folder(kestrel: CliRunner) -> None:
    result = kestrel("data", "inspect", str(REPO / "data"))
    assert_one_line_error(result, "data file", "is a folder, not a file")


def test_data_inspect_of_an_empty_name_says_it_is_empty(kestrel: CliRunner) -> None:
    assert_one_line_error(kestrel("data", "inspect", ""), "data file: the path is empty")


def test_a_benchmark_that_is_a_folder_says_so(kestrel: CliRunner, tmp_path: Path) -> None:
    run, page = tmp_path / "run", tmp_path / "r.html"
    assert kestrel("backtest", str(BTC), "--no-db", "--out", str(run)).code == 0
    result = kestrel("report", str(run), "--out", str(page), "--benchmark", str(REPO / "data"))
    assert_one_line_error(result, "benchmark file", "is a folder, not a file")
    assert not page.exists()


def test_an_exchange_replay_source_that_is_a_folder_says_so(kestrel: CliRunner) -> None:
    result = kestrel("exchange", "serve", str(REPO / "data"))
    assert_one_line_error(result, "replay source", "is a folder, not a file")


@pytest.mark.parametrize(
    ("config", "setting", "key"),
    [
        (BTC, 'data.0.funding=""', "data.0: funding"),
        (BTC, 'data.0.funding=" "', "data.0: funding"),
        (EUR, 'fx.0.path=""', "fx.0: path"),
    ],
)
def test_an_empty_file_key_says_the_path_is_empty_not_that_a_folder_is_one(
    kestrel: CliRunner, tmp_path: Path, config: Path, setting: str, key: str
) -> None:
    result = kestrel(
        "backtest", str(config), "--no-db", "--out", str(tmp_path / "o"), "--set", setting
    )
    assert_one_line_error(result, key, "is empty")
    assert "folder" not in result.err


def test_a_config_saved_with_a_byte_order_mark_runs(kestrel: CliRunner, tmp_path: Path) -> None:
    text = (REPO / "configs" / "sma_cross_goog.toml").read_text()
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf" + text.replace('"data/', f'"{REPO}/data/').encode())
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "o"))
    assert result.code == 0, result.err


@pytest.mark.parametrize("command", ["backtest", "warmup"])
def test_a_data_file_given_as_the_config_says_give_the_run_config(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    data = REPO / "data" / "GOOG.csv"
    extra = ["--no-db", "--out", str(tmp_path / "o")] if command == "backtest" else []
    result = kestrel(command, str(data), *extra)
    assert_one_line_error(result, "looks like a data file", "run config (.toml)")
    assert result.err.count("GOOG.csv") == 1, result.err  # named once
    assert "invalid TOML" not in result.err
