"""Reporting: the recorder of a run's events, metrics, and the artifact files.

- `recorder`: `Recorder` — orders, fills, round-trip trades and equity as rows.
- `metrics`: `compute_metrics` — documented formulas (returns, risk, tails, benchmark,
  probabilistic/deflated Sharpe); `trade_stats`: trade statistics and MAE/MFE;
  `series`: the period returns, drawdowns and benchmark series both of them use.
- `artifacts`: `write_artifacts` — config.toml, metrics.json and the CSV files.
- `html`: `render_report` — ``report.html`` (from a result or a run folder, gathered by
  `data`; charts in `charts`, page style and script in `page`); `assets`: where a page
  gets plotly.js (one shared copy in ``_assets/``, or embedded with ``--self-contained``).
- `compare`: several runs side by side; `export`: a run as a reproducible zip.
"""

from engine.report.metrics import compute_metrics
from engine.report.recorder import Recorder, TradeRecord

__all__ = ["Recorder", "TradeRecord", "compute_metrics"]
