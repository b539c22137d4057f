"""The HTML report in a real headless browser (Debian's chromium).

Checks: the page loads with no console message at all (the report logs nothing, so any
message is an error or a warning from plotly), every chart has drawn SVG elements, the
trades table is built and sorts, and a screenshot is saved under the test's tmp dir.
``make test`` installs chromium when it is missing; where it cannot be, the test is
skipped with a message saying so (with ``KESTREL_REQUIRE_BROWSER=1``, as in CI, it fails).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from engine.config import load_config, parse_config, read_toml
from engine.report.assets import INLINE
from engine.report.export import export_run
from engine.report.html import render_report
from engine.runtime import finish_run, run_backtest
from tests.integration.conftest import REPO

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1366,6000",
    "--virtual-time-budget=15000",
]


DRAWN = re.compile(
    r'class="(?:js-line|js-fill)"[^>]*d="M[^"]*L'  # a line or area with at least 2 points
    r'|<g class="point"><path d="M[^"]*V'  # a bar
    r'|<path class="point"[^>]*d="M'  # a marker
)


def chromium() -> str:
    """Return the chromium binary, or skip (fail under KESTREL_REQUIRE_BROWSER=1)."""
    found = next(
        (
            p
            for p in (
                "/usr/bin/chromium",
                shutil.which("chromium"),
                shutil.which("chromium-browser"),
            )
            if p and os.path.exists(p)
        ),
        None,
    )
    if found is None:
        message = (
            "chromium is not installed and could not be installed here "
            "(`make test` runs `apt-get install -y chromium` as root): browser test skipped"
        )
        if os.environ.get("KESTREL_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium with logging to stderr; return the finished process."""
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
               "--v=0", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_messages(stderr: str) -> list[str]:
    """Return the page's console messages chromium logged (``CONSOLE`` lines)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def chart_sections(dom: str) -> dict[str, str]:
    """Return each chart div's rendered markup, keyed by its id."""
    found = {}
    starts = [(m.group(1), m.start()) for m in re.finditer(r'<div id="(chart-[\w-]+)"', dom)]
    for number, (chart_id, start) in enumerate(starts):
        end = starts[number + 1][1] if number + 1 < len(starts) else len(dom)
        found[chart_id] = dom[start:end]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["shared", "self-contained", "exported"])
def test_report_renders_in_headless_chromium(tmp_path: Path, variant: str) -> None:
    """The page draws with plotly.js from ``../_assets/``, embedded, and from a zip."""
    binary = chromium()
    result = run_backtest(load_config(REPO / "configs" / "sma_cross_btc.toml"))
    plotly = INLINE if variant == "self-contained" else None
    _, folder = finish_run(result, out_dir=tmp_path / "runs" / "run", store=None, plotly=plotly)
    page = folder / "report.html"
    shared = '<script src="../_assets/' in page.read_text()
    assert shared == (variant != "self-contained")
    if variant == "exported":  # unzipped elsewhere, without the runs folder's _assets
        with zipfile.ZipFile(export_run(folder, tmp_path / "run.zip")) as archive:
            archive.extractall(tmp_path / "unzipped")
        page = next((tmp_path / "unzipped").glob("*/report.html"))
    url = page.resolve().as_uri()

    loaded = run_chromium(binary, tmp_path / "profile", "--dump-dom", url)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    dom = loaded.stdout
    assert 'data-ready="1"' in dom  # the page script ran to its end
    charts = chart_sections(dom)
    expected = {"chart-equity", "chart-drawdown", "chart-monthly", "chart-yearly",
                "chart-rolling", "chart-distribution", "chart-exposure", "chart-price0",
                "chart-excursions"}  # fmt: skip
    assert expected <= set(charts)
    for chart_id, markup in charts.items():
        assert 'class="main-svg"' in markup, chart_id
        # drawn data: line/area paths, bars, markers with geometry, or the heatmap's image
        drawn = DRAWN.search(markup) or '<g class="hm"><image' in markup
        assert drawn, f"{chart_id} has no drawn data elements"
    assert dom.count("<tr>") > result.metrics["num_trades"]  # trades table rows were built

    shot = tmp_path / "report.png"
    captured = run_chromium(binary, tmp_path / "profile2", f"--screenshot={shot}", url)
    assert captured.returncode == 0, captured.stderr[-2000:]
    assert console_messages(captured.stderr) == []
    assert shot.is_file()
    assert shot.stat().st_size > 50_000


