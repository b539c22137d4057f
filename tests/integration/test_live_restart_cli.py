"""``kestrel live`` killed and restarted resumes its account: through the CLI against the
local exchange (issue 15).

The local exchange runs in this process (4 hourly bars a second) and the node trades a fast
SMA crossover. Once the node holds a position it is killed with SIGKILL; the exchange is
paused and the node restarted: its start record must show the portfolio replayed from the
store equal to the exchange's wallet, order numbering continued. Then it trades on, stops
on SIGTERM, and the store and the exchange must agree: every exchange order stored once,
no engine or client order id used twice, fills each once, positions equal the wallet.
Every wait polls for its condition with a generous timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.persistence.schema import live_strategy_state
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.kill import node_positions
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, btc_rows
from tests.integration.conftest import REPO
from tests.integration.test_live_crash import CONFIG, SECRET

ACCOUNT = "restart"
INSTRUMENTS = {"BTC/USDT": BTC}


def _command(config: Path, url: str, db: Path, log: Path) -> list[str]:
    return [
        sys.executable, "-m", "engine.cli", "live", str(config), "--live",
        "--exchange-url", url, "--db", f"sqlite:///{db}", "--log-dir", str(log),
    ]  # fmt: skip


def _wait(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _records(log: Path, kind: str) -> list[dict[str, Any]]:
    path = log / "events.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        r for r in (json.loads(line) for line in lines if line.endswith("}")) if r["kind"] == kind
    ]


def _paused_exchange() -> LocalExchange:
    """Start the local exchange on 600 BTC/USDT hours, paused 100 bars in (4 bars a second)."""
    frame = load_bars(btc_rows(600), symbol="BTC/USDT", timeframe="1h")
    local = LocalExchange(
        [frame], INSTRUMENTS, secret=SECRET, speed=4 * 3600.0, history=100, paused=True
    )
    local.start()
    return local


def _node_env() -> dict[str, str]:
    """Return the environment of a ``kestrel live`` subprocess: test keys, the repo on path."""
    env = {**os.environ, "KESTREL_API_KEY": "any", "KESTREL_API_SECRET": SECRET}
    env["PYTHONPATH"] = str(REPO)
    return env


def _wallet(local: LocalExchange, asset: str) -> float:
    return float(local.venue.free.get(asset, 0.0) + local.venue.locked.get(asset, 0.0))


@pytest.mark.slow
def test_a_killed_node_restarts_with_its_account_and_doubles_nothing(tmp_path: Path) -> None:
    config = tmp_path / "restart.toml"
    config.write_text(CONFIG.replace('name = "crash"', f'name = "{ACCOUNT}"'))
    db, log = tmp_path / "k.db", tmp_path / "log"
    local = _paused_exchange()
    env = _node_env()
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    try:
        local.resume()
        first = subprocess.Popen(_command(config, local.urls["http"], db, log), cwd=REPO,
                                 env=env, **pipes)  # fmt: skip

        def holds() -> bool:
            if first.poll() is not None:
                pytest.fail(first.stderr.read().decode() if first.stderr else "ended early")
            return (
                bool(_records(log, "start")) and node_positions(ledger, INSTRUMENTS)["BTC/USDT"] > 0
            )

        _wait(holds, "the first node to buy")
        first.kill()
        first.wait(timeout=30)
        local.pause()  # nothing moves while the node restarts: its start can be checked
        before = [f for f in ledger.fills() if f.client_id != "baseline"]
        numbers = [int(o.order_id.rsplit("-", 1)[1]) for o in ledger.orders()]
        second = subprocess.Popen(_command(config, local.urls["http"], db, log), cwd=REPO,
                                  env=env, **pipes)  # fmt: skip
        _wait(lambda: len(_records(log, "start")) == 2 or second.poll() is not None,
              "the second start")  # fmt: skip
        assert second.poll() is None, second.stderr.read().decode() if second.stderr else ""
        start = _records(log, "start")[1]
        assert start["session"] == 2
        assert start["restored_fills"] >= len(before) >= 1
        assert start["positions"]["BTC/USDT"] == pytest.approx(_wallet(local, "BTC"))
        assert start["cash"] == pytest.approx(_wallet(local, "USDT"))  # the wallet began at 10k
        assert start["warmup_bars"] == {"BTC/USDT": 4}  # SMA(4): lookback 3 + 1
        # SmaCross defines no on_save / on_load: no state is read or written
        assert (start["state_loaded"], start["state_saved_at"]) == (False, None)
        bars_before = len(_records(log, "event"))
        local.resume()
        _wait(lambda: len(_records(log, "event")) >= bars_before + 40, "40 more bars")
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
        assert "restored: " in out.decode()
        local.pause()
        # the store and the exchange agree
        client = open_trading_exchange(
            "binance", Credentials("any", SECRET), sandbox=True, local_url=local.urls["http"]
        )
        exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.1), wall_clock_ms)
        later = OrderManager(exchange, ledger, now_ms=lambda: wall_clock_ms() + 120_000)
        reconcile(later, INSTRUMENTS)  # raises if the wallet cannot be explained
        rows = ledger.orders(origin=None)
        stored = {o.client_id: o for o in rows}
        at_exchange = list(local.venue.orders.values())
        assert all(o.client_id in stored for o in at_exchange)
        assert len({o.client_id for o in at_exchange}) == len(at_exchange)
        order_ids = [o.order_id for o in ledger.orders()]
        assert len(order_ids) == len(set(order_ids)), "an engine order id was used twice"
        later_numbers = [int(i.rsplit("-", 1)[1]) for i in order_ids][len(numbers) :]
        assert later_numbers, "the restarted node traded"
        assert all(n > max(numbers) for n in later_numbers)
        for order in at_exchange:
            assert stored[order.client_id].filled_quantity == pytest.approx(order.filled)
        fills = [f for f in ledger.fills() if f.client_id != "baseline"]
        assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in local.venue.trades)
        assert node_positions(ledger, INSTRUMENTS)["BTC/USDT"] == pytest.approx(
            _wallet(local, "BTC")
        )
        assert ledger.store.read(select(live_strategy_state)) == []
        assert _records(log, "stop")[-1]["state_saves"] == 0
    finally:
        local.stop()
