"""EventBus: type-keyed publish/subscribe, single-threaded, FIFO, deterministic.

In: any event object. Out: calls to the handlers subscribed to that event's exact type, in
subscription order, then to the handlers subscribed to every event. An event published
while handlers run is queued and delivered after the current event's handlers have all
returned, so handlers never run inside other handlers and the order of delivery depends
only on the order of publication.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["EventBus"]

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    """Deliver events to handlers by exact type, FIFO."""

    __slots__ = ("_draining", "_handlers", "_queue", "_specific", "_wildcard")

    def __init__(self) -> None:
        self._specific: dict[type, tuple[Handler, ...]] = {}
        self._wildcard: tuple[Handler, ...] = ()
        # type -> specific handlers + wildcard handlers, precomputed so that publishing
        # costs one dict lookup (this runs once per bar).
        self._handlers: dict[type, tuple[Handler, ...]] = {}
        self._queue: deque[object] = deque()
        self._draining = False

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Call ``handler(event)`` for every published event whose type is ``event_type``."""
        self._specific[event_type] = (*self._specific.get(event_type, ()), handler)
        self._rebuild()

    def subscribe_all(self, handler: Callable[[object], None]) -> None:
        """Call ``handler(event)`` for every event, after the type-specific handlers."""
        self._wildcard = (*self._wildcard, handler)
        self._rebuild()

    def handlers(self, event_type: type) -> tuple[Handler, ...]:
        """Return the handlers that will receive events of ``event_type``, in order."""
        return self._handlers.get(event_type, self._wildcard)

    def publish(self, event: object) -> None:
        """Deliver ``event`` now, or queue it if a delivery is already running (FIFO)."""
        if self._draining:
            self._queue.append(event)
            return
        self._draining = True
        try:
            for handler in self._handlers.get(type(event), self._wildcard):
                handler(event)
            if self._queue:
                self._drain()
        except BaseException:
            # A handler fault aborts the run; stale events must not leak into a later drain.
            self._queue.clear()
            raise
        finally:
            self._draining = False

    @property
    def pending(self) -> deque[object]:
        """Return the queue of events waiting for delivery (truthy when not empty)."""
        return self._queue

    def hold(self) -> None:
        """Enter delivery mode for a driver loop that calls handlers itself.

        While held, `publish` only queues; the driver delivers the queue with `flush`
        after each step, which gives exactly the FIFO semantics of `publish`. The backtest
        loop uses this to dispatch each bar without a `publish` call per bar.
        """
        if self._draining:
            raise RuntimeError("EventBus.hold() called during a delivery")
        self._draining = True

    def flush(self) -> None:
        """Deliver every queued event (and those they cause) in FIFO order."""
        queue = self._queue
        handlers = self._handlers
        try:  # `_drain`, inlined: the backtest loop flushes after every order step
            while queue:
                event = queue.popleft()
                for handler in handlers.get(type(event)) or self._wildcard:
                    handler(event)
        except BaseException:
            queue.clear()
            raise

    def release(self) -> None:
        """Leave delivery mode; undelivered events are dropped (the driver failed)."""
        self._queue.clear()
        self._draining = False

    def _drain(self) -> None:
        queue = self._queue
        handlers = self._handlers  # updated in place by `_rebuild`, so never stale
        while queue:
            event = queue.popleft()
            for handler in handlers.get(type(event)) or self._wildcard:
                handler(event)

    def _rebuild(self) -> None:
        # In place: a drain in progress holds this dict and must see subscriptions made by
        # the handlers it runs.
        handlers = {
            event_type: specific + self._wildcard for event_type, specific in self._specific.items()
        }
        self._handlers.clear()
        self._handlers.update(handlers)
