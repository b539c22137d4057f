"""``kestrel paper``'s loop fires due timers while the feed is quiet, journaled first.

A fake feed yields one bar and then nothing; its exchange clock reads 3 h after the start
and its watermark (no event still to come precedes it) 10 h after. A strategy with a
90-minute timer must see it fire at 1:30 and 3:00 — each at its scheduled time — through one
``timer`` journal row at the smaller of clock and watermark; a feed whose watermark is
behind the timer (a bar that closed before it may still come) fires nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import engine.cli_paper as cli_paper
from engine import parse_config
from engine.model import Bar
from engine.persistence import RunStore
from engine.runtime.paper import PaperJournal, PaperSession, open_session
from engine.runtime.paper.console import JsonLog, LiveView

START = 1_606_780_800_000_000_000
HOUR = 3_600 * 10**9

TIMED = """
from engine.strategy import Strategy


class Timed(Strategy):
    def on_start(self, ctx):
        self.fired = []
        ctx.set_timer("t", "90m")

    def on_timer(self, ctx, name):
        self.fired.append(ctx.time_ns)
"""


class QuietFeed:
    """One bar, then silence; a fixed exchange clock and watermark."""

    def __init__(self, now_ns: int, watermark_ns: int) -> None:
        self.now = now_ns
        self.watermark = watermark_ns

    async def stream(self, since_ns: int | None = None) -> AsyncIterator[Bar]:
        yield Bar("X", START + HOUR, START + HOUR, 1.0, 1.0, 1.0, 1.0, 1.0, HOUR)
        await asyncio.Event().wait()  # nothing more, ever

    async def now_ns(self) -> int:
        return self.now

    def watermark_ns(self) -> int:
        return self.watermark


def _session(tmp_path: Path) -> PaperSession:
    (tmp_path / "timed.py").write_text(TIMED)
    config = parse_config(
        {
            "data": [{"path": "x.csv", "symbol": "X", "timeframe": "1h"}],
            "strategy": {"path": "timed.py:Timed"},
        },
        base_dir=tmp_path,
    )
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    journal = PaperJournal(store, "timed")
    return open_session(config, journal, resume_only=False, start_ns=lambda: START, url="u")


async def _run(session: PaperSession, feed: QuietFeed, tmp_path: Path) -> None:
    stop = asyncio.Event()
    log = JsonLog(tmp_path / "events.jsonl")
    view = LiveView(session, enabled=False)
    asyncio.get_running_loop().call_later(0.6, stop.set)
    await cli_paper._loop(session, feed, view, log, stop, None)
    log.close()


def test_idle_timers_fire_at_their_times_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_paper, "TIMER_POLL_S", 0.05)
    session = _session(tmp_path)
    asyncio.run(_run(session, QuietFeed(START + 3 * HOUR, START + 10 * HOUR), tmp_path))
    strategy = session.node.kernel.runner.strategy
    assert strategy.fired == [START + 90 * 60 * 10**9, START + 3 * HOUR]  # type: ignore[attr-defined]
    entries = [(e.kind, e.ts_event) for e in session.journal.entries()]
    assert entries == [("bar", START + HOUR), ("timer", START + 3 * HOUR)]
    assert session.timers == 1

    again = _session(tmp_path)  # a restart replays the firing, none twice
    assert again.node.kernel.runner.strategy.fired == strategy.fired  # type: ignore[attr-defined]


def test_no_timer_fires_ahead_of_the_watermark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_paper, "TIMER_POLL_S", 0.05)
    session = _session(tmp_path)
    asyncio.run(_run(session, QuietFeed(START + 3 * HOUR, START + HOUR), tmp_path))
    assert session.node.kernel.runner.strategy.fired == []  # type: ignore[attr-defined]
    assert [e.kind for e in session.journal.entries()] == ["bar"]
