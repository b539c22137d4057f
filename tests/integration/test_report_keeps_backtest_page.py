"""`kestrel report RUN` without --out never replaces the page the backtest wrote.

Audit of the HTML reports, finding 8: the re-render overwrote the backtest's report.html,
which had the strategy's indicator lines (GOOG's SMA traces 1 -> 0), and its new note said
"the page the backtest wrote has them" about the page it had just replaced. Now the
re-render goes to report-rerender.html beside it, whose path is printed.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.cli import main
from tests.integration.conftest import REPO, CliRunner


def test_a_rerender_without_out_writes_beside_the_backtest_page(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    run = tmp_path / "runs" / "goog"
    config = REPO / "configs" / "sma_cross_goog.toml"
    store = f"sqlite:///{tmp_path / 'k.db'}"
    assert main(["backtest", str(config), "--db", store, "--out", str(run)]) == 0
    own = (run / "report.html").read_bytes()
    result = kestrel("report", str(run), "--db", store)
    assert result.code == 0, result.err
    assert (run / "report.html").read_bytes() == own  # the backtest's page, indicators and all
    rerender = run / "report-rerender.html"
    assert rerender.is_file()
    assert str(rerender) in result.out
    assert "the page the backtest wrote has them" in rerender.read_text()
    again = kestrel("report", str(run), "--db", store)  # the re-render is replaced, quietly
    assert again.code == 0, again.err
    assert (run / "report.html").read_bytes() == own
    run_id = json.loads((run / "run.json").read_text())["run_id"]
    deleted = kestrel("runs", "delete", run_id, "--yes", "--db", store)
    assert deleted.code == 0, deleted.err
    assert not run.exists()  # the re-render went with the run
