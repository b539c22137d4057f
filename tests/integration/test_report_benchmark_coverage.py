"""``--benchmark`` given the run's own data file covers the whole run (audit finding 9).

The benchmark's values were its bar closes, the first stamped at the first bar's close,
while the run starts at the first bar's open: the run's own file (GOOG.csv for
configs/sma_cross_goog.toml) was said to cover "2004-08-20 → 2013-03-02 only, not the
whole run (2004-08-19 → ...)", and was held at its first close over the first bar. A bar
file's value at its first open is that open: with it the same file covers the run and
reads what the page's buy & hold does. A benchmark that starts late or ends early still
gets the note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner
from tests.integration.report_page import metric, notes

GOOG = REPO / "data" / "GOOG.csv"
PARTIAL = "covers"


@pytest.fixture
def goog(kestrel: CliRunner, tmp_path: Path) -> Path:
    out = tmp_path / "goog"
    result = kestrel("backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    return out


def test_the_runs_own_file_as_benchmark_covers_the_run(kestrel: CliRunner, goog: Path) -> None:
    result = kestrel("report", str(goog), "--benchmark", str(GOOG))
    assert result.code == 0, result.err
    assert "warning" not in result.err, result.err
    page = (goog / "report-rerender.html").read_text()
    assert not any(PARTIAL in note for note in notes(page))
    own = (goog / "report.html").read_text()  # buy & hold of the same bars: same figures
    for label in ("Benchmark return", "Benchmark CAGR", "Beta", "Correlation"):
        assert metric(page, label) == metric(own, label), label
    assert metric(own, "Benchmark return") == "706.19%"


@pytest.mark.parametrize("keep", ["head", "tail"])
def test_a_benchmark_on_part_of_the_run_still_gets_the_note(
    kestrel: CliRunner, goog: Path, tmp_path: Path, keep: str
) -> None:
    rows = GOOG.read_text().splitlines()
    part = tmp_path / f"{keep}.csv"  # the header and the first or last 100 days only
    part.write_text("\n".join([rows[0], *(rows[1:101] if keep == "head" else rows[-100:])]) + "\n")
    result = kestrel("report", str(goog), "--benchmark", str(part))
    assert result.code == 0, result.err
    page = (goog / "report-rerender.html").read_text()
    (note,) = [note for note in notes(page) if PARTIAL in note]
    assert note.startswith(f"The benchmark {keep} covers ")
    assert "not the whole run (2004-08-19T00:00:00Z → " in note
    assert note in result.err
