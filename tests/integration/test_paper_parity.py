"""Paper against the local exchange decides exactly as a backtest of the same bars.

``kestrel paper --replay`` serves the config's bars from the local exchange (in-process, as
fast as it is read), polls them over REST like any exchange and runs the node on them; the
backtest runs the same bars from the file. The bars the account journaled, its orders, its
fills and its equity after every bar must equal the backtest's. The replay plays its last bar
to its close too (`Replay.end_at_last_close`), so both run every bar of the data.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.runtime.backtest import load_frames
from tests.integration.conftest import REPO, CliRunner

CONFIG = "configs/paper_btc.toml"


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql).fetchall()]


@pytest.mark.parametrize("sets", [[], ["strategy.params.allow_short=true"]])
def test_paper_on_the_local_exchange_matches_the_backtest(
    kestrel: CliRunner, tmp_path: Path, sets: list[str]
) -> None:
    config_path = tmp_path / "paper.toml"
    text = (REPO / CONFIG).read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    if sets:
        text = text.replace("slow = 20 }", "slow = 20, allow_short = true }")
    config_path.write_text(text)
    db = tmp_path / "k.db"
    result = kestrel(
        "paper", str(config_path), "--replay", str(config_path), "--speed", "max",
        "--poll", "0.05", "--db", f"sqlite:///{db}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "end of the replay" in result.out

    config = load_config(config_path)
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    backtest = run_backtest(config, frames=[frame])  # every bar: the replay's last closes too

    journal = _rows(db, "SELECT * FROM paper_journal WHERE account = 'paper_btc' ORDER BY seq")
    assert [row["ts_event"] for row in journal] == frame.ts_close_ns.tolist()
    for row, close, volume in zip(journal, frame.close, frame.volume, strict=True):
        payload = json.loads(row["payload"])
        assert (payload["close"], payload["volume"]) == (close, volume)  # served exactly

    orders = _rows(db, "SELECT * FROM orders WHERE run_id = 'paper-paper_btc'")
    expected_orders = list(backtest.recorder.orders.values())
    assert len(expected_orders) >= 10
    stored = {r["order_id"]: {k: v for k, v in r.items() if k != "run_id"} for r in orders}
    assert len(orders) == len(expected_orders)
    assert stored == {row["order_id"]: row for row in expected_orders}
    fills = _rows(db, "SELECT * FROM fills WHERE run_id = 'paper-paper_btc' ORDER BY ts_event")
    expected_fills = backtest.recorder.fills
    assert [(f["fill_id"], f["order_id"], f["quantity"], f["price"], f["fee"]) for f in fills] == [
        (f.fill_id, f.order_id, f.quantity, f.price, f.fee) for f in expected_fills
    ]
    equity = _rows(db, "SELECT * FROM equity WHERE run_id = 'paper-paper_btc' ORDER BY ts_event")
    assert [row["ts_event"] for row in equity] == backtest.equity_curve.ts.tolist()
    for row, cash, value in zip(
        equity, backtest.equity_curve.cash.tolist(), backtest.equity_curve.equity.tolist(),
        strict=True,
    ):  # fmt: skip
        assert row["cash"] == pytest.approx(cash, rel=1e-12, abs=1e-9)
        assert row["equity"] == pytest.approx(value, rel=1e-12, abs=1e-9)
    run = _rows(db, "SELECT * FROM runs WHERE run_id = 'paper-paper_btc'")[0]
    assert run["final_equity"] == pytest.approx(backtest.metrics["final_equity"], rel=1e-12)
    assert run["num_trades"] == backtest.metrics["num_trades"]
