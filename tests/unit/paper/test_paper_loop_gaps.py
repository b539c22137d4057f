"""``kestrel paper``'s loop says a gap in the live bars once: stderr, events.jsonl, the view.

A fake feed delivers hourly bars with three hours missing after a stall (bars 2, 3, 4 never
come) and ends; the loop must print the backtest's sentence once, log one ``gap`` record
and put the sentence among the console view's last events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import engine.cli_paper as cli_paper
from engine import parse_config
from engine.model import Bar
from engine.persistence import RunStore
from engine.runtime.paper import PaperJournal, open_session
from engine.runtime.paper.console import JsonLog, LiveView
from engine.runtime.paper.gaps import GapWatch

START = 1_606_780_800_000_000_000  # 2020-12-01T00:00:00Z
HOUR = 3_600 * 10**9
CLOSES = [START + k * HOUR for k in (1, 5, 6)]  # the closes at +2h, +3h, +4h never come

IDLE = """
from engine.strategy import Strategy


class Idle(Strategy):
    def on_bar(self, ctx, bar):
        return None
"""


class GappyFeed:
    async def stream(self, since_ns: int | None = None) -> AsyncIterator[Bar]:
        for close in CLOSES:
            yield Bar("X", close, close, 1.0, 1.0, 1.0, 1.0, 1.0, HOUR)

    async def now_ns(self) -> int:
        return CLOSES[-1]

    def watermark_ns(self) -> int:
        return CLOSES[-1]


def test_a_gap_after_a_stall_is_said_once_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "idle.py").write_text(IDLE)
    config = parse_config(
        {
            "data": [{"path": "x.csv", "symbol": "X", "timeframe": "1h"}],
            "strategy": {"path": "idle.py:Idle"},
        },
        base_dir=tmp_path,
    )
    journal = PaperJournal(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "gappy")
    session = open_session(config, journal, resume_only=False, start_ns=lambda: START, url="u")
    log = JsonLog(tmp_path / "events.jsonl")
    view = LiveView(session, enabled=False)
    watch = GapWatch({"X": HOUR}, {}, {})

    async def run() -> str:
        return await cli_paper._loop(session, GappyFeed(), view, log, asyncio.Event(), None, watch)

    assert asyncio.run(run()) == "end of the replay"
    log.close()
    sentence = "X: feed: 1 gap (3 missing 1h bars), largest 3h missing from 2020-12-01T01:00:00Z."
    assert capsys.readouterr().err.splitlines() == [f"warning: {sentence}"]
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").open()]
    gaps = [r for r in records if r["kind"] == "gap"]
    assert [(g["symbol"], g["missing_bars"], g["since"]) for g in gaps] == [
        ("X", 3, "2020-12-01T01:00:00Z")
    ]
    assert sentence in view.events
    assert watch.gaps == {"X": 1}
    assert session.processed == 3
