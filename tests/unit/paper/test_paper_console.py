"""The paper console view and the JSON-lines log."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from engine.config import load_config
from engine.persistence import RunStore
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.paper import PaperJournal, open_session
from engine.runtime.paper.console import JsonLog, LiveView

REPO = Path(__file__).resolve().parents[3]


def test_the_view_shows_cash_equity_positions_orders_and_events(tmp_path: Path) -> None:
    config = load_config(REPO / "configs" / "paper_btc.toml")
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    session = open_session(
        config, PaperJournal(store, "demo"), resume_only=False, start_ns=lambda: 0, url="u"
    )
    out = io.StringIO()
    view = LiveView(session, enabled=False, console=Console(file=out, width=120))
    for bar in list(iter_bars(load_frames(config)))[:40]:  # type: ignore[arg-type]
        changes = session.process(bar)
        assert changes is not None
        view.update(changes, f"bar {bar.ts_event}")
    quantity = session.node.kernel.portfolio.positions["BTC/USDT"].quantity
    assert quantity > 0  # the demo is long after 40 bars
    view.start()  # disabled: draws nothing
    assert out.getvalue() == ""
    Console(file=out, width=120).print(view.render())
    text = out.getvalue()
    assert "paper account demo" in text
    assert f"cash {session.node.kernel.portfolio.cash:,.2f}" in text
    assert f"{quantity:g}" in text
    assert "open orders" in text
    assert "fill buy" in text  # the last events: the entry fill
    assert len(view.events) == 8  # bounded


def test_the_log_ends_a_line_a_kill_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "acct" / "events.jsonl"
    log = JsonLog(path)
    log.write("bar", 1_606_784_400_000_000_000, symbol="BTC/USDT", close=1.5)
    log.close()
    with path.open("ab") as file:
        file.write(b'{"time": "2026-01-01T00:00:00", "kind": "fi')  # SIGKILL mid-line
    log = JsonLog(path)
    log.write("start", account="acct")
    log.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["ts_event"] == "2020-12-01T01:00:00Z"
    assert json.loads(lines[0])["close"] == 1.5
    assert lines[1].endswith('"kind": "fi')
    assert json.loads(lines[2])["kind"] == "start"
