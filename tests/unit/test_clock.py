"""SimClock timers and alerts; WallClock reads real time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.clock import SimClock, WallClock


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start_ns=1_000)


def recorder(log: list[tuple[str, int, int]], clock: SimClock) -> Callable[[str, int], None]:
    def callback(name: str, ts: int) -> None:
        log.append((name, ts, clock.timestamp_ns()))

    return callback


def test_set_time_fires_due_timers_like_advance_to(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    cb = recorder(log, clock)
    clock.set_alert("a", 1_500, cb)
    clock.set_alert("b", 2_500, cb)
    clock.set_time(1_200)
    assert log == []
    clock.set_time(2_000)
    assert log == [("a", 1_500, 1_500)]
    assert clock.timestamp_ns() == 2_000
    assert clock.has_timers()  # "b" is not due yet


def test_after_timer_runs_after_each_callback_at_the_timer_time(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    clock.set_alert("a", 1_100, recorder(log, clock))
    clock.set_alert("b", 1_300, recorder(log, clock))
    clock.after_timer = lambda: log.append(("after", -1, clock.timestamp_ns()))
    clock.advance_to(2_000)
    assert log == [
        ("a", 1_100, 1_100),
        ("after", -1, 1_100),
        ("b", 1_300, 1_300),
        ("after", -1, 1_300),
    ]


def test_alerts_fire_in_time_order_ties_in_set_order(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    cb = recorder(log, clock)
    clock.set_alert("late", 3_000, cb)
    clock.set_alert("early", 2_000, cb)
    clock.set_alert("tie1", 2_500, cb)
    clock.set_alert("tie2", 2_500, cb)
    clock.set_alert("future", 9_000, cb)
    clock.advance_to(3_000)  # inclusive of timers due exactly now
    # the clock reads each timer's own time while its callback runs
    assert log == [
        ("early", 2_000, 2_000),
        ("tie1", 2_500, 2_500),
        ("tie2", 2_500, 2_500),
        ("late", 3_000, 3_000),
    ]
    assert clock.timestamp_ns() == 3_000
    assert clock.has_timers()  # "future" is still pending


def test_repeating_timer_fires_every_interval_from_now(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    clock.set_timer("t", 250, recorder(log, clock))  # first at 1_000 + 250
    clock.advance_to(1_999)
    assert [ts for _, ts, _ in log] == [1_250, 1_500, 1_750]
    clock.advance_to(2_000)
    assert [ts for _, ts, _ in log] == [1_250, 1_500, 1_750, 2_000]
    assert clock.has_timers()  # repeats forever


def test_repeating_timer_with_explicit_start(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    clock.set_timer("t", 100, recorder(log, clock), start_ns=5_000)
    clock.advance_to(5_350)
    assert [ts for _, ts, _ in log] == [5_100, 5_200, 5_300]


def test_timers_interleave_with_alerts(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    cb = recorder(log, clock)
    clock.set_timer("every300", 300, cb)  # 1300, 1600, 1900
    clock.set_timer("every500", 500, cb)  # 1500, 2000
    clock.set_alert("once", 1_600, cb)
    clock.advance_to(2_000)
    assert [(name, ts) for name, ts, _ in log] == [
        ("every300", 1_300),
        ("every500", 1_500),
        # a repetition is scheduled when the previous one fires (at 1_300), after "once"
        # was set: ties go in scheduling order
        ("once", 1_600),
        ("every300", 1_600),
        ("every300", 1_900),
        ("every500", 2_000),
    ]


def test_callback_may_set_a_timer_that_is_already_due(clock: SimClock) -> None:
    log: list[tuple[str, int, int]] = []
    cb = recorder(log, clock)

    def chain(name: str, ts: int) -> None:
        log.append((name, ts, clock.timestamp_ns()))
        clock.set_alert("chained", ts + 10, cb)

    clock.set_alert("first", 1_100, chain)
    clock.advance_to(1_200)
    assert [(name, ts) for name, ts, _ in log] == [("first", 1_100), ("chained", 1_110)]


@pytest.mark.parametrize("interval", [0, -5])
def test_non_positive_interval_is_refused(clock: SimClock, interval: int) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        clock.set_timer("bad", interval, lambda name, ts: None)


def test_no_timers_initially() -> None:
    clock = SimClock()
    assert clock.timestamp_ns() == 0
    assert not clock.has_timers()


def test_wall_clock_reads_ns_since_epoch() -> None:
    now = WallClock().timestamp_ns()
    assert isinstance(now, int)
    assert now > 1_600_000_000 * 10**9  # after September 2020
