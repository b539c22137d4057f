"""The HTML page of a parameter sweep: heatmap, parallel coordinates, Pareto front, ranking.

In: a `SweepView` — plain values the optimizer hands over (the report never imports
`engine.optimize`): the swept parameter names, the objectives and their directions, one
`SweepPoint` per trial, the Pareto front's trial numbers and the guards. Out: one
self-contained HTML file (plotly.js embedded when installed, charts as JSON islands drawn
by the same few lines of script as ``runs compare``; `engine.report.html` helpers).

Charts: a heatmap of the first objective over the first two parameters (each cell the best
value over the other parameters, as a search would pick it; empty where no trial
completed), parallel coordinates of every completed trial (parameters and objectives,
coloured by the first objective), and with two objectives a scatter of all trials with the
Pareto front drawn through. Below: the overfitting guards and the ranked trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.report.html import _e, _json_island, plotly_js
from engine.report.ownership import GENERATOR_META, check_replaceable, is_kestrel_page

__all__ = ["SweepPoint", "SweepView", "render_sweep"]

MAX_ROWS = 200  # ranked rows on the page (every trial is in the store)


@dataclass(frozen=True)
class SweepPoint:
    """One trial as the page shows it (``values``: one per objective, None if undefined)."""

    number: int
    params: dict[str, Any]
    values: tuple[float | None, ...]
    status: str
    error: str | None = None


@dataclass(frozen=True)
class SweepView:
    """What the page shows; ``points`` ranked best first."""

    sweep_id: str
    strategy: str
    params: tuple[str, ...]
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    pareto: tuple[int, ...] = ()
    guards: dict[str, Any] = field(default_factory=dict)


def _axis(values: Sequence[Any]) -> list[Any]:
    return sorted(set(values), key=lambda v: (isinstance(v, str), v))


def _heatmap(view: SweepView) -> dict[str, Any] | None:
    if len(view.params) < 2:
        return None
    first, second = view.params[0], view.params[1]
    done = [p for p in view.points if p.values and p.values[0] is not None]
    xs, ys = _axis([p.params[first] for p in done]), _axis([p.params[second] for p in done])
    best: dict[tuple[Any, Any], float] = {}
    larger = view.directions[0] == "maximize"
    for point in done:
        key = (point.params[first], point.params[second])
        value = float(point.values[0])  # type: ignore[arg-type]
        if key not in best or (value > best[key] if larger else value < best[key]):
            best[key] = value
    z = [[best.get((x, y)) for x in xs] for y in ys]
    trace = {
        "type": "heatmap",
        "x": [str(x) for x in xs],
        "y": [str(y) for y in ys],
        "z": z,
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": view.objectives[0]}},
    }
    layout = {
        "height": 460,
        "margin": {"l": 70, "r": 20, "t": 30, "b": 50},
        "xaxis": {"title": {"text": first}, "type": "category"},
        "yaxis": {"title": {"text": second}, "type": "category"},
        "title": {"text": f"best {view.objectives[0]} by {first} and {second}"},
    }
    return {"data": [trace], "layout": layout}


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _parallel(view: SweepView) -> dict[str, Any] | None:
    done = [p for p in view.points if all(v is not None for v in p.values)]
    if not done:
        return None
    dimensions = []
    for name in view.params:
        column = [_numeric(p.params.get(name)) for p in done]
        if all(v is not None for v in column):
            dimensions.append({"label": name, "values": column})
        else:  # words: one tick per distinct value
            labels = _axis([str(p.params.get(name)) for p in done])
            position = {label: i for i, label in enumerate(labels)}
            dimensions.append(
                {
                    "label": name,
                    "tickvals": list(range(len(labels))),
                    "ticktext": labels,
                    "values": [position[str(p.params.get(name))] for p in done],
                }
            )
    for index, name in enumerate(view.objectives):
        dimensions.append({"label": name, "values": [p.values[index] for p in done]})
    colour = [p.values[0] for p in done]
    trace = {
        "type": "parcoords",
        "dimensions": dimensions,
        "line": {"color": colour, "colorscale": "Viridis", "showscale": True},
    }
    return {"data": [trace], "layout": {"height": 460, "margin": {"l": 60, "r": 60, "t": 50}}}


def _pareto(view: SweepView) -> dict[str, Any] | None:
    if len(view.objectives) != 2:
        return None
    done = [p for p in view.points if all(v is not None for v in p.values)]
    chosen = set(view.pareto)
    front = sorted((p for p in done if p.number in chosen), key=lambda p: p.values[0] or 0.0)

    def trace(points: Sequence[SweepPoint], name: str, mode: str) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": mode,
            "name": name,
            "x": [p.values[0] for p in points],
            "y": [p.values[1] for p in points],
            "text": [f"trial {p.number}: {p.params}" for p in points],
        }

    layout = {
        "height": 460,
        "margin": {"l": 70, "r": 20, "t": 30, "b": 50},
        "xaxis": {"title": {"text": view.objectives[0]}},
        "yaxis": {"title": {"text": view.objectives[1]}},
        "title": {"text": "Pareto front"},
    }
    data = [trace(done, "trials", "markers"), trace(front, "Pareto front", "lines+markers")]
    return {"data": data, "layout": layout}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _guards_html(guards: dict[str, Any]) -> str:
    dsr, pbo = guards.get("dsr") or {}, guards.get("pbo") or {}
    rows = [
        ("chosen trial", guards.get("chosen")),
        ("deflated Sharpe ratio", dsr.get("deflated_sharpe")),
        ("probabilistic Sharpe ratio (vs 0)", dsr.get("probabilistic_sharpe")),
        ("per-day Sharpe ratio", dsr.get("sharpe")),
        ("expected max Sharpe ratio of the trials", dsr.get("expected_max_sharpe")),
        ("variance of the trials' Sharpe ratios", dsr.get("sharpe_variance")),
        ("trials / days", f"{dsr.get('trials', '—')} / {dsr.get('observations', '—')}"),
        ("probability of backtest overfitting", pbo.get("pbo")),
        ("CSCV blocks / splits", f"{pbo.get('blocks', '—')} / {pbo.get('splits', '—')}"),
        ("best in-sample loses out of sample", pbo.get("prob_oos_loss")),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_cell(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_sweep(view: SweepView, path: Path) -> Path:
    """Write the sweep's page to ``path`` and return it.

    Raises:
        OutputPathError: ``path`` is a file Kestrel did not write (`engine.report.ownership`).
    """
    check_replaceable(path, "sweep page", is_kestrel_page)
    charts = [
        (name, figure)
        for name, figure in (
            ("heatmap", _heatmap(view)),
            ("parallel", _parallel(view)),
            ("pareto", _pareto(view)),
        )
        if figure is not None
    ]
    islands = "".join(
        f'<div id="chart-{name}"></div>'
        f'<script type="application/json" data-chart="chart-{name}">{_json_island(fig)}</script>'
        for name, fig in charts
    )
    header = "".join(
        f"<th>{_e(h)}</th>" for h in ("rank", "trial", *view.params, *view.objectives, "status")
    )
    rows = "".join(
        "<tr>"
        + f"<td>{rank}</td><td>{p.number}</td>"
        + "".join(f"<td>{_e(_cell(p.params.get(n)))}</td>" for n in view.params)
        + "".join(f"<td>{_e(_cell(v))}</td>" for v in p.values)
        + f"<td>{_e(p.status if p.error is None else f'{p.status}: {p.error}')}</td></tr>"
        for rank, p in enumerate(view.points[:MAX_ROWS], start=1)
    )
    # the table holds the best MAX_ROWS under a header that counts every trial: say so
    left_out = (
        f"<p>Showing the best {MAX_ROWS:,} of {len(view.points):,} trials; every trial is in "
        f"the run store (<code>kestrel sweeps show {_e(view.sweep_id)} --top N</code>).</p>"
        if len(view.points) > MAX_ROWS
        else ""
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"{GENERATOR_META}<title>Kestrel sweep {_e(view.sweep_id)}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:20px;color:#1f2328}"
        "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eaeef2}"
        "td{text-align:right}th{text-align:left}</style>"
        f"<script>{plotly_js() or ''}</script></head><body>"
        f"<h1>Sweep {_e(view.sweep_id)}</h1><p>strategy <code>{_e(view.strategy)}</code> · "
        f"{len(view.points)} trials · objectives {_e(', '.join(view.objectives))}</p>"
        f"{islands}<h2>Overfitting guards</h2>{_guards_html(view.guards)}"
        f"<h2>Trials, best first</h2>{left_out}<table><tr>{header}</tr>{rows}</table>"
        "<script>if(window.Plotly)document.querySelectorAll('script[data-chart]').forEach("
        "function(s){var f=JSON.parse(s.textContent);Plotly.newPlot(document.getElementById("
        "s.dataset.chart),f.data,f.layout,{responsive:true,displaylogo:false});});"
        "document.body.dataset.ready='1';</script></body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
