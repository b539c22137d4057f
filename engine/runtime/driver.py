"""The driver: the one step that moves a kernel forward, in every mode.

In: events (`Bar`, `TradeTick`, `QuoteTick`) in time order — from a backtest's frames, a
tick replay, or a paper/live feed one at a time — and, when no event arrives, the current
time (`Driver.idle`). Out: nothing returned; the kernel's stages react on the bus.

The rule, for each event (`Driver.step`):

1. Clock: when the event's time differs from the last one, take the previous time's
   equity snapshot (modes with snapshots; its event is delivered at once), then move the
   clock to the event's
   ``ts_event``; every timer due at or before it fires first, in time order, the clock
   reading the timer's scheduled time, and the events each timer causes are delivered
   before the next timer fires (``after_timer``). Then the news queue's headlines
   stamped at or before the new time are delivered (`engine.runtime.news`: a headline is
   seen before the first event at or after its time; runs without news have no queue).
2. Venue: the venue sees the event before any strategy does — its working orders are
   matched against the bar or tick (``process_bar`` / ``process_trade`` /
   ``process_quote``) — so a market order placed at bar t fills at bar t+1's open before
   the strategy hears of bar t+1. Skipped while no order works (``venue.working``).
3. Bus: the bus is held during a session, so the venue's answers and the event itself
   are delivered by draining the queue: the venue's events first, then the event's
   handlers (cache, account rules, guards, exits, strategy — `Kernel.wire`), then the
   events those handlers published, FIFO, exactly as `EventBus.publish` would. Every
   step starts and ends with an empty queue: a strategy reads "nothing waits on the bus"
   as "every earlier request was handled" (`Context._unbooked`).

`Driver.run` (tick replay) is the same step inlined over a stream of events, its parts
bound to locals once. `Driver.run_bars` is the same step specialised further for the
backtest's batches of bars: the Bar handlers and the venue's matcher are bound once, the
clock is a `SimClock` whose time is set directly when no timer is due. The node
(`engine.runtime.node.TradingNode`) calls `step` itself, one event at a time; a test
(tests/unit/runtime/test_driver.py) checks that batches and single steps agree.
A session (`Driver.session`) holds the bus, routes timers through it, pauses the cyclic
GC and turns a non-Kestrel exception from user code into one `StrategyError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import ne
from typing import Any

from engine.clock import CloseTime, SimClock, WallClock
from engine.errors import InternalError
from engine.model import Bar, NewsHeadline, QuoteTick, TradeTick
from engine.runtime.delivery import delivering
from engine.runtime.kernel import Kernel
from engine.runtime.news import NEVER, NewsQueue

__all__ = ["Driver", "Event", "ProgressFn"]

Event = Bar | TradeTick | QuoteTick
ProgressFn = Callable[[int, int], None]
_EVENT_TYPES = (Bar, TradeTick, QuoteTick, NewsHeadline)
TICK_PROGRESS = 65_536  # events between progress calls of `Driver.run`


class Driver:
    """Delivers events to one kernel: clock, then venue, then bus (see the module)."""

    def __init__(
        self,
        kernel: Kernel,
        clock: SimClock | WallClock,
        *,
        snapshot: Callable[[int], None] | None = None,
        news: NewsQueue | None = None,
    ) -> None:
        """Drive ``kernel`` on ``clock``; ``snapshot(ts)`` records equity as of ``ts``.

        ``snapshot`` is called once per event time, when time moves on past it (and by
        `settle`); None (the backtest) records nothing. ``news`` holds the headlines to
        deliver as time reaches them (`engine.runtime.news`); None: the run has no news.
        """
        self.news = news
        self._kernel = kernel
        self._clock = clock
        self._snapshot = snapshot
        self._current = -1  # time of the last event delivered (-1: none yet)
        self._settled = True  # the snapshot of ``_current`` has been taken
        venue = kernel.venue
        self._venue: dict[type, Callable[[Any], None]] = {
            Bar: venue.process_bar,
            TradeTick: venue.process_trade,
            QuoteTick: venue.process_quote,
        }
        self._working = venue.working  # non-empty while any order works
        self._handlers: dict[type, tuple[Callable[[Any], None], ...]] = {}

    @property
    def current_ns(self) -> int:
        """Return the time of the last event delivered (-1 before the first)."""
        return self._current

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold the bus and deliver through the driver inside the block (see the module)."""
        bus = self._kernel.bus
        # Bound at each session: handlers subscribed since (none in the shipped wiring)
        # are seen from the next session on.
        self._handlers = {kind: bus.handlers(kind) for kind in _EVENT_TYPES}
        with delivering(bus, self._clock):
            yield

    def step(self, event: Event) -> None:
        """Deliver one event: clock, venue, bus. Call inside `session`."""
        ts = event.ts_event
        if ts != self._current:
            self._advance(ts)
        kind = type(event)
        bus = self._kernel.bus
        pending = bus.pending
        if self._working:
            self._venue[kind](event)
            if pending:
                bus.flush()
        for handler in self._handlers[kind]:
            handler(event)
        if pending:
            bus.flush()

    def idle(self, now_ns: int) -> None:
        """Fire the timers due at or before ``now_ns`` when no event arrived (paper, live).

        Equity as of the last event is recorded first, so a timer's consequences are not
        counted at an earlier time. Call outside a session; ``now_ns`` must not be earlier
        than the time of any event delivered afterwards (a `SimClock` moves to it).
        """
        timers = self._clock.timers
        if not timers or timers[0][0] > now_ns:
            return
        self.settle()
        with self.session():
            self._clock.set_time(now_ns)

    def settle(self) -> None:
        """Take the snapshot of the last event's time if not taken yet (modes with them)."""
        if self._snapshot is not None and self._current >= 0 and not self._settled:
            self._snapshot(self._current)
        self._settled = True

    def run(
        self,
        events: Iterable[Event],
        total: int = 0,
        progress: ProgressFn | None = None,
        *,
        shared_closes: bool = False,
    ) -> None:
        """Deliver every event of ``events`` in one session: `step`, inlined (tick replay).

        The venue's matchers and each type's handlers are bound once; per event the body
        is `step`'s (a call per tick cost ~8% of a tick replay). ``shared_closes``: bars of
        several symbols may close at one time, one after the other in ``events``; each bar
        followed by another bar of its time is delivered with the cache's `CloseTime`
        not complete.
        """
        if shared_closes:
            events = _marking_closes(events, self._kernel.cache.close_time)
        bus = self._kernel.bus
        pending = bus.pending
        flush = bus.flush
        venue = self._venue
        working = self._working
        # without snapshots, moving time is only the clock's (`_advance` minus bookkeeping)
        # (and of the news queue's, when the run has news)
        needs_advance = self._snapshot is not None or self.news is not None
        advance = self._advance if needs_advance else self._clock.set_time
        done = 0
        with self.session():
            handlers = self._handlers
            current = self._current
            try:
                for event in events:
                    ts = event.ts_event
                    if ts != current:
                        advance(ts)
                        current = ts
                    kind = type(event)
                    if working:
                        venue[kind](event)
                        if pending:
                            flush()
                    for handler in handlers[kind]:
                        handler(event)
                    if pending:
                        flush()
                    done += 1
                    if progress is not None and not done % TICK_PROGRESS:
                        progress(done, total)
            finally:
                self._current = current  # `_advance` keeps it too, with snapshots
                self._kernel.cache.close_time.complete = True
        if progress is not None:
            progress(done, total)

    def run_bars(
        self,
        chunks: Iterable[list[Bar]],
        total: int = 0,
        progress: ProgressFn | None = None,
        *,
        shared_closes: bool = False,
    ) -> None:
        """Deliver batches of bars: `step` for `Bar`, inlined with its parts bound once.

        The kernel always wires the cache as the first Bar handler and the strategy runner
        as the last (`Kernel.wire`); the handlers between them (account rules, guards,
        exits) run in order between the two calls.

        ``shared_closes``: bars of several symbols may close at one time (a backtest of
        several frames). Each chunk must then end at the end of a close time (never split
        the bars of one time: `engine.runtime.backtest.iter_bar_chunks` cuts them so), and
        each bar but the last of its time is delivered with the cache's `CloseTime` not
        complete. False (one frame: every close time has one bar): the loop does no more.

        Raises:
            InternalError: The clock is not a `SimClock`, or fewer than two Bar handlers.
        """
        clock = self._clock
        if not isinstance(clock, SimClock):
            raise InternalError("Driver.run_bars replays history on a SimClock only")
        bus = self._kernel.bus
        pending = bus.pending  # truthy while events wait for delivery
        flush = bus.flush
        process = self._venue[Bar]
        working = self._working
        set_time = clock.set_time
        timers = clock.timers  # the clock's heap: a timer is due when timers[0][0] <= ts
        snapshot = self._snapshot
        news = self.news
        news_at = NEVER if news is None else news.next_ns  # the queue changes only here
        done = 0
        with self.session():
            handlers = self._handlers[Bar]
            if len(handlers) < 2:
                raise InternalError(f"Driver.run_bars: {len(handlers)} Bar handler(s), need 2+")
            first, middle, last = handlers[0], handlers[1:-1], handlers[-1]
            marks = None
            if shared_closes:  # the cache's handler, preceded by setting `CloseTime`
                marks = _ChunkCloses(first, self._kernel.cache.close_time)
                first = marks.on_bar
            has_middle = bool(middle)
            current = self._current
            try:
                for chunk in chunks:
                    if marks is not None:
                        marks.start(chunk)
                    for bar in chunk:
                        ts = bar.ts_event
                        if ts != current:
                            if snapshot is not None:  # the previous time's equity, once
                                self.settle()
                                self._current, self._settled = ts, False
                                if pending:
                                    flush()
                            if timers and timers[0][0] <= ts:
                                set_time(ts)  # fires due timers; their events are delivered
                            else:
                                clock.now_ns = ts
                            current = ts
                            if ts >= news_at:  # headlines stamped up to this close
                                assert news is not None
                                self._deliver_news(news, ts)
                                news_at = news.next_ns
                        if working:
                            process(bar)
                            if pending:
                                flush()
                        first(bar)
                        if has_middle:  # rules, guards, exits (an empty loop costs more)
                            for handler in middle:
                                handler(bar)
                        last(bar)
                        if pending:
                            flush()
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            finally:
                if snapshot is None:
                    self._current = current
                self._kernel.cache.close_time.complete = True

    def _advance(self, ts: int) -> None:
        """Record the last time's snapshot, then move the clock to ``ts`` (timers fire)."""
        if not self._settled:
            self.settle()
            bus = self._kernel.bus
            if bus.pending:  # the snapshot's event: each step starts with an empty queue
                bus.flush()
        self._clock.set_time(ts)
        self._current = ts
        self._settled = self._snapshot is None
        news = self.news
        if news is not None and news.next_ns <= ts:
            self._deliver_news(news, ts)

    def _deliver_news(self, news: NewsQueue, ts: int) -> None:
        """Deliver the headlines due by a bar closing at ``ts`` (clock already at ``ts``)."""
        bus = self._kernel.bus
        handlers = self._handlers[NewsHeadline]
        for headline in news.due(ts):
            for handler in handlers:
                handler(headline)
            if bus.pending:
                bus.flush()


