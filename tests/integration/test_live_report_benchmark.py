"""``kestrel live-report --benchmark FILE`` starts the benchmark at its first open.

Found hunting audit finding 9 (`tests/integration/test_report_benchmark_coverage.py`):
live-report passed the benchmark's closes alone, the first stamped one bar after the
file's first open, so a file covering the account from its creation was said to cover
part of it and its first bar's move was lost from the benchmark return.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import CliRunner
from tests.integration.report_page import notes
from tests.integration.test_live_crash import CONFIG
from tests.integration.test_live_report_cli import HOUR, ROWS, T0, _account


def test_a_benchmark_from_the_accounts_start_covers_it(kestrel: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "rep.toml"
    config.write_text(CONFIG.replace('name = "crash"', 'name = "rep"'))
    db, out = tmp_path / "k.db", tmp_path / "out"
    _account(db, ROWS)
    bench = tmp_path / "bench.csv"  # hourly bars from the account's creation (T0) on
    closes = [110.0, 120.0, 90.0, 100.0, 105.0, 108.0, 112.0, 115.0, 121.0]
    bench.write_text(
        "timestamp,open,high,low,close\n"
        + "".join(
            f"{(T0 + i * HOUR) // 1_000_000},{100.0 if i == 0 else closes[i - 1]},130,80,{c}\n"
            for i, c in enumerate(closes)
        )
    )
    result = kestrel(
        "live-report", str(config), "--db", f"sqlite:///{db}", "--out", str(out),
        "--benchmark", str(bench),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert not any("covers" in note for note in notes((out / "report.html").read_text()))
    metrics = json.loads((out / "metrics.json").read_text())
    # from the first open (100) to the close in effect at the last row (T0 + 8h: 115);
    # from the first close (110) it read 4.55 %
    assert metrics["benchmark_total_return"] == pytest.approx(0.15, rel=1e-12)
