"""What the charts draw of long series and many markers, and what the page says about it.

Audit of the HTML reports, finding 10:
(a) the price chart drew at most 4,000 fill markers a side (19,586 fills: 4,000 drawn) and
    the page did not say so; its caption now does;
(b) the benchmark line was thinned on the equity curve's indices, dropping its own peaks
    (drawn max 137,664 vs 137,760): each line keeps its own bucket extremes (so do the
    indicator lines, thinned on the closes' indices);
(c) a one-bar run drew its benchmark line but left the benchmark's return blank;
(d) a daily run's header ended on the Saturday after its last bar (the last close).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.feeds import BarFrame
from engine.report.assets import PlotlyLink
from engine.report.charts import MAX_MARKERS, Figure, build_charts
from engine.report.data import FillRow, IndicatorLine, ReportData
from engine.report.html import render_data
from tests.integration.report_page import metric, period
from tests.unit.report.test_html_report import HOUR, T0, make_frame

DAY = 24 * HOUR


def report_of(
    frame: BarFrame, equity: np.ndarray, fills: list[FillRow] | None = None
) -> ReportData:
    """A report of a curve at the frame's closes (no trades), computed."""
    data = ReportData(
        run_id="thin", config={"data": [{"symbol": frame.symbol}]}, run_info={},
        initial_cash=float(equity[0]), start_ns=int(frame.ts_open_ns[0]),
        ts=np.array(frame.ts_close_ns), cash=equity.copy(), equity=equity,
        gross_exposure=np.zeros(equity.size), trades=[], fills=fills or [], orders=[],
        frames=[frame],
    )  # fmt: skip
    data.compute()
    return data


def traces(data: ReportData, chart: str) -> dict[str, dict[str, object]]:
    return traces_of(build_charts(data), chart)


def traces_of(charts: list[tuple[str, str, Figure]], chart: str) -> dict[str, dict[str, object]]:
    figure = {chart_id: figure for chart_id, _, figure in charts}[chart]
    return {str(trace.get("name")): trace for trace in figure["data"]}


def test_the_benchmark_line_keeps_its_own_extremes() -> None:
    n = 20_000  # over 4 × 1,500 buckets: thinned
    prices = np.linspace(100.0, 110.0, n)
    prices[12_345] = 137.76  # one bar's spike: not an extreme of the straight equity line
    data = report_of(make_frame(prices), np.linspace(1_000.0, 1_500.0, n))
    drawn = traces(data, "equity")["buy &amp; hold"]  # plotly_text
    assert max(drawn["y"]) == 1_377.6  # type: ignore[call-overload]
    assert len(drawn["y"]) < n  # type: ignore[arg-type]


def test_indicator_lines_keep_their_own_extremes() -> None:
    n = 20_000
    frame = make_frame(np.linspace(100.0, 110.0, n))
    data = report_of(frame, np.linspace(1_000.0, 1_500.0, n))
    oscillator = np.full(n, 50.0)
    oscillator[:5_000] = np.nan  # a warm-up over whole buckets (14 bars each)
    oscillator[9_999] = 97.5
    data.indicators = {"X/USD": [IndicatorLine("rsi(timeperiod=14)", False, oscillator)]}
    drawn = traces(data, "price0")["rsi(timeperiod=14)"]
    assert max(v for v in drawn["y"] if v is not None) == 97.5  # type: ignore[union-attr]


def test_the_price_chart_says_how_many_fills_it_draws(tmp_path: Path) -> None:
    frame = make_frame(np.linspace(100.0, 110.0, 30_000))
    buys, sells = 10_000, 9_586
    fills = [
        FillRow(str(i), str(i), "X/USD", side, 1.0, 100.0, 0.0, int(frame.ts_close_ns[i]))
        for i, side in enumerate(["buy"] * buys + ["sell"] * sells)
    ]
    data = report_of(frame, np.linspace(1_000.0, 1_500.0, 30_000), fills)
    captions: dict[str, str] = {}
    charts = build_charts(data, captions=captions)
    drawn = {
        str(t.get("name")): len(t["x"])
        for _, _, f in charts
        for t in f["data"]
        if "fills" in str(t.get("name"))
    }
    assert drawn == {"buy fills": MAX_MARKERS, "sell fills": MAX_MARKERS}
    assert captions["price0"] == (
        "Drawn: 4,000 of 10,000 buy fills, 4,000 of 9,586 sell fills (evenly spaced); "
        "a run folder's fills.csv lists every one."
    )
    caption = '<p class="sub">Drawn: 4,000 of 10,000 buy fills, 4,000 of 9,586 sell fills'
    page = render(data, tmp_path)
    assert page.count(caption) == 1
    assert page.index(caption) > page.index("X/USD: price, indicators, fills, stops and trades")
    few = report_of(frame, np.linspace(1_000.0, 1_500.0, 30_000), fills[:10])
    shown: dict[str, str] = {}
    build_charts(few, captions=shown)
    assert "price0" not in shown  # all drawn: nothing to say


def test_a_one_bar_runs_benchmark_has_its_return_beside_its_line(tmp_path: Path) -> None:
    one = [np.array([v]) for v in (100.0, 111.0, 99.0, 110.0, 1.0)]  # open 100, close 110
    frame = BarFrame("X/USD", HOUR, np.array([T0]), *one, "<synthetic>")
    data = report_of(frame, np.array([1_050.0]))
    data.initial_cash = 1_000.0
    page = render(data, tmp_path)
    assert "buy &amp; hold" in traces(data, "equity")  # the line is drawn
    assert metric(page, "Benchmark return") == "10.00%"
    assert metric(page, "Beta") == "—"  # one return: no beta


def test_a_daily_runs_header_ends_on_its_last_bars_day(tmp_path: Path) -> None:
    opens = T0 + np.arange(5, dtype=np.int64) * DAY + 3 * DAY  # Mon 2021-01-04 .. Fri 01-08
    prices = np.linspace(100.0, 104.0, 5)
    frame = BarFrame("X/USD", DAY, opens, prices, prices, prices, prices, np.ones(5), "<d>")
    page = render(report_of(frame, np.linspace(1_000.0, 1_040.0, 5)), tmp_path)
    assert period(page) == "2021-01-04 → 2021-01-08"  # was → 2021-01-09, a Saturday


def render(data: ReportData, folder: Path) -> str:
    target = folder / "report.html"
    render_data(data, target, PlotlyLink.beside(target))
    return target.read_text()


def test_the_price_chart_says_when_it_leaves_indicator_lines_out() -> None:
    # found hunting (a): the chart draws the first 8 declared lines, and said nothing
    frame = make_frame(np.linspace(100.0, 110.0, 50))
    data = report_of(frame, np.linspace(1_000.0, 1_050.0, 50))
    data.indicators = {
        "X/USD": [IndicatorLine(f"sma(timeperiod={n})", True, frame.close) for n in range(2, 13)]
    }
    captions: dict[str, str] = {}
    drawn = traces_of(build_charts(data, captions=captions), "price0")
    assert [name for name in drawn if name.startswith("sma")] == [
        f"sma(timeperiod={n})" for n in range(2, 10)
    ]
    assert captions["price0"] == "Drawn: 8 of 11 indicator lines (the first declared)."