class _ChunkCloses:
    """Sets `CloseTime.complete` for each bar of a chunk, then lets the cache record it.

    A bar completes its close time when the next bar of the chunk closes later, or it is
    the chunk's last (chunks end at the end of a close time: `Driver.run_bars`).
    """

    __slots__ = ("_close_time", "_flags", "_record")

    def __init__(self, record: Callable[[Bar], None], close_time: CloseTime) -> None:
        self._record = record
        self._close_time = close_time
        self._flags: Iterator[bool] = iter(())

    def start(self, chunk: list[Bar]) -> None:
        """Compute the flags of ``chunk``'s bars, delivered next in order."""
        times = [bar.ts_event for bar in chunk]
        self._flags = iter([*map(ne, times, times[1:]), True])

    def on_bar(self, bar: Bar) -> None:
        """Set the flag of ``bar``, then record it (the cache's `on_bar`)."""
        self._close_time.complete = next(self._flags)
        self._record(bar)


def _marking_closes(events: Iterable[Event], close_time: CloseTime) -> Iterator[Event]:
    """Yield ``events``, with ``close_time`` set for each as it is delivered.

    A bar is not complete when the next event is a bar of the same close time (events at
    one time keep their bars together: `engine.runtime.ticks.iter_events`). The flag is
    set before each event is handed out, and the consumer handles an event before asking
    for the next.
    """
    iterator = iter(events)
    current = next(iterator, None)
    for following in iterator:
        close_time.complete = not (
            type(following) is Bar
            and type(current) is Bar
            and following.ts_event == current.ts_event
        )
        yield current  # type: ignore[misc]  # not None: the loop ran
        current = following
    close_time.complete = True
    if current is not None:
        yield current
