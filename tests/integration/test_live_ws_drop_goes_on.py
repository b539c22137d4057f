"""``kestrel live --replay``: after a market-data websocket drop the run goes on to its end.

The node waits for its next bar a second at a time; when the feed recovered meanwhile (a
drop, or a stream declared stale, then its REST backfill) it reconciles the account first.
It used to cancel its pending read of the feed's stream for that, which closed the stream
(an async generator ends when a read is cancelled): the next read said the data had ended,
and the run stopped "(end of the data)" at the bar of the drop. A replay at half an hourly
bar a wall second leaves the reconnect time to land between two bars, as on a real venue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO
from tests.integration.test_live_ws_stop import _bars, _kind, _post, _records, _wait

SPEED = str(1800)  # an hourly bar every 2 wall seconds
MAX_BARS = 6
DROP_AFTER = 3


@pytest.mark.slow
def test_a_market_data_drop_mid_run_neither_ends_nor_shortens_the_run(tmp_path: Path) -> None:
    db, log = tmp_path / "k.db", tmp_path / "log" / "events.jsonl"
    config = str(REPO / "configs" / "live_btc.toml")
    env = {**os.environ, "KESTREL_API_KEY": "practice", "KESTREL_API_SECRET": "practice"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "live", config, "--live", "--replay", config,
         "--speed", SPEED, "--max-bars", str(MAX_BARS), "--account", "wsdrop",
         "--db", f"sqlite:///{db}", "--log-dir", str(log.parent)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = _wait("the start record", lambda: _kind(log, "start"))[0]["exchange_url"]
        _wait(f"{DROP_AFTER} bars", lambda: _bars(log) >= DROP_AFTER)
        assert _post(f"{url}/_admin/fault", {"kind": "ws_drop"})["armed"]["kind"] == "ws_drop"
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert f"stopped (--max-bars {MAX_BARS}): {MAX_BARS} bars" in out.decode(), out.decode()
    stop = _records(log)[-1]
    assert (stop["kind"], stop["reason"], stop["bars"]) == (
        "stop",
        f"--max-bars {MAX_BARS}",
        MAX_BARS,
    )
    assert stop["feed"]["reconnects"] >= 1  # the drop bit
    assert stop["feed"]["recovered"] == stop["feed"]["reconnects"] + stop["feed"]["stale"]
    reasons = {r["after"] for r in _kind(log, "reconciled")}
    assert "the market-data websocket reconnected" in reasons
