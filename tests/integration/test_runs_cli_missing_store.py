"""Commands that read the run store never create one: a mistyped ``--db`` is an error.

An audit found ``kestrel runs list --db sqlite:////tmp/typo/sub/kestrel.db`` printing "no
matching runs" with exit 0, after creating ``typo/sub/`` and an empty store in it (with
``/nonexistent/dir/x.db`` it created ``/nonexistent/dir``). A command that reads runs now
opens an SQLite store named by ``--db`` or ``$KESTREL_DB_URL`` only if its file exists,
and otherwise says so in one line (exit 2) and writes nothing. Commands that save runs
(backtest, optimize, paper, ...) still create their store, and the project's default
store (``backtests/kestrel.db``, Kestrel's own folder) is still created on first use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import CliRunner, assert_one_line_error

READERS = [
    ("runs", "list"),
    ("runs", "show", "abc"),
    ("runs", "compare", "abc", "def"),
    ("runs", "export", "abc"),
    ("runs", "delete", "abc", "--yes"),
    ("runs", "gc"),
    ("report", "abc"),
    ("sweeps", "list"),
    ("sweeps", "show", "abc"),
    ("sweeps", "best", "abc"),
]


@pytest.mark.parametrize("command", READERS, ids=[" ".join(c[:2]) for c in READERS])
def test_a_reading_command_refuses_a_store_that_does_not_exist(
    kestrel: CliRunner, tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "typo" / "sub" / "kestrel.db"
    result = kestrel(*command, "--db", f"sqlite:///{missing}")
    assert_one_line_error(result, "no run store at", str(missing))
    assert not (tmp_path / "typo").exists()


def test_the_environment_url_is_checked_the_same_way(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "runs.db"
    monkeypatch.setenv("KESTREL_DB_URL", f"sqlite:///{missing}")
    assert_one_line_error(kestrel("runs", "list"), "no run store at", "KESTREL_DB_URL")
    assert not missing.parent.exists()


def test_an_existing_empty_store_still_lists_no_runs(kestrel: CliRunner, tmp_path: Path) -> None:
    from engine.persistence import RunStore

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    RunStore(url).engine.dispose()  # created by a command that saves runs
    result = kestrel("runs", "list", "--db", url)
    assert result.code == 0, result.err
    assert "no matching runs" in result.out + result.err
