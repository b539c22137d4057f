"""Account and risk events reach events.csv, the run store and the HTML report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import sqlalchemy as sa

from tests.integration.conftest import CliRunner


def test_guard_and_borrow_fees_are_recorded_everywhere(kestrel: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--out", str(tmp_path / "run"),
        "--db", f"sqlite:///{db}",
        "--set", "risk.max_drawdown_pct=20.0", "--set", 'risk.guard_action="halted"',
        "--set", "account.leverage=2.0",
        "--set", "account.borrow_rate=0.05", "--set", "strategy.params.allow_short=true",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "trading state active -> halted" in result.out

    with (tmp_path / "run" / "events.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    kinds = [row["kind"] for row in rows]
    assert kinds.count("trading_state") == 1
    assert kinds.count("borrow_fee") > 10
    fee = next(row for row in rows if row["kind"] == "borrow_fee")
    assert float(fee["amount"]) < 0
    assert fee["detail"].startswith("borrow_fee due at 20")
    assert [row["ts_event"] for row in rows] == sorted(row["ts_event"] for row in rows)

    run_id = json.loads((tmp_path / "run" / "run.json").read_text())["run_id"]
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        stored = conn.execute(
            sa.text("select kind, amount from events where run_id = :r order by seq"),
            {"r": run_id},
        ).fetchall()
    assert [kind for kind, _ in stored] == kinds

    page = (tmp_path / "run" / "report.html").read_text()
    assert "Account and risk events" in page
    assert "active -&gt; halted: max_drawdown" in page
