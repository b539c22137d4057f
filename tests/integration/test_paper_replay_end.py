"""The end of a paper replay: the data's last bar is played, as the backtest plays it.

Audit F2: ``kestrel paper --replay`` stopped its clock at the last bar's open, so that bar
never closed: a copy of ``configs/paper_btc.toml`` ending 2020-12-03T07:00 made 54 bars in
paper and 55 in the backtest, whose sell decided on the second-to-last bar fills at the
last bar's open (0.52473 BTC at 18,920.93, flat at 9,918.55) while paper kept holding the
BTC (9,929.47). The local exchange plays the last bar to its close when asked
(`Replay.end_at_last_close`); a paper replay must ask it, and then equals the backtest
over the whole data: the bars journaled, the fills, every equity row, the final equity.
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


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql).fetchall()]


def test_a_paper_replay_plays_the_last_bar_and_ends_as_the_backtest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config_path = tmp_path / "paper.toml"
    text = (REPO / "configs/paper_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    config_path.write_text(text.replace('end = "2020-12-15"', 'end = "2020-12-03T07:00:00"'))
    db = tmp_path / "k.db"
    result = kestrel(
        "paper", str(config_path), "--replay", str(config_path), "--speed", "max",
        "--db", f"sqlite:///{db}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "end of the replay" in result.out

    config = load_config(config_path)
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    backtest = run_backtest(config)  # every bar of the data
    journal = _rows(db, "SELECT * FROM paper_journal WHERE account = 'paper_btc' ORDER BY seq")
    assert [row["ts_event"] for row in journal] == frame.ts_close_ns.tolist()  # the last too
    last = json.loads(journal[-1]["payload"])
    assert (last["close"], last["volume"]) == (frame.close[-1], frame.volume[-1])

    fills = _rows(db, "SELECT * FROM fills WHERE run_id = 'paper-paper_btc' ORDER BY ts_event")
    expected = backtest.recorder.fills
    sell = expected[-1]  # decided on the second-to-last bar, filled at the last bar's open
    assert sell.price == pytest.approx(18_920.93, abs=0.01)
    assert [(f["order_id"], f["quantity"], f["price"], f["fee"]) for f in fills] == [
        (f.order_id, f.quantity, f.price, f.fee) for f in expected
    ]
    equity = _rows(db, "SELECT * FROM equity WHERE run_id = 'paper-paper_btc' ORDER BY ts_event")
    assert [row["ts_event"] for row in equity] == backtest.equity_curve.ts.tolist()
    for row, value in zip(equity, backtest.equity_curve.equity.tolist(), strict=True):
        assert row["equity"] == pytest.approx(value, rel=1e-12, abs=1e-9)
    run = _rows(db, "SELECT * FROM runs WHERE run_id = 'paper-paper_btc'")[0]
    assert run["final_equity"] == pytest.approx(backtest.metrics["final_equity"], rel=1e-12)
    assert run["final_equity"] == pytest.approx(9_918.55, abs=0.01)  # flat, as the backtest
