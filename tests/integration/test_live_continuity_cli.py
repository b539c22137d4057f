"""``kestrel live`` killed and restarted keeps its timers' schedule and its equity curve
(issue 15), through the CLI against the local exchange in this process (4 hourly bars a
second; see `tests.integration.test_live_restart_cli`).

Timers: the strategy sets a 2-hour timer in ``on_start`` (``kestrel live`` fires timers on
its clock: at an ``--exchange-url`` the exchange's, here the replay's, 4 hours a wall
second) and appends each firing's scheduled time to a file. The node is killed, left down
for more than two intervals and restarted: every firing, before and after, is on the first
start's phase, and none falls while it was down.

Equity: an SMA crossover is killed mid-run and restarted; the stored curve keeps the rows
written before the kill unchanged and appends the restarted node's, one per bar, strictly
increasing, and the last one is cash plus the position at the last bar's close;
``kestrel live-report`` writes that curve, and the round trips of both sessions' fills over
the bars both stored.
Every wait polls for its condition with a generous timeout.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from engine.feeds import format_timestamp, load_bars
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from engine.runtime.live.kill import node_positions
from engine.runtime.live.venue import kernel_fill
from tests.contract.conftest import BTC, btc_rows
from tests.integration.conftest import REPO
from tests.integration.test_live_crash import CONFIG
from tests.integration.test_live_restart_cli import (
    INSTRUMENTS,
    _command,
    _node_env,
    _paused_exchange,
    _records,
    _wait,
)

INTERVAL = 2 * 3_600 * 10**9  # ns of the exchange's clock: half a wall second
STRATEGY = """
from typing import Any

from engine.strategy import Strategy


class Beating(Strategy):
    def on_start(self, ctx: Any) -> None:
        ctx.set_timer("beat", {interval})

    def on_timer(self, ctx: Any, name: str) -> None:
        with open({log!r}, "a", encoding="utf-8") as out:
            out.write(f"{{name}} {{ctx.time_ns}}\\n")
"""


def _firings(path: Path) -> list[int]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [int(line.split()[1]) for line in lines if line.startswith("beat ")]


def _start(config: Path, url: str, db: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _command(config, url, db, log), cwd=REPO, env=_node_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _alive(node: subprocess.Popen[bytes]) -> bool:
    if node.poll() is not None:
        pytest.fail(node.stderr.read().decode() if node.stderr else "the node ended early")
    return True


@pytest.mark.slow
def test_a_restarted_nodes_timer_stays_on_its_first_schedule(tmp_path: Path) -> None:
    fired = tmp_path / "fired.txt"
    (tmp_path / "beating.py").write_text(STRATEGY.format(interval=INTERVAL, log=str(fired)))
    head = CONFIG.replace('name = "crash"', 'name = "beating"').split("[strategy]", 1)[0]
    config = tmp_path / "beating.toml"
    config.write_text(head + f'[strategy]\npath = "{tmp_path / "beating.py"}:Beating"\nid = "b"\n')
    db, log = tmp_path / "k.db", tmp_path / "log"
    local = _paused_exchange()
    try:
        local.resume()
        first = _start(config, local.urls["http"], db, log)

        def beat(count: int, node: subprocess.Popen[bytes]) -> bool:
            return _alive(node) and len(_firings(fired)) >= count

        _wait(lambda: _alive(first) and len(_records(log, "event")) >= 5, "5 bars")
        _wait(lambda: beat(3, first), "3 firings")
        first.kill()
        first.wait(timeout=30)
        before = _firings(fired)
        down = local.replay.now_ms
        _wait(lambda: local.replay.now_ms >= down + 5 * INTERVAL // 10**6, "5 intervals")
        launched = local.replay.now_ms * 10**6  # occurrences fell meanwhile
        second = _start(config, local.urls["http"], db, log)
        _wait(lambda: beat(len(before) + 3, second), "3 firings after the restart")
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
    finally:
        local.stop()
    starts = _records(log, "start")
    assert [s["timers_realigned"] for s in starts] == [[], ["beat"]]
    after = _firings(fired)[len(before) :]
    everything = before + after
    assert everything == sorted(set(everything))  # strictly increasing: none twice
    assert {(ts - before[0]) % INTERVAL for ts in everything} == {0}  # one phase throughout
    assert after[0] > launched  # the occurrences while it was down were not fired
    assert (after[0] - before[-1]) // INTERVAL >= 3  # and there were at least two of them
    stored = LiveLedger(RunStore(f"sqlite:///{db}"), "beating").load_timers("b")
    assert [(t.name, t.interval_ns, (t.due_ns - before[0]) % INTERVAL) for t in stored] == [
        ("beat", INTERVAL, 0)
    ]


def _cash(ledger: LiveLedger, initial: float) -> float:
    """Return ``initial`` plus the cash flow of every fill of the node's orders."""
    mine = {o.client_id for o in ledger.orders(origin="node")}
    cash = initial
    for fill in ledger.fills():
        if fill.client_id in mine:
            quantity, fee, _ = kernel_fill(fill, BTC)
            cash += (-quantity if fill.side == "buy" else quantity) * fill.price - fee
    return cash


