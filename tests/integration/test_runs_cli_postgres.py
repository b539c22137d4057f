"""The run queries behind ``kestrel runs list|compare|delete`` on PostgreSQL.

The database is shared with other tests, so every assertion looks only at this test's
own runs (recognized by a unique strategy file name).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from engine.persistence import RunStore
from tests.integration.conftest import CliRunner

pytestmark = pytest.mark.postgres


def _row(run_id: str, strategy: str, symbols: str, total_return: float, extra: float) -> dict:  # type: ignore[type-arg]
    return {
        "run_id": run_id, "name": "pg", "strategy": strategy, "symbols": symbols,
        "created_at": "2026-01-01T00:00:00+00:00", "start_ns": 0, "end_ns": 1, "bars": 10,
        "initial_cash": 100.0, "final_equity": 100.0 * (1 + total_return),
        "total_return": total_return, "sharpe": 1.0, "max_drawdown": -0.1, "num_trades": 3,
        "artifacts_dir": None, "config_toml": "",
        "metrics_json": f'{{"calmar": {extra}, "total_return": {total_return}}}',
    }  # fmt: skip


def test_query_sort_filter_and_delete_on_postgres(fresh_postgres: str, kestrel: CliRunner) -> None:
    # a database of its own: the shared one may hold another branch's schema version
    postgres_url = fresh_postgres
    store = RunStore(postgres_url)
    tag = f"pgquery_{uuid.uuid4().hex[:8]}"
    ids = [f"{tag}-{k}" for k in range(3)]
    rows = [
        _row(ids[0], f"{tag}.py:A", "BTC/USDT", 0.5, 2.0),
        _row(ids[1], f"{tag}.py:A", "BTC/USDT,ETH/USDT", -0.2, -1.0),
        _row(ids[2], f"{tag}.py:B", "GOOG", 0.1, 0.5),
    ]
    for row in rows:
        store.save_run(row, order_rows=[], fill_rows=[], trade_rows=[], equity_rows=[])
    try:
        mine = store.query_runs(strategy=tag, sort="total_return", limit=None)
        assert [r["run_id"] for r in mine] == [ids[0], ids[2], ids[1]]
        eth = store.query_runs(strategy=tag, symbol="eth/usdt", limit=None)
        assert [r["run_id"] for r in eth] == [ids[1]]
        good = store.query_runs(strategy=tag, conditions=[("calmar", ">", 0.0)], limit=None)
        assert sorted(r["run_id"] for r in good) == [ids[0], ids[2]]
        ascending = store.query_runs(strategy=f"{tag}.py:A", sort="calmar", descending=False)
        assert [r["run_id"] for r in ascending] == [ids[1], ids[0]]
        assert store.find_run_ids(f"{tag}-1") == [ids[1]]
        listed = kestrel(
            "runs", "list", "--db", postgres_url, "--strategy", tag, "--where", "total_return<0"
        )
        assert listed.code == 0, listed.err
        assert ids[1] in listed.out
        assert ids[0] not in listed.out
        deleted = kestrel("runs", "delete", ids[2], "--db", postgres_url, "--yes")
        assert deleted.code == 0, deleted.err
        assert store.get_run(ids[2]) is None
    finally:
        for run_id in ids:
            store.delete_run(run_id)


def test_report_of_a_stored_run_on_postgres(
    fresh_postgres: str, kestrel: CliRunner, tmp_path: Path
) -> None:
    postgres_url = fresh_postgres
    made = kestrel(
        "backtest",
        "configs/sma_cross_goog.toml",
        "--db",
        postgres_url,
        "--out",
        str(tmp_path / "g"),
    )
    assert made.code == 0, made.err
    run_id = json.loads((tmp_path / "g" / "run.json").read_text())["run_id"]
    store = RunStore(postgres_url)
    try:
        (tmp_path / "g" / "report.html").unlink()
        result = kestrel("report", run_id, "--db", postgres_url)
        assert result.code == 0, result.err
        assert (tmp_path / "g" / "report-rerender.html").is_file()
    finally:
        store.delete_run(run_id)
