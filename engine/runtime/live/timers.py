"""A live strategy's recurring timers across restarts: each keeps its phase (issue 15).

In: a started `TradingNode` (its clock a `TimerClock`: the `WallClock` in ``kestrel live``)
and the account's `LiveLedger`. Out: the rows of ``live_timers`` for the node's strategy
id — each recurring timer's name, interval and next due time (`pending_timers`) — and, on a
restart, the timers ``on_start`` set again moved back onto their stored schedule.

``ctx.set_timer(name, interval)`` first fires one interval after it is set, and it is
usually set in ``on_start``, which runs afresh on every start: without this a "1d" timer
set at 00:00 would fire at restart + 1 day after a restart. The rules:

- **Stored**: the strategy's recurring timers pending on the clock, written in the bar's
  checkpoint (`engine.runtime.live.checkpoint`: after the start, after every bar, on a
  clean stop) when a phase (due time modulo interval), a name or an interval changed. A
  timer firing does not change its phase, so a strategy whose timers stay put writes once.
- **Re-aligned** (`TimerKeeper.restore`, after ``on_start`` and ``on_load``): a timer
  ``on_start`` set again with a stored name and interval is next due at the first
  ``stored_due + k * interval`` after now (`realign`). Occurrences that fell while the node
  was down are **not fired**, as bars that closed while it was down get no ``on_bar``: a
  strategy that must catch up compares ``ctx.time_ns`` with what it saved (``on_save``).
- **Not resurrected**: a stored timer ``on_start`` did not set again is dropped (the
  strategy's code decides what timers it has). One set with another interval keeps the
  interval and the schedule it was set with.
- Two timers of the same name and interval are one row (the earlier due time): both come
  back on that phase. One-shot alerts (``set_alert``, interval 0) are not stored.
"""

from __future__ import annotations

from engine.clock import TimerClock
from engine.runtime.live.ledger import LiveLedger, StoredTimer
from engine.runtime.node import TradingNode

__all__ = ["TimerKeeper", "pending_timers", "realign"]


def realign(due_ns: int, interval_ns: int, now_ns: int) -> int:
    """Return the first ``due_ns + k * interval_ns`` (``k`` an integer) after ``now_ns``.

    ``k`` is 0 while the stored due time is still ahead (by at most one interval) and
    positive once it has passed: the occurrences in between are skipped, not fired. The
    result is always in ``(now_ns, now_ns + interval_ns]``, never later than the timer set
    afresh; a stored time further ahead (the system clock went back) comes back onto the
    same phase within one interval.
    """
    ahead = (due_ns - now_ns) % interval_ns  # Python's %: in [0, interval) for any sign
    return now_ns + (ahead or interval_ns)


def pending_timers(clock: TimerClock) -> list[StoredTimer]:
    """Return the recurring timers pending on ``clock``, one per name and interval."""
    earliest: dict[tuple[str, int], int] = {}
    for due, _, name, interval, _ in clock.timers:
        if interval > 0:
            key = (name, interval)
            earliest[key] = min(due, earliest.get(key, due))
    return sorted(StoredTimer(name, interval, due) for (name, interval), due in earliest.items())


def _phases(timers: list[StoredTimer]) -> set[tuple[str, int, int]]:
    return {(t.name, t.interval_ns, t.due_ns % t.interval_ns) for t in timers}


class TimerKeeper:
    """Put the strategy's timers back on their stored phase on start; say when they change."""

    def __init__(self, node: TradingNode, ledger: LiveLedger) -> None:
        """Keep the timers of ``node``'s strategy in ``ledger``'s account."""
        self.clock: TimerClock = node.clock
        self.strategy_id = node.config.strategy.id
        self.ledger = ledger
        self._last: set[tuple[str, int, int]] = set()  # the phases stored

    def restore(self, now_ns: int | None = None) -> list[str]:
        """Re-align the timers ``on_start`` set again; return their names (sorted).

        Call once, after ``on_start`` and ``on_load`` ran, before the first bar.

        Args:
            now_ns: The time to re-align after (default: the clock's).
        """
        stored = self.ledger.load_timers(self.strategy_id)
        self._last = _phases(stored)
        now = self.clock.timestamp_ns() if now_ns is None else now_ns
        current = {(t.name, t.interval_ns) for t in pending_timers(self.clock)}
        names = []
        for timer in stored:
            if (timer.name, timer.interval_ns) in current:
                due = realign(timer.due_ns, timer.interval_ns, now)
                self.clock.reschedule(timer.name, timer.interval_ns, due)
                names.append(timer.name)
        return sorted(names)

    def pending(self) -> list[StoredTimer] | None:
        """Return every timer to store if a phase, name or interval changed, else None."""
        timers = pending_timers(self.clock)
        return None if _phases(timers) == self._last else timers

    def written(self, timers: list[StoredTimer]) -> None:
        """Note that ``timers`` (from `pending`) were committed."""
        self._last = _phases(timers)
