"""A daily run's dates end on its last bar's day, on the page and in the summary.

Audit of the HTML reports, finding 10d: GOOG's page header (configs/sma_cross_goog.toml)
read "2004-08-19 → 2013-03-02", a Saturday: the end was the last bar's close, Friday's
bar closing at Saturday 00:00. The backtest's printed summary had the same "period".
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CliRunner
from tests.integration.report_page import period


def test_goog_ends_on_friday_2013_03_01(kestrel: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "goog"
    result = kestrel("backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    assert period((out / "report.html").read_text()) == "2004-08-19 → 2013-03-01"
    (row,) = [line for line in result.out.splitlines() if "period" in line]
    assert "2004-08-19 → 2013-03-01" in row, row