@pytest.mark.slow
def test_a_killed_nodes_equity_curve_continues_after_its_restart(tmp_path: Path) -> None:
    config = tmp_path / "curve.toml"
    config.write_text(CONFIG.replace('name = "crash"', 'name = "curve"'))
    db, log = tmp_path / "k.db", tmp_path / "log"
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), "curve")
    local = _paused_exchange()
    try:
        local.resume()
        first = _start(config, local.urls["http"], db, log)

        def traded() -> bool:
            held = _alive(first) and node_positions(ledger, INSTRUMENTS)["BTC/USDT"] > 0
            return held and len(ledger.equity_rows()) >= 10

        _wait(traded, "the first node to buy and write 10 rows")
        first.kill()
        first.wait(timeout=30)
        local.pause()
        before = ledger.equity_rows()
        events = [r["ts"] for r in _records(log, "event")]
        second = _start(config, local.urls["http"], db, log)
        _wait(lambda: len(_records(log, "start")) == 2 or second.poll() is not None, "restart")
        local.resume()
        _wait(lambda: _alive(second) and len(_records(log, "event")) >= len(events) + 20,
              "20 more bars")  # fmt: skip
        local.pause()  # nothing fills after the last bar: its row is the final account
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
    finally:
        local.stop()
    rows = ledger.equity_rows()
    assert rows[: len(before)] == before  # the rows written before the kill, unchanged
    times = [r.ts_ns for r in rows]
    assert times == sorted(set(times))  # strictly increasing: no bar twice
    assert {r.session for r in before} == {1}
    assert {r.session for r in rows[len(before) :]} == {2}
    # one row per bar handled: the first node's (the bar in hand at the kill may have its
    # row without its event record), then exactly the restarted node's
    later = [r["ts"] for r in _records(log, "event")][len(events) :]
    stamps = [format_timestamp(t) for t in times]
    assert stamps[: len(events)] == events
    assert len(before) - len(events) in (0, 1)
    assert stamps[len(before) :] == later
    stop = _records(log, "stop")[-1]
    assert (stop["equity_rows"], stop["equity_skipped"]) == (len(later), 0)
    # the last row is the account: cash from the node's fills plus the position at the close
    frame = load_bars(btc_rows(600), symbol="BTC/USDT", timeframe="1h")
    closes = dict(zip(frame.ts_close_ns.tolist(), frame.close.tolist(), strict=True))
    last = rows[-1]
    position = node_positions(ledger, INSTRUMENTS)["BTC/USDT"]
    assert last.cash == pytest.approx(_cash(ledger, 10_000.0), rel=1e-12)
    assert last.equity == pytest.approx(last.cash + position * closes[last.ts_ns], rel=1e-12)
    assert last.gross_exposure == pytest.approx(abs(position) * closes[last.ts_ns], rel=1e-12)
    # and `kestrel live-report` shows that curve, both sessions'
    report = tmp_path / "report"
    assert main(["live-report", str(config), "--db", f"sqlite:///{db}", "--out", str(report)]) == 0
    lines = (report / "equity.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == stamps
    metrics = json.loads((report / "metrics.json").read_text())
    assert (metrics["bars"], metrics["final_equity"]) == (len(rows), last.equity)
    # every bar either session handled is stored, once (with its row, in one commit), and the
    # round trips span the restart: closed and open trades' PnL is the equity's change
    assert [b.ts_event for b in ledger.bars()] == times
    assert [b.close for b in ledger.bars()] == [closes[t] for t in times]
    with (report / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    assert sum(r["status"] == "closed" for r in trades) == metrics["num_trades"]
    total = sum(float(r["net_pnl"]) for r in trades)
    assert total == pytest.approx(last.equity - 10_000.0, abs=1e-6)
