"""Every command that opens a run store answers a bad ``--db`` in one line, exit 2.

A port that is not a number (``…@127.0.0.1:notaport/x``) parses as a URL but fails when
SQLAlchemy reads the port: ``runs list`` and the other read commands said "internal error
ValueError: invalid literal for int()", exit 70 (``backtest`` already said "cannot open run
store", exit 2). An empty ``--db ""`` opened ``backtests/kestrel.db`` below the working
directory (``optimize``: the project's store): it is refused, one line, nothing created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = str(REPO / "configs" / "sma_cross_goog.toml")
PAPER = str(REPO / "configs" / "paper_btc.toml")
COMMANDS = [
    ["runs", "list"],
    ["runs", "show", "x"],
    ["runs", "compare", "x", "y"],
    ["runs", "export", "x"],
    ["runs", "delete", "x", "--yes"],
    ["runs", "gc"],
    ["report", "x"],
    ["sweeps", "list"],
    ["sweeps", "show", "x"],
    ["sweeps", "best", "x"],
    ["live-report", PAPER],
    ["paper", PAPER, "--replay", PAPER],
    ["backtest", CONFIG],
    ["optimize", CONFIG, "--param", "fast=5,6"],
    ["walkforward", CONFIG, "--param", "fast=5,6", "--in-sample", "500", "--out-of-sample", "100"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_port_that_is_not_a_number_is_one_line(kestrel: CliRunner, command: list[str]) -> None:
    result = kestrel(*command, "--db", "postgresql+psycopg://postgres:pw@127.0.0.1:notaport/x")
    assert_one_line_error(result, "cannot open run store", "notaport")
    assert ":pw@" not in result.err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_empty_db_is_one_line_and_creates_nothing(
    kestrel: CliRunner, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--db ""`` opened (and created) ``backtests/kestrel.db`` below the working directory:
    a read command made a store, a backtest saved to a store the project does not see."""
    monkeypatch.chdir(tmp_path)
    result = kestrel(*command, "--db", "")
    assert_one_line_error(result, "--db is empty")
    assert list(tmp_path.iterdir()) == []


def test_an_in_memory_store_is_refused_before_the_backtest_runs(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--out", str(out), "--db", "sqlite://"
    )
    assert_one_line_error(result, "in-memory SQLite", "--no-db")
    assert not out.exists()
