"""``kestrel live`` keeps a strategy's own state across a SIGKILL and a restart (issue 15).

The strategy counts the bars it saw in ``self.bars_seen`` (``on_start`` sets 0) and
implements ``on_save`` / ``on_load``. The local exchange runs in this process (4 hourly bars
a second); the node is killed with SIGKILL after some bars, the exchange paused, the node
restarted: ``on_load`` must give it back the saved count, and it counts on from there.
A state JSON cannot hold stops the node with one line (in-process, ``--replay``).
Every wait polls for its condition with a generous timeout.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_live_crash import CONFIG, SECRET
from tests.integration.test_live_restart_cli import (
    _command,
    _node_env,
    _paused_exchange,
    _records,
    _wait,
)

ACCOUNT = "stateful"
STRATEGY = """
from typing import Any

from engine.strategy import Strategy


class Counting(Strategy):
    def on_start(self, ctx: Any) -> None:
        self.bars_seen = 0

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.bars_seen += 1

    def on_save(self) -> dict[str, Any]:
        return {"bars_seen": self.bars_seen}

    def on_load(self, state: dict[str, Any]) -> None:
        self.bars_seen = int(state["bars_seen"])


class Unsaveable(Counting):
    def on_save(self) -> dict[str, Any]:
        return {"bars_seen": self.bars_seen, "since": {1, 2}}
"""


def _config(tmp_path: Path, strategy: str) -> Path:
    (tmp_path / "counting.py").write_text(STRATEGY)
    text = CONFIG.replace('name = "crash"', f'name = "{ACCOUNT}"')
    head, _ = text.split("[strategy]", 1)
    text = head + f'[strategy]\npath = "{tmp_path / "counting.py"}:{strategy}"\nid = "count"\n'
    path = tmp_path / "state.toml"
    path.write_text(text)
    return path


def _seen(ledger: LiveLedger) -> int:
    saved = ledger.load_state("count")
    return -1 if saved is None else int(saved.state["bars_seen"])


@pytest.mark.slow
def test_a_killed_node_continues_counting_from_its_saved_state(tmp_path: Path) -> None:
    config = _config(tmp_path, "Counting")
    db, log = tmp_path / "k.db", tmp_path / "log"
    local = _paused_exchange()
    env = _node_env()
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    try:
        local.resume()
        first = subprocess.Popen(_command(config, local.urls["http"], db, log), cwd=REPO,
                                 env=env, **pipes)  # fmt: skip

        def counted() -> bool:
            if first.poll() is not None:
                pytest.fail(first.stderr.read().decode() if first.stderr else "ended early")
            return _seen(ledger) >= 8

        _wait(counted, "the first node to save a count of 8")
        first.kill()
        first.wait(timeout=30)
        local.pause()  # nothing moves while the node restarts
        start = _records(log, "start")[0]
        assert (start["state_loaded"], start["state_saved_at"]) == (False, None)  # first start
        saved = ledger.load_state("count")
        assert saved is not None
        before = len(_records(log, "event"))
        # each bar: on_bar, the save, then its event record; the kill can fall in between
        assert before <= saved.state["bars_seen"] <= before + 1
        second = subprocess.Popen(_command(config, local.urls["http"], db, log), cwd=REPO,
                                  env=env, **pipes)  # fmt: skip
        _wait(lambda: len(_records(log, "start")) == 2 or second.poll() is not None,
              "the second start")  # fmt: skip
        assert second.poll() is None, second.stderr.read().decode() if second.stderr else ""
        restart = _records(log, "start")[1]
        assert (restart["state_loaded"], restart["state_saved_at"]) == (True, saved.saved_at)
        local.resume()
        _wait(lambda: len(_records(log, "event")) >= before + 10, "10 more bars")
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
        assert f"strategy state loaded (saved {saved.saved_at})" in out.decode()
        stop = _records(log, "stop")[-1]
        after = ledger.load_state("count")
        assert after is not None
        assert stop["bars"] >= 10
        # on_start set 0, on_load the saved count, and every bar since added one
        assert after.state["bars_seen"] == saved.state["bars_seen"] + stop["bars"]
        assert stop["state_saves"] == stop["bars"]  # the count changed at every bar
        assert after.ts_event > saved.ts_event
    finally:
        local.stop()


def test_a_state_json_cannot_hold_stops_the_node_with_one_line(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", "any")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    config = _config(tmp_path, "Unsaveable")
    db = tmp_path / "k.db"
    result = kestrel(
        "live", str(config), "--live", "--db", f"sqlite:///{db}", "--log-dir",
        str(tmp_path / "log"), "--replay", str(config), "--speed", "max", "--max-bars", "5",
    )  # fmt: skip
    assert_one_line_error(
        result, "strategy 'count': on_save returned a state JSON cannot hold",
        "state['since'] is a set", code=3,
    )  # fmt: skip
    assert LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT).load_state("count") is None
