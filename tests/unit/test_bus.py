"""EventBus: exact-type dispatch, FIFO, no nested handler runs, hold/flush/release."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from engine.bus import EventBus


class Ping(NamedTuple):
    n: int


class Pong(NamedTuple):
    n: int


class PingChild(Ping):
    """A subclass: dispatch is by exact type, so Ping handlers do not see it."""


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


def test_dispatch_by_exact_type_in_subscription_order(bus: EventBus) -> None:
    log: list[str] = []
    bus.subscribe(Ping, lambda e: log.append(f"a{e.n}"))
    bus.subscribe(Ping, lambda e: log.append(f"b{e.n}"))
    bus.subscribe(Pong, lambda e: log.append(f"pong{e.n}"))
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.publish(PingChild(3))
    bus.publish("unrelated")
    assert log == ["a1", "b1", "pong2"]


def test_equal_fields_different_types_do_not_mix(bus: EventBus) -> None:
    seen: list[object] = []
    bus.subscribe(Ping, seen.append)
    bus.publish(Pong(1))
    assert Pong(1) == Ping(1)  # tuples compare equal...
    assert seen == []  # ...but dispatch is on the type


def test_subscribe_all_runs_after_specific_handlers_for_every_type(bus: EventBus) -> None:
    log: list[str] = []
    bus.subscribe_all(lambda e: log.append(f"all:{type(e).__name__}"))
    bus.subscribe(Ping, lambda e: log.append("ping"))
    bus.subscribe_all(lambda e: log.append("all2"))
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.publish(3)
    assert log == ["ping", "all:Ping", "all2", "all:Pong", "all2", "all:int", "all2"]
    assert len(bus.handlers(Ping)) == 3
    assert len(bus.handlers(Pong)) == 2


def test_events_published_by_handlers_are_queued_fifo_not_nested(bus: EventBus) -> None:
    log: list[str] = []
    depth = 0

    def on_ping(event: Ping) -> None:
        nonlocal depth
        depth += 1
        assert depth == 1, "a handler ran inside another handler"
        log.append(f"ping{event.n}:start")
        if event.n == 1:
            bus.publish(Pong(10))
            bus.publish(Ping(2))
            bus.publish(Pong(11))
        log.append(f"ping{event.n}:end")
        depth -= 1

    def on_pong(event: Pong) -> None:
        nonlocal depth
        depth += 1
        assert depth == 1
        log.append(f"pong{event.n}")
        if event.n == 10:
            bus.publish(Pong(12))
        depth -= 1

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Pong, on_pong)
    bus.subscribe(Ping, lambda e: log.append(f"ping{e.n}:second"))
    bus.publish(Ping(1))
    assert log == [
        "ping1:start",
        "ping1:end",
        "ping1:second",  # every handler of the current event first
        "pong10",
        "ping2:start",
        "ping2:end",
        "ping2:second",
        "pong11",
        "pong12",  # published while pong10 ran: after everything queued before it
    ]
    assert not bus.pending


def test_handler_exception_propagates_and_clears_the_queue(bus: EventBus) -> None:
    log: list[int] = []

    def on_ping(event: Ping) -> None:
        bus.publish(Pong(event.n))  # queued, never delivered
        if event.n == 1:
            raise RuntimeError("boom")

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Pong, lambda e: log.append(e.n))
    with pytest.raises(RuntimeError, match="boom"):
        bus.publish(Ping(1))
    assert not bus.pending
    bus.publish(Ping(2))  # the bus still works, and the stale Pong(1) did not leak
    assert log == [2]


def test_exception_in_a_queued_event_clears_the_rest(bus: EventBus) -> None:
    log: list[int] = []

    def on_ping(event: Ping) -> None:
        bus.publish(Pong(1))
        bus.publish(Pong(2))

    def on_pong(event: Pong) -> None:
        if event.n == 1:
            raise ValueError("bad pong")
        log.append(event.n)

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Pong, on_pong)
    with pytest.raises(ValueError, match="bad pong"):
        bus.publish(Ping(0))
    assert not bus.pending
    bus.publish(Pong(3))
    assert log == [3]


def test_hold_queues_until_flush(bus: EventBus) -> None:
    log: list[str] = []
    bus.subscribe(Ping, lambda e: log.append(f"ping{e.n}"))

    def on_pong(event: Pong) -> None:
        log.append(f"pong{event.n}")
        bus.publish(Ping(event.n * 10))

    bus.subscribe(Pong, on_pong)
    bus.hold()
    bus.publish(Pong(1))
    bus.publish(Ping(2))
    assert log == []
    assert list(bus.pending) == [Pong(1), Ping(2)]
    bus.flush()
    assert log == ["pong1", "ping2", "ping10"]
    assert not bus.pending
    # still held: a driver calling handlers itself keeps FIFO semantics
    for handler in bus.handlers(Pong):
        handler(Pong(3))
    assert log[-1] == "pong3"
    bus.flush()
    assert log[-1] == "ping30"
    bus.release()
    bus.publish(Ping(4))  # released: delivered at once again
    assert log[-1] == "ping4"


def test_release_drops_undelivered_events(bus: EventBus) -> None:
    log: list[int] = []
    bus.subscribe(Ping, lambda e: log.append(e.n))
    bus.hold()
    bus.publish(Ping(1))
    bus.release()
    assert not bus.pending
    bus.publish(Ping(2))
    assert log == [2]


def test_flush_exception_clears_queue_and_stays_held(bus: EventBus) -> None:
    log: list[int] = []

    def on_ping(event: Ping) -> None:
        if event.n == 1:
            raise KeyError("x")
        log.append(event.n)

    bus.subscribe(Ping, on_ping)
    bus.hold()
    bus.publish(Ping(1))
    bus.publish(Ping(2))
    with pytest.raises(KeyError):
        bus.flush()
    assert not bus.pending
    bus.publish(Ping(3))
    assert log == []  # still held
    bus.flush()
    bus.release()
    assert log == [3]


def test_hold_during_a_delivery_is_refused(bus: EventBus) -> None:
    def on_ping(event: Ping) -> None:
        bus.hold()

    bus.subscribe(Ping, on_ping)
    with pytest.raises(RuntimeError, match="during a delivery"):
        bus.publish(Ping(1))
    bus.hold()  # the failed delivery did not leave the bus stuck
    bus.release()


def test_handlers_of_unknown_type_are_the_wildcards(bus: EventBus) -> None:
    def everything(event: object) -> None:
        return None

    assert bus.handlers(Ping) == ()
    bus.subscribe_all(everything)
    assert bus.handlers(Ping) == (everything,)


class Late(NamedTuple):
    n: int


def test_a_handler_subscribed_during_a_delivery_gets_events_published_after_it(
    bus: EventBus,
) -> None:
    log: list[str] = []

    def on_ping(event: Ping) -> None:
        bus.publish(Pong(1))

    def on_pong(event: Pong) -> None:
        bus.subscribe(Late, lambda e: log.append(f"late{e.n}"))
        bus.subscribe_all(lambda e: log.append(f"all:{type(e).__name__}"))
        bus.publish(Late(1))
        bus.publish("text")

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Pong, on_pong)
    bus.publish(Ping(0))
    assert log == ["late1", "all:Late", "all:str"]


def test_subscriptions_made_while_held_are_seen_by_flush(bus: EventBus) -> None:
    log: list[int] = []
    bus.hold()
    bus.publish(Late(1))
    bus.subscribe(Late, lambda e: log.append(e.n))
    bus.flush()
    bus.release()
    assert log == [1]
