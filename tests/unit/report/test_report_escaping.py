"""User text in the HTML report cannot break out of where it is put.

A symbol, strategy path, parameter or config value is user text: in JSON islands
(``<script type="application/json">``) every ``<``, ``>`` and ``&`` is written as a
``\\u003c``-style escape, so nothing in it can open a comment or close the script
(``<!--<script>`` once left the rest of the page inside the island); in tables, titles
and the config dump it is HTML-escaped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from engine.config import parse_config
from engine.report.html import _json_island, render_report
from engine.runtime import run_backtest
from tests.unit.report.test_html_report import STRATEGY, make_frame

HOSTILE = "<!--<script>&amp;"


def hostile_run(tmp_path: Path) -> str:
    """Run the one-trade scripted strategy on a symbol full of markup; return its page."""
    module = tmp_path / "scripted.py"
    module.write_text(STRATEGY)
    config = parse_config(
        {
            "run": {"name": "hostile"},
            "account": {"initial_cash": 1_000.0},
            "data": [{"path": "<synthetic>", "symbol": HOSTILE}],
            "strategy": {"path": f"{module}:Scripted", "params": {"mode": "one"}},
        }
    )
    prices = np.linspace(100.0, 120.0, 48)
    result = run_backtest(config, frames=[make_frame(prices, symbol=HOSTILE)])
    return render_report(result, tmp_path / "r.html").read_text()


def test_json_island_escapes_every_markup_character() -> None:
    text = _json_island({"s": "<!--<script></script>&"})
    assert re.search(r"[<>&]", text) is None
    assert json.loads(text) == {"s": "<!--<script></script>&"}


def test_hostile_symbol_stays_inside_its_islands_and_cells(tmp_path: Path) -> None:
    page = hostile_run(tmp_path)
    islands = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S)
    assert len(islands) >= 8
    for island in islands:
        assert re.search(r"[<>&]", island) is None
        json.loads(island)
    trades = json.loads(islands[-1])
    assert trades["rows"][0][1] == HOSTILE  # the symbol cell, decoded intact
    # plotly reads tags in titles: the price axis is titled with the entity-escaped symbol
    figures = [json.loads(island) for island in islands[:-1]]
    price = next(f for f in figures if any(t.get("name") == "close" for t in f["data"]))
    assert price["layout"]["yaxis"]["title"]["text"] == "&lt;!--&lt;script&gt;&amp;amp;"
    # outside the islands the raw text never appears: only its HTML-escaped form
    outside = re.sub(r'<script type="application/json".*?</script>', "", page, flags=re.S)
    outside = re.sub(r"<script>.*?</script>", "", outside, flags=re.S)  # plotly and page script
    assert "<!--" not in outside
    assert outside.count("&lt;!--&lt;script&gt;&amp;amp;") >= 3  # header, provenance, config
    # the page's own script still closes: the last thing on the page is the page script
    assert page.rstrip().endswith("</script></body></html>")
