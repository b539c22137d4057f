"""The HTML page of ``kestrel ml evaluate``: figures, folds, calibration, importances.

In: an `Evaluation` and a title. Out: one self-contained HTML page in the backtest
report's style (`engine.report.page.STYLE`), with plotly.js inline when the ``plotly``
package is installed (`engine.report.html.plotly_js`): a reliability diagram (mean
predicted P(up) against the observed share of ups per bin) and the permutation
importances. Without plotly the tables still say everything.
"""

from __future__ import annotations

import html
import json
from typing import Any

from engine.feeds import format_timestamp
from engine.ml.evaluate import Evaluation
from engine.report.html import plotly_js
from engine.report.ownership import GENERATOR_META
from engine.report.page import STYLE

__all__ = ["render_evaluation"]

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _f(value: float, digits: int = 4) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def _table(caption: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="wide"><caption>{_e(caption)}</caption><tr>{head}</tr>{body}</table>'


def _charts(ev: Evaluation) -> list[tuple[str, dict[str, Any]]]:
    cal = ev.calibration
    reliability = {
        "data": [
            {"x": [0, 1], "y": [0, 1], "mode": "lines", "name": "perfect", "line": {"dash": "dot"}},
            {
                "x": [b.mean_predicted for b in cal],
                "y": [b.observed for b in cal],
                "text": [f"{b.count} predictions" for b in cal],
                "mode": "lines+markers",
                "name": "model",
            },
        ],
        "layout": {
            "title": {"text": "Calibration (out of sample)"},
            "xaxis": {"title": {"text": "mean predicted P(up)"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "observed share of ups"}, "range": [0, 1]},
            "height": 380,
        },
    }
    names = [name for name, _, _ in ev.importances][::-1]
    importance = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [mean for _, mean, _ in ev.importances][::-1],
                "error_x": {"type": "data", "array": [std for _, _, std in ev.importances][::-1]},
            }
        ],
        "layout": {
            "title": {"text": "Permutation importance (rise in log loss, test folds)"},
            "margin": {"l": 220},
            "height": 120 + 28 * len(names),
        },
    }
    return [("calibration", reliability), ("importance", importance)]


def render_evaluation(ev: Evaluation, title: str, notes: list[str]) -> str:
    """Return the evaluation page (``notes``: lines shown under the title)."""
    figures = [
        ["samples tested", str(ev.samples)],
        ["share of ups (always-up accuracy)", _f(ev.base_rate)],
        ["accuracy", _f(ev.accuracy)],
        ["precision", _f(ev.precision)],
        ["recall", _f(ev.recall)],
        ["ROC AUC", _f(ev.roc_auc)],
        ["log loss", _f(ev.log_loss)],
        ["Brier score", _f(ev.brier)],
    ]
    folds = [
        [
            str(f.fold),
            str(f.train),
            str(f.test),
            format_timestamp(f.first_ns),
            format_timestamp(f.last_ns),
            _f(f.accuracy),
            _f(f.roc_auc),
        ]
        for f in ev.folds
    ]
    calibration = [
        [f"{b.low:.1f}-{b.high:.1f}", str(b.count), _f(b.mean_predicted), _f(b.observed)]
        for b in ev.calibration
    ]
    importances = [[name, _f(mean, 5), _f(std, 5)] for name, mean, std in ev.importances]
    plotly = plotly_js()
    charts = _charts(ev) if plotly else []
    islands = "".join(
        f'<div class="chart half" id="{cid}"></div>'
        f'<script type="application/json" data-chart="{cid}">'
        f"{json.dumps(fig, separators=(',', ':')).translate(_ESCAPES)}</script>"
        for cid, fig in charts
    )
    script = (
        "document.querySelectorAll('script[data-chart]').forEach(function(s){"
        "var f=JSON.parse(s.textContent);Plotly.newPlot(document.getElementById("
        "s.dataset.chart),f.data,f.layout,{responsive:true,displaylogo:false});});"
    )
    note_html = "".join(f'<p class="sub">{_e(n)}</p>' for n in notes)
    if not plotly:
        note_html += '<p class="note">Charts are not drawn: the plotly package is missing.</p>'
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"{GENERATOR_META}<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>{note_html}</header><main>"
        f"<h2>Out-of-sample figures ({_e(ev.method)})</h2>"
        + _table("pooled over all test folds", ["figure", "value"], figures)
        + "<h2>Folds</h2>"
        + _table(
            "each test fold, from a model trained without it",
            [
                "fold",
                "train",
                "test",
                "first decision (bar close)",
                "last decision (bar close)",
                "accuracy",
                "ROC AUC",
            ],
            folds,
        )
        + f'<h2>Charts</h2><div class="charts">{islands}</div>'
        + "<h2>Calibration</h2>"
        + _table(
            "predictions binned by P(up)",
            ["P(up)", "count", "mean predicted", "observed"],
            calibration,
        )
        + "<h2>Permutation importance</h2>"
        + _table(
            "rise in log loss when the feature is shuffled", ["feature", "mean", "std"], importances
        )
        + "</main>"
        + (f"<script>{plotly}</script><script>{script}</script>" if plotly else "")
        + "</body></html>\n"
    )
