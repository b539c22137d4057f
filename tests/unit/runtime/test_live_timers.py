"""A live strategy's timers keep their schedule across a restart (issue 15).

`realign` on exact ns values; `TimerKeeper` over a node on a `WallClock` read from a test
source: a timer ``on_start`` sets again comes back on its stored phase, missed occurrences
are not fired, dropped timers stay dropped, a changed interval keeps the new schedule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import SimClock, WallClock
from engine.config import parse_config
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import StoredTimer
from engine.runtime.live.timers import TimerKeeper, pending_timers, realign
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy

SECOND = 1_000_000_000
HOUR = 3_600 * SECOND
DAY = 24 * HOUR
T0 = 1_700_000_000 * SECOND  # 2023-11-14 22:13:20 UTC
CONFIG = parse_config({"data": [{"symbol": "A"}], "strategy": {"path": "x:Y", "id": "s"}})


@pytest.mark.parametrize(
    ("due", "interval", "now", "expected"),
    [
        (1_000, 100, 950, 1_000),  # still ahead: k = 0, the stored time itself
        (1_000, 100, 999, 1_000),
        (1_000, 100, 1_000, 1_100),  # due exactly now: it is not after now, k = 1
        (1_000, 100, 1_001, 1_100),  # k = 1: the missed 1_000 is skipped
        (1_000, 100, 1_350, 1_400),  # k = 4: 1_000 .. 1_300 missed, none fired
        (1_000, 100, 1_399, 1_400),
        (1_000, 100, 1_400, 1_500),
        (T0 + DAY, DAY, T0 + 3 * DAY + 5 * HOUR, T0 + 4 * DAY),  # a "1d" timer down 2 days
        (-7, 10, -5, 3),  # times before the epoch count alike
        (5_000, 100, 1_000, 1_100),  # stored further ahead (the clock went back): same phase
    ],
)
def test_realign_returns_the_first_stored_phase_time_after_now(
    due: int, interval: int, now: int, expected: int
) -> None:
    assert realign(due, interval, now) == expected
    assert (expected - due) % interval == 0
    assert now < expected <= now + interval


class Ticking(Strategy):
    """Sets the timers ``timers`` (name -> interval ns) in ``on_start``; logs firings."""

    def __init__(self, timers: dict[str, int]) -> None:
        super().__init__()
        self.timers = timers
        self.fired: list[tuple[str, int]] = []

    def on_start(self, ctx: Context) -> None:
        for name, interval in self.timers.items():
            ctx.set_timer(name, interval)

    def on_timer(self, ctx: Context, name: str) -> None:
        self.fired.append((name, ctx.time_ns))


class Source:
    """A settable system time for the `WallClock`."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def ledger(tmp_path: Path) -> LiveLedger:
    return LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "acct")


def start(strategy: Ticking, source: Source, ledger: LiveLedger) -> tuple[TradingNode, list[str]]:
    """Start a node as ``kestrel live`` does: on_start, then the timers' restore and save."""
    node = TradingNode(CONFIG, clock=WallClock(source), strategy=strategy)
    node.start()
    keeper = TimerKeeper(node, ledger)
    realigned = keeper.restore()
    timers = keeper.pending()
    if timers is not None:
        ledger.checkpoint("s", timers=timers)
        keeper.written(timers)
    return node, realigned


def test_a_restarted_daily_timer_fires_on_its_first_schedule_skipping_missed_days(
    ledger: LiveLedger,
) -> None:
    source = Source(T0)
    first = Ticking({"daily": DAY})
    node, realigned = start(first, source, ledger)
    assert realigned == []  # nothing stored yet
    assert ledger.load_timers("s") == [StoredTimer("daily", DAY, T0 + DAY)]
    node.poll(T0 + DAY + 5)
    assert first.fired == [("daily", T0 + DAY)]
    # down from T0 + 1d + 1h to T0 + 3d + 5h: the occurrences at T0 + 2d and T0 + 3d fall
    # while it is down; on_start sets the timer afresh at T0 + 4d + 5h, the restore moves it
    source.now = T0 + 3 * DAY + 5 * HOUR
    second = Ticking({"daily": DAY})
    node, realigned = start(second, source, ledger)
    assert realigned == ["daily"]
    assert pending_timers(node.clock) == [StoredTimer("daily", DAY, T0 + 4 * DAY)]
    node.poll(T0 + 4 * DAY - 1)
    assert second.fired == []  # T0 + 2d and T0 + 3d were missed: not fired
    node.poll(T0 + 6 * DAY)
    assert second.fired == [("daily", T0 + 4 * DAY), ("daily", T0 + 5 * DAY),
                            ("daily", T0 + 6 * DAY)]  # fmt: skip


