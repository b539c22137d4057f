"""``kestrel live`` refuses to resume an account whose money-deciding config changed (audit F1).

The local exchange runs in this process, paused, replaying BTC/USDT hours from 2020-12-01;
a thread closes one bar at a time once the node has handled the last (lockstep by hand),
so every figure is the sample's. Session 1 trades `BuyThenKill` (a market buy of 0.05 on
its first bar) for 3 bars. By hand: the buy fills at the 01:00 open, 19,565.47, fee
0.9782735 → cash 9,020.7482265; equity after each bar is that cash + 0.05 × the close:
9,999.0217265 (19,565.47), 10,001.0357265 (19,605.75), 10,004.7957265 (19,680.95).

Then the account is started again with its ``[account] initial_cash`` doubled, with another
strategy id and with one more symbol: each is refused in one line, exit 2, before anything
connects — the store, ``events.jsonl`` and the exchange's orders are as session 1 left them.
Before the fix the changed cash was accepted: the node booked cash 18,857.01 against a
wallet of 8,857.01 in the audit's run (20,000 + its fills) and said "wallet matches".

A change of the strategy's parameters is not refused (`engine.runtime.live.restore.LIVE_PARTS`):
the node resumes with the stored cash, 9,020.7482265, and the 0.05 it holds; its first
bar (04:00 close, 19,419.74) stores equity 9,020.7482265 + 970.987 = 9,991.7352265.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from tests.contract.conftest import BTC, btc_rows
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_live_kill_equity import ACCOUNT, BUY_CASH, SECRET, near, write_config
from tests.integration.test_live_restart_cli import _records

ETH_DATA = f"""
[[data]]
path = "{REPO}/data/binance_ETH_USDT_1h_20201201_20210717.csv"
symbol = "ETH/USDT"
end = "2020-12-15"
"""


@pytest.fixture
def local() -> Iterator[LocalExchange]:
    """The exchange, paused before the sample's first bar closes (no history: no warm-up)."""
    frame = load_bars(btc_rows(48), symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange([frame], {"BTC/USDT": BTC}, secret=SECRET, paused=True, history=0)
    exchange.start()
    yield exchange
    exchange.stop()


@contextmanager
def stepping(local: LocalExchange, log: Path, bars: int) -> Iterator[None]:
    """Close at most ``bars`` bars, each once the node that starts next handled the last."""
    starts, events = len(_records(log, "start")), len(_records(log, "event"))
    done = threading.Event()

    def step() -> None:
        closed = 0
        while not done.is_set() and closed < bars:
            started = len(_records(log, "start")) > starts
            if started and len(_records(log, "event")) - events >= closed:
                local.advance_to_close()
                closed += 1
            time.sleep(0.05)

    thread = threading.Thread(target=step, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=30)


def snapshot(db: Path, log: Path, local: LocalExchange) -> dict[str, Any]:
    """Return every row of every table, the events log and the exchange's orders."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    orders = sorted(o.client_id for o in local.venue.orders.values())
    return {"rows": rows, "log": (log / "events.jsonl").read_bytes(), "orders": orders}


def equity(db: Path) -> list[tuple[int, int, float]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT ts_ns, session, equity FROM live_equity WHERE account = ? ORDER BY ts_ns",
            (ACCOUNT,),
        ).fetchall()


def test_a_changed_account_config_is_refused_and_a_new_parameter_is_not(
    kestrel: CliRunner, tmp_path: Path, local: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", "any")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    db, log = tmp_path / "k.db", tmp_path / "log"

    def run(config: Path, bars: int) -> Any:
        with stepping(local, log, bars):
            return kestrel(
                "live", str(config), "--live", "--exchange-url", local.urls["http"],
                "--db", f"sqlite:///{db}", "--log-dir", str(log), "--max-bars", str(bars),
            )  # fmt: skip

    first = run(write_config(tmp_path, "buy_at = 1"), 3)
    assert first.code == 0, first.err
    session_1 = [
        (1_606_784_400_000_000_000, 1, near(9_999.0217265)),
        (1_606_788_000_000_000_000, 1, near(10_001.0357265)),
        (1_606_791_600_000_000_000, 1, near(10_004.7957265)),
    ]
    assert equity(db) == session_1
    before = snapshot(db, log, local)
    for changes, part in [
        ({"initial_cash = 10000.0": "initial_cash = 20000.0"}, "account"),
        ({"[strategy]\n": '[strategy]\nid = "other"\n'}, "strategy"),
        ({"[[instruments]]": f"{ETH_DATA}\n[[instruments]]"}, "instruments"),
    ]:
        refused = run(write_config(tmp_path, "buy_at = 1", changes), 1)
        assert_one_line_error(
            refused,
            f"live account '{ACCOUNT}' was started with a different config ({part} changed)",
            "run it with its original config, or start a new account with --account",
        )
        assert snapshot(db, log, local) == before, part
    # a new parameter (buy nothing) is the strategy's business: resumed, money as stored
    resumed = run(write_config(tmp_path, "buy_at = 0"), 1)
    assert resumed.code == 0, resumed.err
    start = _records(log, "start")[-1]
    assert (start["session"], start["cash"]) == (2, near(BUY_CASH))
    assert start["positions"] == {"BTC/USDT": near(0.05)}
    assert equity(db) == [*session_1, (1_606_795_200_000_000_000, 2, near(9_991.7352265))]
    with closing(sqlite3.connect(db)) as conn:
        (stored,) = conn.execute("SELECT config_toml FROM live_accounts").fetchone()
    assert "buy_at = 0" in stored  # the latest session's config, as before
