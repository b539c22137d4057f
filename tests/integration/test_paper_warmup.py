"""``kestrel paper --warmup-bars N``: indicators warm at the first live bar, same after a kill.

A new account fetches the N bars closed before its start from the exchange (the local one,
in-process, replaying the demo config's bars; it starts N bars into them), stores them as
the journal's first rows and builds the node over them. Its decisions must equal those of
a backtest over warm-up plus live bars whose strategy skips the warm-up bars — in
particular an upward SMA(10/30) cross on live bar 9, which an account without warm-up cannot
see (its slow SMA needs 30 live bars). An account killed with SIGKILL and restarted with
another ``--warmup-bars`` keeps its stored warm-up and ends exactly like the first.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar
from engine.runtime.backtest import load_frames
from engine.strategy import Context, make_strategy
from strategies.sma_cross import SmaCross
from tests.integration.conftest import REPO, CliRunner

WARMUP = 100  # bars 0..99; the first upward cross after them is on bar 108 (live bar 9)


class SkipWarmup(SmaCross):
    """The SMA cross, deciding nothing on the bars up to ``until`` (the warm-up's)."""

    until = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if bar.ts_event > self.until:
            super().on_bar(ctx, bar)


def _config(tmp_path: Path) -> Path:
    text = (REPO / "configs" / "paper_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    text = text.replace("fast = 5, slow = 20", "fast = 10, slow = 30")
    path = tmp_path / "paper.toml"
    path.write_text(text)
    return path


def _args(
    config: Path, db: Path, account: str, warmup: int, log: Path, speed: str = "max"
) -> list[str]:
    return [
        "paper", str(config), "--replay", str(config), "--speed", speed, "--poll", "0.05",
        "--db", f"sqlite:///{db}", "--account", account, "--log-dir", str(log),
        "--warmup-bars", str(warmup),
    ]  # fmt: skip


def _rows(db: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def _journal(db: Path, account: str) -> list[dict[str, Any]]:
    sql = "SELECT kind, ts_event, symbol, payload FROM paper_journal WHERE account = ? ORDER BY seq"
    return _rows(db, sql, account)


def test_warm_indicators_decide_on_live_bars_as_the_backtest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config_path = _config(tmp_path)
    db = tmp_path / "k.db"
    result = kestrel(*_args(config_path, db, "warm", WARMUP, tmp_path / "log"))
    assert result.code == 0, result.err
    assert "end of the replay" in result.out
    # a new account is new, with its warm-up (it read "resumed (100 inputs replayed)")
    assert "paper account warm: new (100 warm-up bars)" in result.out
    assert "warning" not in result.err

    config = load_config(config_path)
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    until = int(frame.ts_close_ns[WARMUP - 1])

    journal = _journal(db, "warm")
    kinds = [row["kind"] for row in journal]
    assert kinds == ["warmup"] * WARMUP + ["bar"] * (len(frame) - WARMUP)
    assert [row["ts_event"] for row in journal] == frame.ts_close_ns.tolist()
    for row, close in zip(journal, frame.close, strict=True):
        assert json.loads(row["payload"])["close"] == close  # served and stored exactly

    strategy = make_strategy(SkipWarmup, config.strategy.params)
    assert isinstance(strategy, SkipWarmup)
    strategy.until = until
    backtest = run_backtest(config, frames=[frame], strategy=strategy)
    expected = list(backtest.recorder.orders.values())
    assert len(expected) >= 5
    # the first order: live bar 9, before 30 live bars could fill a cold SMA(30)
    assert expected[0]["ts_requested"] == int(frame.ts_close_ns[108])
    orders = _rows(db, "SELECT * FROM orders WHERE run_id = 'paper-warm'")
    stored = {r["order_id"]: {k: v for k, v in r.items() if k != "run_id"} for r in orders}
    assert stored == {row["order_id"]: row for row in expected}
    fills = _rows(db, "SELECT * FROM fills WHERE run_id = 'paper-warm' ORDER BY ts_event")
    assert [(f["fill_id"], f["quantity"], f["price"], f["fee"]) for f in fills] == [
        (f.fill_id, f.quantity, f.price, f.fee) for f in backtest.recorder.fills
    ]
    equity = _rows(db, "SELECT * FROM equity WHERE run_id = 'paper-warm' ORDER BY ts_event")
    curve = backtest.equity_curve
    live = curve.ts > until
    assert [row["ts_event"] for row in equity] == curve.ts[live].tolist()
    for row, value in zip(equity, curve.equity[live].tolist(), strict=True):
        assert row["equity"] == pytest.approx(value, rel=1e-12, abs=1e-9)


def _count(db: Path, account: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            sql = "SELECT count(*) FROM paper_journal WHERE account = ?"
            return int(conn.execute(sql, (account,)).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def test_a_sigkill_restart_keeps_the_stored_warmup(kestrel: CliRunner, tmp_path: Path) -> None:
    config_path = _config(tmp_path)
    db = tmp_path / "k.db"
    whole = kestrel(*_args(config_path, db, "whole", WARMUP, tmp_path / "whole"))
    assert whole.code == 0, whole.err

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("KESTREL_DB_URL", None)
    command = [sys.executable, "-m", "engine.cli"]
    # Paced at 10 hourly bars a second, the run needs ~2 s to journal its 20th live bar and
    # ~20 s more to end: the kill lands mid-run even on a loaded machine. At --speed max the
    # whole replay could end between two polls (it did once in CI: nothing was killed).
    crashy = _args(config_path, db, "crashy", WARMUP, tmp_path / "crashy", speed="36000")
    proc = subprocess.Popen(
        [*command, *crashy], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while _count(db, "crashy") < WARMUP + 20 and proc.poll() is None:
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1]  # it must still be running
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed = _journal(db, "crashy")
    assert WARMUP + 20 <= len(killed) < len(_journal(db, "whole"))

    # restarted with another --warmup-bars: the stored warm-up is used, nothing refetched
    again = kestrel(*_args(config_path, db, "crashy", 7, tmp_path / "crashy"))
    assert again.code == 0, again.err
    assert "resumed" in again.out
    assert _journal(db, "crashy") == _journal(db, "whole")
    for table, key in (("orders", "order_id"), ("fills", "fill_id"), ("equity", "ts_event")):
        sql = f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {key}"
        crashed = [
            {k: v for k, v in r.items() if k != "run_id"} for r in _rows(db, sql, "paper-crashy")
        ]
        uninterrupted = [
            {k: v for k, v in r.items() if k != "run_id"} for r in _rows(db, sql, "paper-whole")
        ]
        assert crashed == uninterrupted, table
        assert crashed or table != "fills"


def test_a_warm_up_longer_than_the_data_is_said(kestrel: CliRunner, tmp_path: Path) -> None:
    # --warmup-bars 100000 on a 335-bar replay took every bar as warm-up and exited 0 with
    # "0 new bars" and no word of it (found by an audit)
    config_path = _config(tmp_path)
    result = kestrel(*_args(config_path, tmp_path / "k.db", "long", 100_000, tmp_path / "log"))
    assert result.code == 0, result.err
    warned = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1
    assert "warm-up bars of the 100000 asked for were there" in warned[0]
