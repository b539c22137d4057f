"""The database password never reaches the terminal (``--db`` or ``KESTREL_DB_URL``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.persistence import RunStore
from tests.integration.conftest import CliRunner, assert_one_line_error

SECRET = "s3cr3t-Pw"


@pytest.mark.parametrize("where", ["--db", "env"])
def test_cli_never_prints_the_password(
    kestrel: CliRunner, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    bad = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test?connect_timeout=2"
    args = ["runs", "list"] + (["--db", bad] if where == "--db" else [])
    if where == "env":
        monkeypatch.setenv("KESTREL_DB_URL", bad)  # after the fixture cleared it
    result = kestrel(*args)
    assert_one_line_error(result, "***")
    assert SECRET not in result.err + result.out


@pytest.mark.postgres
def test_stored_in_line_masks_the_password(
    kestrel: CliRunner, fresh_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trust auth ignores the password, so a real run can be stored through such a URL."""
    with_password = fresh_postgres.replace("postgres@", f"postgres:{SECRET}@")
    monkeypatch.setenv("KESTREL_DB_URL", with_password)  # after the fixture cleared it
    made = kestrel("backtest", "configs/sma_cross_goog.toml", "--out", str(tmp_path / "h"))
    assert made.code == 0, made.err
    assert SECRET not in made.out + made.err
    database = fresh_postgres.rsplit("/", 1)[1]
    assert f"stored in: postgresql+psycopg://postgres:***@127.0.0.1:5432/{database}" in made.out
    run_id = json.loads((tmp_path / "h" / "run.json").read_text())["run_id"]
    assert RunStore(fresh_postgres).get_run(run_id) is not None  # stored through that URL
    missing = kestrel("runs", "show", "no-such-run-" + run_id)
    assert_one_line_error(missing, "postgres:***@")
    assert SECRET not in missing.err


MALFORMED = [
    f"postgresql+psycopg//postgres:{SECRET}@127.0.0.1:1/x",
    f"postgresql+psycopg:/postgres:{SECRET}@127.0.0.1:1/x",
    f"postgresql+psycopg:postgres:{SECRET}@127.0.0.1:1/x",
    f"postgresql+psycopg://postgres:{SECRET}@2024!@127.0.0.1:1/x",
]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize(
    "command",
    [["runs", "list"], ["runs", "show", "x"], ["report", "x"], ["runs", "gc"],
     ["runs", "delete", "x", "--yes"], ["backtest", "configs/sma_cross_goog.toml"]],
)  # fmt: skip
def test_a_malformed_url_is_one_line_without_any_piece_of_the_password(
    kestrel: CliRunner, url: str, command: list[str]
) -> None:
    result = kestrel(*command, "--db", url)
    assert_one_line_error(result, "***")
    assert SECRET not in result.err + result.out
    assert "2024!" not in result.err + result.out


def test_a_one_letter_password_does_not_garble_the_message(kestrel: CliRunner) -> None:
    """``p@ss`` parsed as password ``p``: every ``p`` became ``***`` and ``ss`` showed."""
    result = kestrel("runs", "list", "--db", "postgresql+psycopg://postgres:p@ss@127.0.0.1:1/x")
    assert_one_line_error(
        result, "cannot open run store 'postgresql+psycopg://***@127.0.0.1", "%40"
    )
    assert "ss@" not in result.err
    assert "op***en" not in result.err


@pytest.mark.postgres
def test_live_stop_line_masks_the_password(
    kestrel: CliRunner, fresh_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``live`` ended with "orders in <url>", the password in clear."""
    from tests.integration.test_live_cli import _args, _config

    monkeypatch.setenv("KESTREL_API_KEY", "key-5c1f9e")
    monkeypatch.setenv("KESTREL_API_SECRET", "secret-8d2a7b")
    url = fresh_postgres.replace("postgres@", f"postgres:{SECRET}@")
    args = _args(_config(tmp_path), tmp_path, "--live", "--max-bars", "3")
    args[args.index("--db") + 1] = url
    result = kestrel(*args)
    assert result.code == 0, result.err
    assert "orders in postgresql+psycopg://postgres:***@" in result.out
    assert SECRET not in result.out + result.err
