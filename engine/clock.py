"""Clocks: where "now" comes from, and timers that fire at set times.

In backtests the `SimClock` is moved by the data (each event's ``ts_event``); in paper and
live the `WallClock` reads the system time. Both carry timers (`TimerClock`), fired by the
driver (`engine.runtime.driver`) before each event. Strategies read time only through their
`Context`, which reads a `Clock`, so strategy code never knows which one it has.
`CloseTime` says whether the bar being delivered completes its close time (several
symbols' bars can close at one time).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "CloseTime", "SimClock", "TimerClock", "WallClock"]

TimerCallback = Callable[[str, int], None]


class Clock(Protocol):
    """Source of the current time in ns since the Unix epoch, UTC."""

    def timestamp_ns(self) -> int:
        """Return the current time in ns."""
        ...


class TimerClock:
    """Timers on a clock: a heap of due times fired in time order (ties: order they were set).

    Shared by `SimClock` (backtest, replay) and `WallClock` (paper, live). A driver calls
    ``set_time(ts)`` before each event; every timer due at or before ``ts`` fires then,
    and while its callback runs the clock reads the timer's scheduled time, so an order a
    timer places is stamped with that time in every mode.

    Attributes:
        timers: The pending timers as a heap of ``(due_ns, seq, name, interval_ns,
            callback)``; ``timers[0][0]`` is the next due time. Read-only for callers.
        now_ns: The time the clock reads (`SimClock`), or, on a `WallClock`, the time of the
            timer being fired and -1 otherwise.
        after_timer: Called after each timer callback, while the clock still reads the
            timer's time: the driver delivers the events a timer caused at that time.
    """

    __slots__ = ("_seq", "after_timer", "now_ns", "timers")

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.timers: list[tuple[int, int, str, int, TimerCallback]] = []
        self._seq = 0
        self.after_timer: Callable[[], None] | None = None

    def timestamp_ns(self) -> int:
        """Return the current time in ns."""
        return self.now_ns

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None
    ) -> None:
        """Fire ``callback`` every ``interval_ns`` starting at ``start_ns + interval_ns``."""
        if interval_ns <= 0:
            raise ValueError(f"timer {name!r}: interval must be > 0 ns, got {interval_ns}")
        first = (self.timestamp_ns() if start_ns is None else start_ns) + interval_ns
        self._push(first, name, interval_ns, callback)

    def set_alert(self, name: str, at_ns: int, callback: TimerCallback) -> None:
        """Fire ``callback`` once when time reaches ``at_ns``."""
        self._push(at_ns, name, 0, callback)

    def reschedule(self, name: str, interval_ns: int, due_ns: int) -> int:
        """Make the recurring timers ``name`` of ``interval_ns`` next due at ``due_ns``.

        Returns how many were moved (0 if none is pending). Ties keep the order the timers
        were set in. A live restart uses it to put a timer back on its stored phase
        (`engine.runtime.live.timers`).
        """
        moved = 0
        for i, (_, seq, found, interval, callback) in enumerate(self.timers):
            if found == name and interval == interval_ns:
                self.timers[i] = (due_ns, seq, found, interval, callback)
                moved += 1
        if moved:
            heapq.heapify(self.timers)
        return moved

    def has_timers(self) -> bool:
        """Return True if any timer is pending."""
        return bool(self.timers)

    def _fire_due(self, ts_ns: int) -> None:
        """Fire every timer due at or before ``ts_ns`` in order, the clock reading each's time."""
        timers = self.timers
        while timers and timers[0][0] <= ts_ns:
            due, _, name, interval, callback = heapq.heappop(timers)
            self.now_ns = due
            if interval:
                self._push(due + interval, name, interval, callback)
            callback(name, due)
            if self.after_timer is not None:
                self.after_timer()

    def _push(self, at_ns: int, name: str, interval_ns: int, callback: TimerCallback) -> None:
        heapq.heappush(self.timers, (at_ns, self._seq, name, interval_ns, callback))
        self._seq += 1


class WallClock(TimerClock):
    """The system's real time, with timers the node's driver fires (paper and live).

    Nothing fires on its own (no threads): the driver calls `set_time` with each event's
    time before delivering it, and `engine.runtime.node.TradingNode.poll` calls it with
    the current time when no event arrives, so a timer fires at the first of those calls
    at or after its due time — with the clock reading the scheduled time meanwhile.
    """

    __slots__ = ("_source",)

    def __init__(self, source: Callable[[], int] = time.time_ns) -> None:
        """Read time from ``source`` (``time.time_ns``; a test may pass its own)."""
        super().__init__(-1)
        self._source = source

    def timestamp_ns(self) -> int:
        """Return the system time (the timer's time while a timer fires)."""
        pinned = self.now_ns
        return pinned if pinned >= 0 else self._source()

    def set_time(self, ts_ns: int) -> None:
        """Fire the timers due at or before ``ts_ns``; the clock then reads real time again."""
        if self.timers and self.timers[0][0] <= ts_ns:
            try:
                self._fire_due(ts_ns)
            finally:
                self.now_ns = -1


class SimClock(TimerClock):
    """A clock set by the data, with timers that fire as time is advanced.

    Timers fire in time order (ties in the order they were set) when `advance_to` passes
    their time; each callback receives the timer's name and its scheduled time.
    A driver that saw no timer due at ``ts`` (``not timers or timers[0][0] > ts``) may set
    ``now_ns`` directly instead of calling `set_time`: the backtest loop does, once per bar.
    """

    __slots__ = ()

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__(start_ns)

    def set_time(self, ts_ns: int) -> None:
        """Move the clock to ``ts_ns``, firing due timers first (see `advance_to`)."""
        if self.timers and self.timers[0][0] <= ts_ns:
            self._fire_due(ts_ns)
        self.now_ns = ts_ns

    def advance_to(self, ts_ns: int) -> None:
        """Move the clock to ``ts_ns``, firing every timer due at or before it, in order."""
        self._fire_due(ts_ns)
        self.now_ns = ts_ns


class CloseTime:
    """Whether the bar being delivered is the last of the bars closing at its time.

    A backtest with several symbols delivers the bars that close at one time one after
    the other. The driver sets ``complete`` False for each of them but the last
    (`engine.runtime.driver.Driver.run_bars` and `Driver.run`; the kernel's one instance
    is `engine.cache.MarketCache.close_time`). The stages that value the whole account
    (borrow fees, the maintenance-margin check, the equity guards) act only when it is
    True. They then see every symbol's fills at its open and close of that time,
    not the other symbols' previous closes and missing fills.

    Paper and live cannot know whether another symbol's bar of the same time is still to
    come. There it stays True, and each bar is judged on the prices known when it arrives.
    """

    __slots__ = ("complete",)

    def __init__(self) -> None:
        self.complete = True