def test_a_restart_before_the_first_firing_keeps_the_stored_due_time(ledger: LiveLedger) -> None:
    source = Source(T0)
    start(Ticking({"hourly": HOUR}), source, ledger)
    source.now = T0 + 20 * 60 * SECOND  # restarted 20 minutes later: k = 0
    strategy = Ticking({"hourly": HOUR})
    node, realigned = start(strategy, source, ledger)
    assert realigned == ["hourly"]
    node.poll(T0 + 2 * HOUR)
    assert strategy.fired == [("hourly", T0 + HOUR), ("hourly", T0 + 2 * HOUR)]
    # the phase did not change, so nothing was written again
    assert ledger.load_timers("s") == [StoredTimer("hourly", HOUR, T0 + HOUR)]


def test_dropped_timers_stay_dropped_and_a_new_interval_keeps_its_own_schedule(
    ledger: LiveLedger,
) -> None:
    source = Source(T0)
    start(Ticking({"daily": DAY, "hourly": HOUR, "old": 7 * SECOND}), source, ledger)
    restart = T0 + 90 * 60 * SECOND
    source.now = restart
    strategy = Ticking({"daily": DAY, "hourly": 2 * HOUR, "new": 5 * SECOND})
    node, realigned = start(strategy, source, ledger)
    assert realigned == ["daily"]
    assert pending_timers(node.clock) == [
        StoredTimer("daily", DAY, T0 + DAY),  # re-aligned: the restart is within its day
        StoredTimer("hourly", 2 * HOUR, restart + 2 * HOUR),  # as on_start set it
        StoredTimer("new", 5 * SECOND, restart + 5 * SECOND),
    ]  # "old" was not set again: not resurrected
    assert ledger.load_timers("s") == pending_timers(node.clock)


def test_firing_does_not_change_the_stored_phase_setting_a_timer_does(
    ledger: LiveLedger,
) -> None:
    node = TradingNode(CONFIG, clock=SimClock(T0), strategy=Ticking({"t": HOUR}))
    node.start()
    keeper = TimerKeeper(node, ledger)
    assert keeper.restore() == []
    stored = keeper.pending()
    assert stored == [StoredTimer("t", HOUR, T0 + HOUR)]
    keeper.written(stored)
    node.poll(T0 + 3 * HOUR + 1)
    assert keeper.pending() is None  # due T0 + 4h: the same phase
    node.kernel.runner.context.set_timer("t", HOUR)  # a second "t" on the same phase
    assert keeper.pending() is None
    node.kernel.runner.context.set_timer("u", HOUR)  # at T0 + 3h + 1 + 1h: a new timer
    assert keeper.pending() == [
        StoredTimer("t", HOUR, T0 + 4 * HOUR),
        StoredTimer("u", HOUR, T0 + 4 * HOUR + 1),
    ]


def test_reschedule_moves_only_the_timers_of_that_name_and_interval() -> None:
    clock = SimClock(0)
    log: list[tuple[str, int]] = []
    clock.set_timer("a", 10, lambda name, ts: log.append((name, ts)))
    clock.set_timer("a", 15, lambda name, ts: log.append((name, ts)))
    clock.set_timer("b", 10, lambda name, ts: log.append((name, ts)))
    assert clock.reschedule("a", 10, 3) == 1
    assert clock.reschedule("c", 10, 3) == 0
    clock.advance_to(19)
    assert log == [("a", 3), ("b", 10), ("a", 13), ("a", 15)]
