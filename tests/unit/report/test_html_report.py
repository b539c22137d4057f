"""The HTML report: edge-case runs render, the page can be self-contained, and no NaN shows.

Runs are real backtests of a scripted strategy (written to a file in tmp_path) on small
synthetic bars: zero trades, one trade (with a stop order that never triggers), and
all-losing trades. The browser test is tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.config import parse_config
from engine.feeds import BarFrame
from engine.report.assets import INLINE
from engine.report.charts import display_indices, rolling_stats
from engine.report.data import ReportData
from engine.report.html import MAX_TABLE_TRADES, format_metric, render_report
from engine.runtime import finish_run, run_backtest
from engine.runtime.backtest import BacktestResult

HOUR = 3_600 * 10**9
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00Z

STRATEGY = """
from dataclasses import dataclass
from engine.strategy import Strategy


@dataclass(frozen=True)
class ScriptedParams:
    mode: str = "none"


class Scripted(Strategy):
    Params = ScriptedParams

    def on_start(self, ctx):
        self.k = 0
        self.stop_id = None

    def on_bar(self, ctx, bar):
        self.k += 1
        mode = self.params.mode
        if mode == "one":
            if self.k == 3:
                ctx.buy(bar.symbol, 1.0)
                self.stop_id = ctx.sell(bar.symbol, 1.0, stop_price=1.0)
            elif self.k == 7:
                ctx.cancel(self.stop_id)
            elif self.k == 8:
                ctx.close_position(bar.symbol)
        elif mode == "losing":
            if self.k % 6 == 1:
                ctx.buy(bar.symbol, 1.0)
            elif self.k % 6 == 3:
                ctx.close_position(bar.symbol)
"""


def make_frame(prices: np.ndarray, symbol: str = "X/USD") -> BarFrame:
    """Return hourly bars whose open is the previous close."""
    n = prices.size
    opens = np.concatenate(([prices[0]], prices[:-1]))
    return BarFrame(
        symbol, HOUR, T0 + np.arange(n, dtype=np.int64) * HOUR, opens,
        np.maximum(opens, prices) * 1.01, np.minimum(opens, prices) * 0.99, prices,
        np.full(n, 10.0), "<synthetic>",
    )  # fmt: skip


def scripted_run(tmp_path: Path, mode: str, prices: np.ndarray) -> BacktestResult:
    """Run the scripted strategy in ``mode`` on ``prices``."""
    module = tmp_path / "scripted.py"
    module.write_text(STRATEGY)
    config = parse_config(
        {
            "run": {"name": f"edge-{mode}"},
            "account": {"initial_cash": 1_000.0},
            "data": [{"path": "<synthetic>", "symbol": "X/USD"}],
            "strategy": {"path": f"{module}:Scripted", "params": {"mode": mode}},
            "execution": {"fee_rate": 0.001},
        }
    )
    return run_backtest(config, frames=[make_frame(prices)])


def visible_text(page: str) -> str:
    """Return the page without its scripts, styles and tags."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def islands(page: str) -> list[object]:
    """Parse every JSON island strictly (NaN/Infinity are rejected)."""

    def reject(name: str) -> None:
        raise ValueError(f"non-JSON constant {name}")

    found = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, flags=re.S)
    return [json.loads(text, parse_constant=reject) for text in found]


EDGE_CASES = {
    "none": np.full(48, 100.0),
    "one": np.linspace(100.0, 120.0, 48),
    "losing": np.linspace(120.0, 80.0, 48),
}


