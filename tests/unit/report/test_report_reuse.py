"""The report reuses the run's metrics and its trades' excursions: the same values."""

from __future__ import annotations

import json
from pathlib import Path

from engine.report.data import ReportData
from engine.report.trade_stats import trade_excursions
from tests.unit.report.test_report_charts import indicator_run


def test_reused_metrics_equal_a_fresh_computation(tmp_path: Path) -> None:
    result = indicator_run(tmp_path)
    reused = ReportData.from_result(result)
    assert reused.run_metrics is not None
    reused.compute()
    fresh = ReportData.from_result(result)
    fresh.run_metrics = None
    fresh.compute()
    assert json.dumps(reused.metrics, sort_keys=True) == json.dumps(fresh.metrics, sort_keys=True)


def test_other_options_than_the_runs_compute_afresh(tmp_path: Path) -> None:
    data = ReportData.from_result(indicator_run(tmp_path))
    data.compute(trials=3, risk_free_rate=0.02)
    assert (data.metrics["trials"], data.metrics["risk_free_rate"]) == (3, 0.02)


def test_each_trades_excursions_are_its_own(tmp_path: Path) -> None:
    data = ReportData.from_result(indicator_run(tmp_path))
    trades = data.trades
    assert len(trades) == 2
    split = trade_excursions(trades[:1], data.frames) + trade_excursions(trades[1:], data.frames)
    assert data.excursions() == split
    assert data.excursions() is data.excursions()  # computed once
