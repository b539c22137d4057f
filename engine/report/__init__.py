"""Reporting: the recorder of a run's events, metrics, and the artifact files.

- `recorder`: `Recorder` — orders, fills, round-trip trades and equity as rows.
- `metrics`: `compute_metrics` — documented formulas (returns, risk, tails, benchmark,
  probabilistic/deflated Sharpe); `trade_stats`: trade statistics and MAE/MFE;
  `series`: the period returns, drawdowns and benchmark series both of them use.
- `artifacts`: `write_artifacts` — config.toml, metrics.json and the CSV files (their text
  formatted and written a whole column at a time by `csv_text`).
- `html`: `render_report` — ``report.html`` (from a result or a run folder, gathered by
  `data`; charts in `charts`, page style and script in `page`); `assets`: where a page
  gets plotly.js (one shared copy in ``_assets/``, or embedded with ``--self-contained``).
- `compare`: several runs side by side; `export`: a run as a reproducible zip.
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# Imported on first use (`engine.lazy`): `engine.report.run_folder` and `denials` serve
# the CLI without loading pandas through the metrics.
if TYPE_CHECKING:
    from engine.report.metrics import compute_metrics
    from engine.report.recorder import Recorder, TradeRecord
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Recorder": "engine.report.recorder",
            "TradeRecord": "engine.report.recorder",
            "compute_metrics": "engine.report.metrics",
        },
    )

__all__ = ["Recorder", "TradeRecord", "compute_metrics"]
