"""Helpers for integration tests: run the real CLI in-process and capture its output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.cli import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    """Exit code and captured streams of one CLI invocation."""

    code: int
    out: str
    err: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def kestrel(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Return ``run(*args)`` that invokes ``kestrel`` from the repository root."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("KESTREL_DB_URL", raising=False)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def assert_one_line_error(result: CliResult, *fragments: str, code: int = 2) -> None:
    """Assert the exit code (2: input to fix; see `engine.errors.exit_code` for the other
    groups) and exactly one stderr line starting with 'error:'."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code == code, (result.code, result.err)
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
