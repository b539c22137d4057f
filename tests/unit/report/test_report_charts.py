"""The report's charts: one colour convention, the strategy's indicators and entry→exit lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.config import parse_config
from engine.report.charts import COLORS, build_charts
from engine.report.data import ReportData
from engine.report.html import render_report
from engine.runtime import finish_run, run_backtest
from engine.runtime.backtest import BacktestResult
from tests.unit.report.test_html_report import HOUR, T0, make_frame

STRATEGY = """
from engine.strategy import Strategy


class WithIndicators(Strategy):
    def on_start(self, ctx):
        self.fast = ctx.indicator("sma", "X/USD", timeperiod=3)
        self.rsi = ctx.indicator("rsi", "X/USD", timeperiod=4)
        self.k = 0

    def on_bar(self, ctx, bar):
        self.k += 1
        if self.k in (5, 25):
            ctx.buy(bar.symbol, 1.0)
        elif self.k in (15, 35):
            ctx.close_position(bar.symbol)
"""


def indicator_run(tmp_path: Path) -> BacktestResult:
    """Two round trips on rising then falling prices: the first wins, the second loses."""
    module = tmp_path / "with_indicators.py"
    module.write_text(STRATEGY)
    config = parse_config(
        {
            "run": {"name": "charts"},
            "account": {"initial_cash": 1_000.0},
            "data": [{"path": "<synthetic>", "symbol": "X/USD"}],
            "strategy": {"path": f"{module}:WithIndicators"},
            "execution": {"fee_rate": 0.0},
        }
    )
    prices = np.concatenate((np.linspace(100.0, 120.0, 20), np.linspace(120.0, 90.0, 20)))
    return run_backtest(config, frames=[make_frame(prices)])


def charts_of(result: BacktestResult) -> dict[str, dict[str, Any]]:
    data = ReportData.from_result(result)
    data.compute()
    return {chart_id: figure for chart_id, _, figure in build_charts(data)}


def traces_by_name(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace.get("name"): trace for trace in figure["data"]}


def test_gains_are_green_and_losses_red_in_every_chart(tmp_path: Path) -> None:
    result = indicator_run(tmp_path)
    charts = charts_of(result)
    heatmap = charts["monthly"]["data"][0]
    scale = heatmap["colorscale"]
    assert scale[0] == [0.0, COLORS["loss"]]  # the lowest value (a loss) is red
    assert scale[-1] == [1.0, COLORS["gain"]]  # the highest (a gain) green
    assert heatmap["zmin"] == -heatmap["zmax"]  # zero sits at the neutral middle
    bars = charts["yearly"]["data"][0]
    expected = [COLORS["gain"] if v >= 0 else COLORS["loss"] for v in bars["y"]]
    assert bars["marker"]["color"] == expected


def test_price_chart_draws_the_declared_indicators(tmp_path: Path) -> None:
    result = indicator_run(tmp_path)
    frame = result.frames[0]
    price = traces_by_name(charts_of(result)["price0"])
    sma = price["sma(timeperiod=3)"]
    close = frame.close
    by_hand = [None, None] + [round(float(close[i - 2 : i + 1].mean()), 8) for i in range(2, 40)]
    assert sma["y"] == pytest.approx(by_hand)  # type: ignore[arg-type]
    assert sma["x"] == (frame.ts_close_ns // 1_000_000).tolist()
    assert "yaxis" not in sma  # a moving average is in price units: the price axis
    rsi = price["rsi(timeperiod=4)"]
    assert rsi["yaxis"] == "y2"  # an oscillator: the second axis at the right
    assert rsi["y"][:4] == [None] * 4  # RSI(4) warms up for 4 bars
    assert rsi["y"][4] is not None
    layout = charts_of(result)["price0"]["layout"]
    assert layout["yaxis2"]["overlaying"] == "y"


def test_price_chart_draws_entry_to_exit_lines(tmp_path: Path) -> None:
    result = indicator_run(tmp_path)
    win, loss = result.recorder.trades
    assert win.net_pnl > 0 > loss.net_pnl
    price = traces_by_name(charts_of(result)["price0"])
    winning = price["winning trades (entry → exit)"]
    losing = price["losing trades (entry → exit)"]
    assert winning["x"] == [win.entry_ts // 1_000_000, win.exit_ts // 1_000_000, None]
    assert winning["y"] == [round(win.entry_price, 8), round(win.exit_price, 8), None]
    assert winning["line"]["color"] == COLORS["gain"]
    assert losing["x"] == [loss.entry_ts // 1_000_000, loss.exit_ts // 1_000_000, None]
    assert losing["line"]["color"] == COLORS["loss"]
    # the first entry is the 6th bar's open (decided on bar 5, filled at the next open)
    assert win.entry_ts == T0 + 5 * HOUR


def test_rolling_chart_leaves_room_for_the_volatility_axis(tmp_path: Path) -> None:
    layout = charts_of(indicator_run(tmp_path))["rolling"]["layout"]
    assert layout["yaxis2"]["automargin"] is True
    assert layout["margin"]["r"] >= 60


def test_a_report_rendered_from_the_folder_has_no_indicators(tmp_path: Path) -> None:
    """Indicators are not stored with a run: the re-rendered page draws prices without them."""
    result = indicator_run(tmp_path)
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    assert "sma(timeperiod=3)" in (folder / "report.html").read_text()
    again = render_report(folder, tmp_path / "again.html").read_text()
    assert "sma(timeperiod=3)" not in again


BAD_STOPS = """
from engine.strategy import Strategy


class BadStops(Strategy):
    def on_start(self, ctx):
        self.k = 0

    def on_bar(self, ctx, bar):
        self.k += 1
        if self.k == 3:
            ctx.buy(bar.symbol, 1.0)
        elif self.k == 5:  # a stop from an indicator not ready yet: risk denies them
            ctx.sell(bar.symbol, 1.0, stop_price=float("nan"))
            ctx.sell(bar.symbol, 1.0, stop_price=float("inf"))
        elif self.k == 6:
            ctx.sell(bar.symbol, 1.0, stop_price=bar.close - 5.0)  # works, then fills
"""


def test_denied_orders_with_a_nan_or_inf_stop_leave_the_charts_and_the_run_saved(
    tmp_path: Path,
) -> None:
    """Found by an audit: the price chart plotted every order's stop, denied ones too, and
    json.dumps(allow_nan=False) failed the save (exit 70, every artifact undone)."""
    module = tmp_path / "bad_stops.py"
    module.write_text(BAD_STOPS)
    config = parse_config(
        {
            "run": {"name": "stops"},
            "account": {"initial_cash": 1_000.0},
            "data": [{"path": "<synthetic>", "symbol": "X/USD"}],
            "strategy": {"path": f"{module}:BadStops"},
            "execution": {"fee_rate": 0.0},
        }
    )
    result = run_backtest(config, frames=[make_frame(np.linspace(120.0, 90.0, 20))])
    assert len(result.recorder.orders_with_status("denied")) == 2
    stops = [
        trace for trace in charts_of(result)["price0"]["data"] if trace["name"] == "stop orders"
    ]
    assert len(stops) == 1  # the working stop only
    assert len(stops[0]["y"]) == 1
    assert np.isfinite(stops[0]["y"]).all()
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    assert (folder / "report.html").is_file()
    assert "denied" in (folder / "orders.csv").read_text()
