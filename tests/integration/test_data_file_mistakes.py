"""Data files that were misread, through the CLI: one `error:` line, exit 2, no run.

- A price file given as ``[[data]] funding`` booked its closes as funding rates (a 10,000
  account paid -110,240 and the run exited 0).
- A bar file with two columns named ``close`` was read from the first one; ``data inspect``
  listed ``close.1`` and said "problems 0".
- A folder given as the ``[[data]] path`` was called a missing file.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

GOOG = REPO / "data" / "GOOG.csv"


def _config(folder: Path, data: Path, extra: str = "") -> Path:
    config = folder / "run.toml"
    config.write_text(
        f'[[data]]\npath = "{data}"\nsymbol = "GOOG"\n{extra}\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\nparams = {}\n'
    )
    return config


def test_a_price_file_as_funding_is_refused(kestrel: CliRunner, tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2004-08-20,100,101,99,100,1000\n2004-08-23,100,101,99,100,1000\n"
    )
    config = _config(tmp_path, GOOG, f'funding = "{prices}"')
    out = tmp_path / "out"
    result = kestrel("backtest", str(config), "--no-db", "--out", str(out))
    assert_one_line_error(
        result,
        f"{prices}: a funding file needs a timestamp and a rate column; no column is named "
        "rate or funding_rate; the columns are timestamp, open, high, low, close, volume.",
    )
    assert not out.exists()


def test_two_close_columns_are_a_problem_for_backtest_and_inspect(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "timestamp,open,high,low,close,volume,close\n"
        "2021-01-01,1,2,0.5,1.5,10,99\n2021-01-02,1,2,0.5,1.5,10,99\n"
    )
    problem = f"{bars}: several columns are named close ('close', 'close'); keep exactly one."
    inspected = kestrel("data", "inspect", str(bars))
    assert_one_line_error(inspected, problem)
    assert "close.1" not in inspected.out
    result = kestrel(
        "backtest", str(_config(tmp_path, bars)), "--no-db", "--out", str(tmp_path / "out")
    )
    assert_one_line_error(result, problem)


def test_a_folder_as_the_data_path_is_called_a_folder(kestrel: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "GOOG.csv"
    folder.mkdir()
    result = kestrel(
        "backtest", str(_config(tmp_path, folder)), "--no-db", "--out", str(tmp_path / "out")
    )
    assert_one_line_error(result, f"{folder}: is a folder, not a file")
    assert "no such file" not in result.err
