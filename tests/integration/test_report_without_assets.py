"""A report page moved or mailed without ``_assets/`` says in each chart box why it is empty.

Audit of the HTML reports, finding 6: the page loads plotly.js from the ``_assets/`` folder
beside the run folders; copied alone it drew nine empty chart boxes and said nothing. Now
each box holds one line naming the file it needs and the two ways out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from tests.integration.conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", f"--user-data-dir={profile}",
            "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless chromium")
def test_each_chart_box_says_what_it_needs_when_plotly_did_not_load(tmp_path: Path) -> None:
    config = tmp_path / "sma.toml"
    config.write_text(
        '[run]\nname = "mailed"\n[[data]]\n'
        f'path = "{REPO / "data/binance_BTC_USDT_1h_20201201_20210717.csv"}"\n'
        'symbol = "BTC/USDT"\nend = "2021-01-15"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
    )
    run = tmp_path / "runs" / "run"
    assert main(["backtest", str(config), "--no-db", "--out", str(run)]) == 0
    mailed = tmp_path / "mailed" / "report.html"
    mailed.parent.mkdir()
    shutil.copy(run / "report.html", mailed)  # the page alone, as an attachment
    dom = _dom(mailed, tmp_path / "profile")
    assert 'data-ready="1"' in dom
    boxes = re.findall(r'<div id="chart-[\w-]+"[^>]*>(.*?)</div>', dom, re.S)
    assert len(boxes) >= 7
    for text in boxes:
        assert "Chart not drawn: it needs " in text
        assert "_assets/plotly" in text
        assert "--self-contained" in text
