"""The walk-forward table names each window's first and last bar's days, not the day after.

A window's ``is_end``/``oos_end`` (walkforward.json, the store's row) is the close of its last
bar: for daily bars the next midnight, so ``[:10]`` printed Saturday 2006-08-12 for GOOG's
Friday 2006-08-11, and every window seemed to overlap the next (IS ... → 2007-10-23, OOS
2007-10-23 → ...). The printed ends are now those of `engine.report.csv_text.period_text`
(the report header's, commit 30eaa13); the JSON keeps the instants.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from engine.cli_optimize import print_walkforward
from engine.optimize.walkforward import plan_windows
from tests.integration.conftest import REPO, CliRunner

IN_SAMPLE, OUT_OF_SAMPLE = 500, 300
ROW = re.compile(r"│\s+(\d+) │ (\S+) → (\S+) │ (\S+) → (\S+) │")


def _printed(text: str) -> list[tuple[int, str, str, str, str]]:
    return [(int(m[1]), m[2], m[3], m[4], m[5]) for m in ROW.finditer(text)]


def test_printed_windows_end_on_their_last_bars_day(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(
        "walkforward", "configs/sma_cross_goog.toml", "--param", "fast=5:20:5",
        "--param", "slow=30:90:30", "--in-sample", str(IN_SAMPLE),
        "--out-of-sample", str(OUT_OF_SAMPLE), "--out", str(tmp_path / "wf"),
        "--db", f"sqlite:///{tmp_path / 'k.db'}",
    )  # fmt: skip
    assert result.code == 0, result.err
    days = pd.read_csv(REPO / "data" / "GOOG.csv").iloc[:, 0].tolist()  # one bar a day
    windows = plan_windows(len(days), IN_SAMPLE, OUT_OF_SAMPLE, "rolling")
    expected = [
        (w.index, days[w.is_first], days[w.is_stop - 1], days[w.is_stop], days[w.oos_stop - 1])
        for w in windows
    ]
    assert _printed(result.out) == expected
    assert expected[0] == (0, "2004-08-19", "2006-08-11", "2006-08-14", "2007-10-22")
    assert expected[-1] == (5, "2010-08-04", "2012-07-26", "2012-07-27", "2013-03-01")
    # the stored instants stay the closes: Friday's bar closes on Saturday at midnight
    stored = json.loads((tmp_path / "wf" / "walkforward.json").read_text())["windows"]
    assert (stored[0]["is_end"], stored[-1]["oos_end"]) == (
        "2006-08-12T00:00:00Z",
        "2013-03-02T00:00:00Z",
    )
    shown = kestrel("sweeps", "show", "sma_cross_goog-wf", "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert _printed(shown.out) == expected, shown.out + shown.err


def test_an_hourly_window_ending_at_midnight_ends_on_the_day_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    window = {
        "index": 0, "is_start": "2021-01-01T00:00:00Z", "is_end": "2021-01-03T00:00:00Z",
        "oos_start": "2021-01-03T00:00:00Z", "oos_end": "2021-01-04T01:00:00Z",
        "params": {"fast": 5}, "is_metrics": {"sharpe": 1.0}, "oos_metrics": {"sharpe": 0.5},
    }  # fmt: skip
    summary = {"windows": [window], "metrics": {}, "efficiency": None, "stability": {}}
    print_walkforward(summary, "sharpe")
    assert _printed(capsys.readouterr().out) == [
        (0, "2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04")
    ]
