"""``kestrel paper`` on bars and live trades, killed with SIGKILL and restarted: same account.

The account of `test_paper_ticks_parity` (BTC/USDT on bars, ETH/USDT on trades over the
local exchange's websockets) runs once uninterrupted and once killed at three moments and
restarted each time. A restart replays the journal, and the in-process replay serves the
stream from its start again: bars already journaled and trades before the last input (or
at its time and journaled) are dropped, so nothing is doubled and nothing lost. Journal,
orders, fills and equity must be equal — up to the replay's last instant, whose trade
races the end of the data in every run (`test_paper_ticks_parity`).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import load_config
from engine.feeds import BarFrame
from engine.runtime.backtest import load_frames
from tests.integration.conftest import REPO
from tests.integration.test_paper_crash import _Journal
from tests.integration.test_paper_ticks_parity import COMMON, STRATEGY

KILL_AT = (40, 130, 250)  # journal rows (of about 333) after which a kill is sent


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return list(conn.execute(sql, args).fetchall())


def _crash_and_resume(
    command: Callable[[str], list[str]], db: Path, cwd: Path, env: dict[str, str]
) -> None:
    """Kill the crashy account after each of ``KILL_AT`` journal rows, then resume it."""
    journal = _Journal(db)  # one connection for every look (a look each 5 ms)
    for target in KILL_AT:
        proc = subprocess.Popen(
            command("crashy"), cwd=cwd, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while journal.rows("crashy") < target and proc.poll() is None:
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()[1]
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    journal.close()
    last = subprocess.run(
        [*command("crashy"), "--resume"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert last.returncode == 0, last.stderr
    assert "resumed" in last.stdout


@pytest.mark.slow
def test_sigkill_and_restart_with_live_trades_equals_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    btc = REPO / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
    eth = REPO / "data" / "binance_ETH_USDT_1h_20201201_20210717.csv"
    replay = tmp_path / "replay.toml"
    replay.write_text(
        f'[run]\nname = "replay"\n[strategy]\npath = "x:Y"\n{COMMON}'
        f'[[data]]\npath = "{btc}"\nsymbol = "BTC/USDT"\nend = "2020-12-08"\n'
        f'[[data]]\npath = "{eth}"\nsymbol = "ETH/USDT"\nend = "2020-12-08"\n'
    )
    (tmp_path / "bars_and_ticks.py").write_text(STRATEGY)
    config = tmp_path / "ticks.toml"
    config.write_text(
        f'[run]\nname = "ticks"\n[strategy]\npath = "bars_and_ticks.py:BarsAndTicks"\n'
        f'{COMMON}[[data]]\npath = "{btc}"\nsymbol = "BTC/USDT"\nend = "2020-12-08"\n'
        f'[[data]]\npath = "eth_trades.csv"\nsymbol = "ETH/USDT"\nkind = "trades"\n'
    )
    db = tmp_path / "k.db"
    whole_db = tmp_path / "whole.db"  # its own store: the two accounts run at the same time
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("KESTREL_DB_URL", None)

    def command(account: str, store: Path = db) -> list[str]:
        return [
            sys.executable, "-m", "engine.cli", "paper", str(config), "--replay", str(replay),
            "--speed", "36000", "--db", f"sqlite:///{store}", "--account", account,
            "--log-dir", str(tmp_path / account),
        ]  # fmt: skip

    # The uninterrupted account replays (paced: ~17 s of mostly waiting) while the crashy
    # one is killed and restarted: neither depends on the other until the comparison.
    # (its output goes to files: an unread pipe would stall it once full)
    with (tmp_path / "whole.out").open("w") as out, (tmp_path / "whole.err").open("w") as err:
        whole = subprocess.Popen(
            command("whole", whole_db), cwd=tmp_path, env=env, stdout=out, stderr=err
        )
    try:
        _crash_and_resume(command, db, tmp_path, env)
        assert whole.wait(timeout=180) == 0, (tmp_path / "whole.err").read_text()
    finally:
        if whole.poll() is None:
            whole.kill()
            whole.wait()

    frame = load_frames(load_config(replay))[0]
    assert isinstance(frame, BarFrame)
    end = int(frame.ts_open_ns[-1])  # the replay's last instant (its last trade races it)
    journal = "SELECT kind, ts_event, symbol, payload FROM paper_journal WHERE account = ?"
    crashed = [row for row in _rows(db, journal + " ORDER BY seq", "crashy") if row[1] < end]
    uninterrupted = [
        row for row in _rows(whole_db, journal + " ORDER BY seq", "whole") if row[1] < end
    ]
    assert crashed == uninterrupted
    assert {row[0] for row in crashed} == {"bar", "trade"}
    for table, key, ts in (
        ("orders", "order_id", "ts_requested"),
        ("fills", "fill_id", "ts_event"),
        ("equity", "ts_event", "ts_event"),
    ):
        sql = f"SELECT * FROM {table} WHERE run_id = ? AND {ts} < ? ORDER BY {key}"
        got = [row[1:] for row in _rows(db, sql, "paper-crashy", end)]
        assert got == [row[1:] for row in _rows(whole_db, sql, "paper-whole", end)], table
        assert got, table
