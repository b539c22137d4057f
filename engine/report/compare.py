"""Several runs side by side: a metrics table and one overlaid equity chart.

In: run folders (or rows read back from the run store). Out: rows of formatted metrics
(one column per run) and an HTML page whose chart overlays every run's equity as growth
of 1 (equity / initial cash), so runs of different sizes compare. The page loads plotly.js
from ``_assets/`` beside it, or embeds it (`engine.report.assets`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.report.assets import PlotlyLink, plotly_script
from engine.report.charts import display_indices
from engine.report.data import load_equity, read_json, reading
from engine.report.html import _e, _json_island, format_metric, plotly_js
from engine.report.ownership import GENERATOR_META, check_replaceable, is_kestrel_page
from engine.report.series import FloatArray, IntArray

__all__ = ["COMPARE_METRICS", "RunSeries", "compare_rows", "render_compare", "run_series_from_dir"]

COMPARE_METRICS: list[tuple[str, str, str]] = [
    ("total_return", "total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("volatility", "volatility (ann.)", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("calmar", "Calmar", "num"),
    ("max_drawdown", "max drawdown", "pct"),
    ("max_drawdown_duration_days", "max drawdown duration", "days"),
    ("num_trades", "trades", "int"),
    ("win_rate", "win rate", "pct"),
    ("profit_factor", "profit factor", "num"),
    ("open_positions", "open at end", "int"),  # not in the trade statistics above
    ("unrealized_pnl", "unrealized PnL at end", "num"),
    ("expectancy", "expectancy per trade", "num"),
    ("exposure", "time in market", "pct"),
    ("fees_paid", "fees paid", "num"),
    ("final_equity", "final equity", "num"),
    ("bars", "bars", "int"),
]


@dataclass
class RunSeries:
    """One run's identity, metrics and full equity curve."""

    run_id: str
    strategy: str
    metrics: dict[str, Any]
    ts: IntArray
    equity: FloatArray
    initial_cash: float


def run_series_from_dir(folder: Path) -> RunSeries:
    """Read a run folder's ``run.json``, ``metrics.json``, ``config.toml`` and equity."""
    info = read_json(folder / "run.json")
    metrics = read_json(folder / "metrics.json")
    strategy = ""
    config_path = folder / "config.toml"
    if config_path.is_file():
        with reading(config_path), config_path.open("rb") as handle:
            strategy = str(tomllib.load(handle).get("strategy", {}).get("path", ""))
    ts, _, equity, _ = load_equity(folder / "equity.csv", metrics)
    return RunSeries(
        run_id=str(info.get("run_id", folder.name)),
        strategy=strategy,
        metrics=metrics,
        ts=ts,
        equity=equity,
        initial_cash=float(metrics.get("initial_cash") or (equity[0] if equity.size else 1.0)),
    )


def compare_rows(runs: list[RunSeries]) -> list[tuple[str, list[str]]]:
    """Return ``(metric label, formatted value per run)`` rows, in `COMPARE_METRICS` order."""
    rows = [("strategy", [run.strategy or "—" for run in runs])]
    for key, label, kind in COMPARE_METRICS:
        rows.append((label, [format_metric(run.metrics.get(key), kind) for run in runs]))
    return rows


def render_compare(runs: list[RunSeries], path: Path, plotly: PlotlyLink | None = None) -> Path:
    """Write the comparison page (metrics table + overlaid equity chart) to ``path``.

    ``plotly``: where the page gets plotly.js; default ``_assets/`` beside the page.

    Raises:
        OutputPathError: ``path`` is a file Kestrel did not write (`engine.report.ownership`).
    """
    check_replaceable(path, "comparison page", is_kestrel_page)
    traces = []
    for run in runs:
        if run.equity.size == 0:
            continue
        growth = run.equity / run.initial_cash
        keep = display_indices(growth)
        values = np.round(growth[keep], 6)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": run.run_id,
                "x": (run.ts[keep] // 1_000_000).tolist(),
                "y": [v if np.isfinite(v) else None for v in values.tolist()],
            }
        )
    layout = {
        "height": 460,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": "growth of 1"}},
        "legend": {"orientation": "h", "y": -0.15},
        "hovermode": "x unified",
    }
    header = "".join(f"<th>{_e(run.run_id)}</th>" for run in runs)
    body = "".join(
        f"<tr><th scope=row>{_e(label)}</th>"
        + "".join(f"<td>{_e(v)}</td>" for v in values)
        + "</tr>"
        for label, values in compare_rows(runs)
    )
    figure = _json_island({"data": traces, "layout": layout})
    path.parent.mkdir(parents=True, exist_ok=True)
    script = plotly_script(plotly_js(), plotly if plotly is not None else PlotlyLink.beside(path))
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"{GENERATOR_META}<title>Kestrel run comparison"
        "</title><style>body{font:14px system-ui,sans-serif;margin:20px;color:#1f2328}"
        "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eaeef2}"
        "td{text-align:right}th{text-align:left}</style>"
        f"{script}</head><body><h1>Run comparison</h1>"
        '<div id="chart-compare"></div>'
        f'<script type="application/json" data-chart="chart-compare">{figure}</script>'
        f"<table><tr><th>metric</th>{header}</tr>{body}</table>"
        "<script>if(window.Plotly)document.querySelectorAll('script[data-chart]').forEach(function(s){"
        "var f=JSON.parse(s.textContent);Plotly.newPlot(document.getElementById(s.dataset.chart),"
        "f.data,f.layout,{responsive:true,displaylogo:false});});"
        "document.body.dataset.ready='1';</script></body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
