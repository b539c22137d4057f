"""Reporting: the recorder of a run's events, metrics, and the artifact files.

- `recorder`: `Recorder` — orders, fills, round-trip trades and equity as rows.
- `metrics`: `compute_metrics` — documented formulas.
- `artifacts`: `write_artifacts` — config.toml, metrics.json and the CSV files.
"""

from engine.report.metrics import compute_metrics
from engine.report.recorder import Recorder, TradeRecord

__all__ = ["Recorder", "TradeRecord", "compute_metrics"]
