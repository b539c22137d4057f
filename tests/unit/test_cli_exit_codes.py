"""The CLI answers each error group with its exit code and one line (engine.errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.feeds
from engine import cli, errors

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "GOOG.csv"


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (errors.DataError("bad rows"), 2, "error: bad rows"),
        (errors.StoreOpenError("cannot open run store 'x'"), 2, "error: cannot open run store 'x'"),
        (errors.ExchangeInputError("binance: refused"), 2, "error: binance: refused"),
        (errors.StrategyError("X.on_bar raised"), 3, "error: X.on_bar raised"),
        (errors.ExchangeTransientError("gave up after 5 attempts"), 4, "error: gave up after 5"),
        (errors.ExchangeStateUnknownError("order sent, no answer"), 5, "error: order sent"),
        (errors.ExchangeFatalError("account suspended"), 5, "error: account suspended"),
        (errors.PersistenceError("the disk is full"), 6, "error: the disk is full"),
        (
            errors.InvalidStateTransition("order S1-1: filled -> accepted"),
            70,
            "error: internal error: order S1-1: filled -> accepted (rerun with --debug",
        ),
        (RuntimeError("oops"), 70, "error: internal error RuntimeError: oops (rerun with"),
        (errors.KestrelError("bare"), 70, "error: internal error: bare (rerun with --debug"),
        (errors.RunLookupError("no run 'x'"), 2, "error: no run 'x'"),
        (errors.OutputPathError("--out 'x' is a file"), 2, "error: --out 'x' is a file"),
        (errors.QueryError("unknown field 'x'"), 2, "error: unknown field 'x'"),
        (errors.UsageError("pass --yes"), 2, "error: pass --yes"),
        (errors.Interrupted("stopped; kept 3 pages"), 130, "interrupted: stopped; kept 3 pages"),
    ],
)
def test_each_group_exits_with_its_code_and_one_line(
    error: Exception,
    code: int,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(engine.feeds, "inspect_file", fail)  # imported by the command
    assert cli.main(["data", "inspect", str(DATA)]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(line), err
    assert "Traceback" not in err
