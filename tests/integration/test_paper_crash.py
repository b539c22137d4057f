"""``kestrel paper`` killed with SIGKILL at 12 random moments loses nothing, doubles nothing.

An uninterrupted account and a crashed-and-restarted one trade the same replayed stream
(the local exchange in-process, at full speed). The crashed one is killed at 12 seeded
moments — each after a random number of journaled bars plus a random few milliseconds, so
kills land anywhere: before the account exists, between a journal commit and its outputs,
in a replay, in catch-up — and restarted each time. Its journal, orders, fills, equity and
final cash and positions must equal the uninterrupted account's.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO

CONFIG = "configs/paper_btc.toml"
SEED = 1414
KILLS = 12  # 20 in the first version: each kill restarts the account (~3 s of CI)


def _command(db: Path, account: str, log_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "engine.cli", "paper", CONFIG, "--replay", CONFIG,
        "--speed", "max", "--poll", "0.05", "--db", f"sqlite:///{db}",
        "--account", account, "--log-dir", str(log_dir),
    ]  # fmt: skip


class _Journal:
    """Counts an account's journal rows through one read-only connection, opened once the
    store exists and kept between looks: the kill loop looks every 2 ms, and a connection
    per look cost ~20x the count (9 s of CPU over the test, taken from the node it times)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.conn: sqlite3.Connection | None = None

    def rows(self, account: str) -> int:
        if self.conn is None:
            if not self.db.exists():
                return 0
            self.conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            sql = "SELECT count(*) FROM paper_journal WHERE account = ?"
            ((count,),) = self.conn.execute(sql, (account,)).fetchall()
        except sqlite3.OperationalError:  # the schema is not created yet
            return 0
        return int(count)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args).fetchall())


@pytest.mark.slow
def test_sigkill_twelve_times_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    db = tmp_path / "kestrel.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("KESTREL_DB_URL", None)
    whole = subprocess.run(
        _command(db, "whole", tmp_path / "whole"),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    journal = _Journal(db)
    total = journal.rows("whole")
    assert total > 300

    rng = random.Random(SEED)
    targets = sorted(rng.sample(range(total), KILLS))
    killed_at: list[int] = []
    for target in targets:
        proc = subprocess.Popen(
            _command(db, "crashy", tmp_path / "crashy"),
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while journal.rows("crashy") < target and proc.poll() is None:
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.02))
        assert proc.poll() is None, proc.communicate()[1]  # it must still be running
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
        killed_at.append(journal.rows("crashy"))
    journal.close()
    assert len(set(killed_at)) > KILLS // 2  # the kills landed at many different places

    last = subprocess.run(
        [*_command(db, "crashy", tmp_path / "crashy"), "--resume"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert last.returncode == 0, last.stderr
    assert "resumed" in last.stdout

    rows = "SELECT seq, kind, ts_event, symbol, payload FROM paper_journal WHERE account = ?"
    assert _rows(db, rows + " ORDER BY seq", "crashy") == _rows(db, rows + " ORDER BY seq", "whole")
    for table, key in (("orders", "order_id"), ("fills", "fill_id"), ("equity", "ts_event")):
        sql = f"SELECT * FROM {table} WHERE run_id = ? ORDER BY {key}"
        crashed = [row[1:] for row in _rows(db, sql, "paper-crashy")]
        uninterrupted = [row[1:] for row in _rows(db, sql, "paper-whole")]
        assert crashed == uninterrupted, table
    fills = _rows(db, "SELECT count(*) FROM fills WHERE run_id = 'paper-crashy'")[0][0]
    assert fills >= 10
    # the stop line of each: same fills, cash, equity, positions and open orders
    assert _account_state(last.stdout) == _account_state(whole.stdout)
    # the backtest's: the replay plays the data's last bar too (it stopped one short: 9,961.36)
    assert "17 fills, cash 0.18, equity 9,951.68, BTC/USDT 0.51634" in _account_state(last.stdout)


def _account_state(stdout: str) -> str:
    """Return "N fills, cash …, open orders" from the stop line (bars counts differ)."""
    line = stdout.splitlines()[-1]
    return line.split(" new bars, ", 1)[1].split("; stored", 1)[0]