@pytest.mark.parametrize("mode", sorted(EDGE_CASES))
def test_edge_case_runs_render_without_nan(tmp_path: Path, mode: str) -> None:
    result = scripted_run(tmp_path, mode, EDGE_CASES[mode])
    trades = result.recorder.trades
    if mode == "none":
        assert trades == []
    elif mode == "one":
        assert len(trades) == 1
        assert trades[0].net_pnl > 0
    else:
        assert len(trades) >= 5
        assert all(t.net_pnl < 0 for t in trades)
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    page = (folder / "report.html").read_text()
    text = visible_text(page)
    assert "NaN" not in text
    assert "nan" not in text.split()
    assert "inf" not in text.split()
    parsed = islands(page)
    assert len(parsed) >= 8  # every chart and the trades table
    table = parsed[-1]
    assert isinstance(table, dict)
    assert len(table["rows"]) == len(trades)
    if mode == "one":
        assert "stop orders" in page  # the never-triggered stop is marked on the price chart
    # re-rendering from the folder gives the same return and risk numbers (the bars are
    # synthetic, so the benchmark and MAE/MFE cannot be re-read: they show as "—")
    again = visible_text(render_report(folder, tmp_path / "again.html").read_text())

    def returns_section(page_text: str) -> str:
        return page_text.split("Returns", 1)[1].split("Drawdown and tails", 1)[0]

    assert returns_section(again) == returns_section(text)
    assert "NaN" not in again


