"""A ruined account's return charts: blank from the first equity <= 0, as the metrics are.

Audit of the HTML reports, finding 7: a short of 8x equity on the demo's BTC/USDT bars
(leverage 10) went below zero in Jan 2021; the metrics table was blank, but the monthly
heatmap drew Jan +60.15 %, Feb +108.49 %, Mar +58.79 % in green while equity fell from
-29,034 to -149,608 (a loss on negative equity reads as a gain), the 2021 bar +40.39 %, and
the rolling Sharpe and the daily distribution used those returns too. The note said
exposure was left empty beside "Time in market 99.98 %".
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import parse_config
from engine.report.charts import build_charts
from engine.report.data import ReportData
from engine.report.html import render_report
from engine.runtime import run_backtest
from engine.runtime.backtest import BacktestResult
from tests.integration.conftest import REPO

SHORT_RUIN = """
from engine.strategy import Strategy


class ShortRuin(Strategy):
    def on_start(self, ctx):
        self.done = False

    def on_bar(self, ctx, bar):
        if not self.done:
            ctx.order_target_percent(bar.symbol, -8.0)
            self.done = True
"""


def _ruined(tmp_path: Path) -> BacktestResult:
    (tmp_path / "short_ruin.py").write_text(SHORT_RUIN)
    with (REPO / "configs/sma_cross_btc.toml").open("rb") as handle:
        raw: dict[str, Any] = tomllib.load(handle)
    raw["run"]["name"] = "ruin"
    raw["account"] |= {"leverage": 10.0, "allow_short": True}
    raw["data"][0]["path"] = str(REPO / raw["data"][0]["path"])
    raw["strategy"] = {"path": f"{tmp_path / 'short_ruin.py'}:ShortRuin"}
    return run_backtest(parse_config(raw))


def test_return_charts_are_blank_from_the_first_equity_at_or_below_zero(tmp_path: Path) -> None:
    data = ReportData.from_result(_ruined(tmp_path))
    data.compute()
    ruined_at = data.metrics["equity_went_non_positive_at"]
    assert ruined_at is not None
    ruin_day = np.datetime64(ruined_at, "ns").astype("datetime64[D]")
    charts = {chart_id: figure for chart_id, _, figure in build_charts(data)}

    heatmap = charts["monthly"]["data"][0]
    ruin_month = ruin_day.astype("datetime64[M]")
    for row, year in zip(heatmap["z"], heatmap["y"], strict=True):
        for month, value in enumerate(row):
            if np.datetime64(f"{year}-{month + 1:02d}", "M") >= ruin_month:
                assert value is None, (year, month + 1, value)
    yearly = charts["yearly"]["data"][0]
    for year, value in zip(yearly["x"], yearly["y"], strict=True):
        if int(year) >= ruin_day.astype("datetime64[Y]").astype(int) + 1970:
            assert value is None, (year, value)

    ruin_ms = int(ruined_at) // 1_000_000
    for trace in charts["rolling"]["data"]:
        late = [y for x, y in zip(trace["x"], trace["y"], strict=True) if x > ruin_ms]
        assert late, trace["name"]
        assert all(y is None for y in late), trace["name"]
    # the distribution counts only the days before the ruin
    days_before = np.unique(
        data.ts[data.ts < ruined_at].astype("datetime64[ns]").astype("datetime64[D]")
    ).size
    assert sum(charts["distribution"]["data"][0]["y"]) <= days_before


def test_the_ruin_note_names_what_is_left_empty(tmp_path: Path) -> None:
    result = _ruined(tmp_path)
    page = render_report(result, tmp_path / "page.html").read_text()
    assert result.metrics["exposure"] > 0.99  # shown: time in market is not a return
    assert result.metrics["average_exposure"] is None
    assert "average exposure" in page
    assert "figures, exposure, turnover" not in page
    assert "charts past that time mean nothing" not in page