@pytest.mark.slow
def test_comparison_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    from engine.report.compare import render_compare, run_series_from_dir

    binary = chromium()
    folders = []
    for name in ("sma_cross_btc", "sma_cross_goog"):
        result = run_backtest(load_config(REPO / "configs" / f"{name}.toml"))
        folders.append(finish_run(result, out_dir=tmp_path / name, store=None)[1])
    page = render_compare([run_series_from_dir(f) for f in folders], tmp_path / "compare.html")
    loaded = run_chromium(binary, tmp_path / "profile", "--dump-dom", page.resolve().as_uri())
    assert console_messages(loaded.stderr) == []
    markup = chart_sections(loaded.stdout)["chart-compare"]
    assert markup.count('class="js-line"') >= 2


def test_rendering_from_a_folder_matches_the_in_memory_page(tmp_path: Path) -> None:
    """Re-rendered from its files, a run's page has the same charts and data.

    Only the price chart differs: the strategy's indicator lines are known from an
    in-memory result only (`engine.report.data`). Compared chart by chart, since plotly.js
    (once 4.8 MB of each page) no longer hides a difference in a page-size ratio.
    """
    result = run_backtest(load_config(REPO / "configs" / "sma_cross_btc.toml"))
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    first = islands((folder / "report.html").read_text())
    again = islands(render_report(folder, tmp_path / "again.html").read_text())
    assert set(first) == set(again)
    for chart_id in sorted(set(first) - {"chart-price0"}):
        assert again[chart_id] == first[chart_id], chart_id
    indicators = {"sma(timeperiod=10)", "sma(timeperiod=30)"}
    first_traces = [trace.get("name") for trace in first["chart-price0"]["data"]]
    again_traces = [trace.get("name") for trace in again["chart-price0"]["data"]]
    assert [name for name in first_traces if name not in indicators] == again_traces


def islands(page: str) -> dict[str, Any]:
    """Return the page's chart figures (its JSON islands), keyed by chart id."""
    found = re.finditer(r'data-chart="([\w-]+)">(.*?)</script>', page, flags=re.S)
    return {m.group(1): json.loads(m.group(2)) for m in found}


# Written into the DOM once the page (and plotly's responsive relayout) has settled, so that
# --dump-dom shows the page's full width as the browser laid it out.
MEASURE = (
    "<script>window.addEventListener('load',function(){setTimeout(function(){"
    "document.body.dataset.scrollWidth=String(document.documentElement.scrollWidth);"
    "},1000);});</script></body></html>"
)


@pytest.mark.slow
def test_report_is_no_wider_than_a_1400px_window(tmp_path: Path) -> None:
    """The page fits a 1,400 px window: long paths, hashes and warnings wrap."""
    binary = chromium()
    # a deep absolute data path and the file's gap warnings: the provenance table's longest
    # cells (they once widened the page to 2,498 px)
    deep = tmp_path / ("a_rather_long_folder_name_" * 4) / "market_data_archive"
    deep.mkdir(parents=True)
    source = REPO / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
    data = deep / f"very_long_file_name_for_{source.name}"
    data.write_bytes(source.read_bytes())
    document = read_toml(REPO / "configs" / "sma_cross_btc.toml")
    document["data"][0]["path"] = str(data)
    result = run_backtest(parse_config(document, base_dir=REPO))
    assert result.frames[0].warnings  # the gap warning is in the provenance table
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    page = (folder / "report.html").read_text()
    assert str(data) in page
    measured = folder / "measured.html"  # beside report.html: its ../_assets/ link holds
    measured.write_text(page.replace("</body></html>", MEASURE))
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--window-size")]
    command = [binary, *flags, "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'p'}",
               "--dump-dom", measured.resolve().as_uri()]  # fmt: skip
    loaded = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r'data-scroll-width="(\d+)"', loaded.stdout)
    assert found, loaded.stderr[-2000:]
    assert int(found.group(1)) <= 1400