def test_page_is_self_contained(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    path = render_report(result, tmp_path / "report.html", plotly=INLINE)  # --self-contained
    page = path.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", page, flags=re.I)
    assert "Plotly.newPlot" in page
    assert len(page) > 1_000_000
    for section in ("Metrics", "Trades", "Fill assumptions", "Data provenance", "Config"):
        assert f"<h2>{section}</h2>" in page
    assert "next_open" in page  # the fill assumption in force


def test_report_from_folder_without_data_file_notes_it(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    page = render_report(folder).read_text()
    assert "data file not found" in page  # synthetic bars: no file to re-read
    assert (folder / "report.html").is_file()


def test_real_run_report_has_every_chart(tmp_path: Path) -> None:
    from engine.config import load_config

    repo = Path(__file__).resolve().parents[3]
    result = run_backtest(load_config(repo / "configs" / "sma_cross_goog.toml"))
    page = render_report(result, tmp_path / "r.html").read_text()
    for chart in ("equity", "drawdown", "monthly", "yearly", "rolling", "distribution",
                  "exposure", "price0", "excursions"):  # fmt: skip
        assert f'data-chart="chart-{chart}"' in page, chart
    assert "NaN" not in visible_text(page)


def test_trades_table_is_capped_to_the_largest_trades(tmp_path: Path) -> None:
    prices = 100 + 10 * np.sin(np.arange(6 * (MAX_TABLE_TRADES + 200)) / 3.0)
    result = scripted_run(tmp_path, "losing", prices)
    assert len(result.recorder.trades) > MAX_TABLE_TRADES
    page = render_report(result, tmp_path / "r.html").read_text()
    rows = islands(page)[-1]["rows"]  # type: ignore[index]
    assert len(rows) == MAX_TABLE_TRADES
    assert "every trade is in trades.csv" in page


def test_format_metric_never_prints_nan() -> None:
    assert format_metric(None, "pct") == "—"
    assert format_metric(float("nan"), "num") == "—"
    assert format_metric(float("inf"), "pct") == "—"
    assert format_metric(0.1234, "pct") == "12.34%"
    assert format_metric(1234.5, "money") == "1,234.50"
    assert format_metric(3, "int") == "3"
    assert format_metric(1.25, "days") == "1.2 days"


def test_display_indices_keep_extremes_and_ends() -> None:
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.normal(size=1_000_000))
    keep = display_indices(values, buckets=1000)
    assert keep.size <= 4000
    assert keep[0] == 0
    assert keep[-1] == values.size - 1
    assert np.all(np.diff(keep) > 0)
    assert values[keep].max() == values.max()
    assert values[keep].min() == values.min()
    small = display_indices(values[:100], buckets=1000)
    assert small.size == 100


def _padded_display_indices(values: np.ndarray, buckets: int) -> np.ndarray:
    """The first form of `display_indices`: the curve copied, padded with its last value."""
    n = values.size
    if n <= 4 * buckets:
        return np.arange(n, dtype=np.int64)
    size = math.ceil(n / buckets)
    padded = np.concatenate((values, np.full(size * buckets - n, values[-1])))
    shaped = padded.reshape(buckets, size)
    base = np.arange(buckets, dtype=np.int64) * size
    keep = np.concatenate(
        (
            base,
            np.minimum(base + size - 1, n - 1),
            base + np.nanargmin(shaped, axis=1),
            base + np.nanargmax(shaped, axis=1),
        )
    )
    return np.unique(np.minimum(keep, n - 1))


@pytest.mark.parametrize("n", [41, 100, 1000, 1001, 4097, 9999, 10_000, 123_457])
@pytest.mark.parametrize("kind", ["walk", "ties", "nan"])
def test_display_indices_read_in_place_keep_the_same_points(n: int, kind: str) -> None:
    rng = np.random.default_rng(n)
    values = np.cumsum(rng.normal(size=n))
    if kind == "ties":  # flat stretches: the first of equal extremes is kept
        values = np.round(values / 3.0)
    if kind == "nan":  # a few NaNs, none filling a whole bucket
        values[rng.choice(n, size=max(1, n // 50), replace=False)] = np.nan
        values[0] = values[-1] = 1.0
    for buckets in (10, 7, 1000):
        assert np.array_equal(
            display_indices(values, buckets), _padded_display_indices(values, buckets)
        ), (n, kind, buckets)


def test_rolling_stats_match_a_plain_loop() -> None:
    rng = np.random.default_rng(2)
    returns = rng.normal(0.001, 0.01, 200)
    sharpe, volatility = rolling_stats(returns, 20, 252.0)
    assert np.isnan(sharpe[:19]).all()
    for end in (19, 50, 199):
        window = returns[end - 19 : end + 1]
        assert volatility[end] == pytest.approx(window.std(ddof=1) * np.sqrt(252), rel=1e-9)
        expected = window.mean() / window.std(ddof=1) * np.sqrt(252)
        assert sharpe[end] == pytest.approx(expected, rel=1e-9)


def test_same_run_renders_byte_identical_reports(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "losing", EDGE_CASES["losing"])
    first = render_report(result, tmp_path / "a" / "report.html").read_bytes()
    second = render_report(result, tmp_path / "b" / "report.html").read_bytes()
    assert first == second


def test_collapsing_prices_render_without_warnings(tmp_path: Path) -> None:
    prices = np.concatenate((np.full(5, 100.0), np.full(43, 1e-6)))
    result = scripted_run(tmp_path, "losing", prices)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = render_report(result, tmp_path / "r.html").read_text()
    assert "NaN" not in visible_text(page)


def test_without_plotly_the_page_says_so_and_the_run_still_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.report.html as report_html

    monkeypatch.setattr(report_html, "plotly_js", lambda: None)
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)
    page = (folder / "report.html").read_text()
    assert "Charts are not drawn" in page
    assert "pip install plotly" in page


def test_two_symbol_run_has_a_price_chart_each_and_an_equal_weight_benchmark(
    tmp_path: Path,
) -> None:
    from engine.feeds import load_bars

    repo = Path(__file__).resolve().parents[3]
    names = {"BTC/USDT": "binance_BTC_USDT_1h_20201201_20210717.csv",
             "ETH/USDT": "binance_ETH_USDT_1h_20201201_20210717.csv"}  # fmt: skip
    frames = [load_bars(repo / "data" / file, symbol=symbol) for symbol, file in names.items()]
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": str(repo / "data" / f), "symbol": s} for s, f in names.items()],
            "strategy": {"path": "strategies.sma_cross:SmaCross",
                         "params": {"fast": 10, "slow": 30, "target_percent": 0.45}},
        }
    )  # fmt: skip
    result = run_backtest(config, frames=frames)
    page = render_report(result, tmp_path / "r.html").read_text()
    assert 'data-chart="chart-price0"' in page
    assert 'data-chart="chart-price1"' in page
    assert "ETH/USDT: price, indicators, fills, stops and trades" in page
    data = report_data_for(result)
    btc, eth = frames
    expected = (btc.close[-1] / btc.open[0] + eth.close[-1] / eth.open[0]) / 2 - 1
    assert data.metrics["benchmark_total_return"] == pytest.approx(expected, rel=1e-12)


def report_data_for(result: BacktestResult) -> ReportData:
    """Return the report's data with metrics computed, as render_report does."""
    data = ReportData.from_result(result)
    data.compute()
    return data
