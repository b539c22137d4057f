"""The driver's step (clock → timers → venue → bus), the Venue protocol and the mode object.

A fake venue, built by a `RunMode`'s venue factory, records what the kernel and the driver
ask of it; a recording strategy logs every hook with the clock's time. Wall-clock timers
are fired by the node's `poll` at their scheduled times.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
import pytest

from engine.cache import SymbolHistory
from engine.clock import SimClock, WallClock
from engine.config import AccountConfig, ExecutionConfig, parse_config
from engine.errors import InternalError
from engine.execution import SimulatedBroker, Venue
from engine.model import Bar, Instrument, OrderRequested, QuoteTick, TradeTick
from engine.runtime.driver import Driver
from engine.runtime.kernel import Kernel, build_kernel
from engine.runtime.modes import BACKTEST, NODE, RunMode, VenueParts
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy

MINUTE = 60 * 10**9
T = 1_700_000_000 * 10**9 // (60 * MINUTE) * (60 * MINUTE)  # a whole hour


def bar(ts: int, close: float = 100.0, symbol: str = "A") -> Bar:
    return Bar(symbol, ts, ts, close, close + 1.0, close - 1.0, close, 10.0, MINUTE)


@dataclass
class FakeVenue:
    """A venue that matches nothing: it records calls and keeps orders "working"."""

    log: list[str]
    working: dict[str, list[str]] = field(default_factory=dict)
    submitted: list[OrderRequested] = field(default_factory=list)

    def submit(self, order: OrderRequested) -> None:
        self.submitted.append(order)
        self.working.setdefault(order.symbol, []).append(order.order_id)

    def cancel(self, order_id: str, reason: str = "") -> None:
        self.log.append(f"cancel {order_id}")

    def modify(
        self,
        order_id: str,
        quantity: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        self.log.append(f"modify {order_id}")

    def process_bar(self, bar: Bar) -> None:
        self.log.append(f"venue bar {bar.ts_event}")

    def process_trade(self, tick: TradeTick) -> None:
        self.log.append(f"venue trade {tick.ts_event}")

    def process_quote(self, quote: QuoteTick) -> None:
        self.log.append(f"venue quote {quote.ts_event}")

    def size_at_fill(self, order_id: str, fraction: float) -> None:
        self.log.append(f"size_at_fill {order_id}")


class Logging(Strategy):
    """Logs each hook with the clock's time; buys 1 A on its first bar; a 30 min timer."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def on_start(self, ctx: Context) -> None:
        ctx.set_timer("t", 30 * MINUTE)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.log.append(f"bar {bar.ts_event} at {ctx.time_ns}")
        if bar.ts_event == T + 60 * MINUTE:
            ctx.buy("A", 1)

    def on_trade(self, ctx: Context, tick: TradeTick) -> None:
        self.log.append(f"trade {tick.ts_event}")

    def on_quote(self, ctx: Context, quote: QuoteTick) -> None:
        self.log.append(f"quote {quote.ts_event}")

    def on_timer(self, ctx: Context, name: str) -> None:
        self.log.append(f"timer {name} at {ctx.time_ns}")


def fake_kernel(log: list[str], clock: SimClock | WallClock) -> tuple[Kernel, FakeVenue]:
    venues: list[FakeVenue] = []

    def factory(parts: VenueParts) -> FakeVenue:
        venues.append(FakeVenue(log))
        return venues[0]

    kernel = build_kernel(
        clock=clock,
        strategy=Logging(log),
        strategy_id="S1",
        histories={s: SymbolHistory.empty(s) for s in ("A", "B")},
        instruments={"A": Instrument("A", lot_size=1.0), "B": Instrument("B", lot_size=1.0)},
        account=AccountConfig(),
        execution=ExecutionConfig(),
        mode=RunMode("fake", streaming=True, snapshots=True, venue=factory),
    )
    return kernel, venues[0]


def test_simulated_broker_has_every_member_of_the_venue_protocol() -> None:
    members = [name for name in dir(Venue) if not name.startswith("_")]
    assert sorted(members) == sorted(
        [
            "cancel",
            "modify",
            "process_bar",
            "process_quote",
            "process_trade",
            "size_at_fill",
            "submit",
            "working",
        ]
    )
    for name in members:
        if name == "working":
            continue  # an attribute on the broker, a read-only property in the protocol
        wanted = list(inspect.signature(getattr(Venue, name)).parameters)
        assert list(inspect.signature(getattr(SimulatedBroker, name)).parameters) == wanted
        assert list(inspect.signature(getattr(FakeVenue, name)).parameters) == wanted


def test_step_fires_timers_then_the_venue_then_the_handlers() -> None:
    log: list[str] = []
    clock = SimClock(T)
    kernel, venue = fake_kernel(log, clock)
    driver = Driver(kernel, clock, snapshot=kernel.portfolio.snapshot)
    kernel.runner.start()
    with driver.session():
        driver.step(bar(T + 60 * MINUTE))  # timers at +30, +60 fire first; then the buy
        assert [o.symbol for o in venue.submitted] == ["A"]  # through risk and execution
        driver.step(TradeTick("B", T + 70 * MINUTE, T + 70 * MINUTE, 5.0, 1.0, "", ""))
        driver.step(QuoteTick("B", T + 95 * MINUTE, T + 95 * MINUTE, 4.9, 5.1, 1.0, 1.0))
    assert log == [
        f"timer t at {T + 30 * MINUTE}",
        f"timer t at {T + 60 * MINUTE}",
        # nothing works yet: the venue is not asked about the first bar
        f"bar {T + 60 * MINUTE} at {T + 60 * MINUTE}",
        f"venue trade {T + 70 * MINUTE}",  # the buy works now: the venue sees data first
        f"trade {T + 70 * MINUTE}",
        f"timer t at {T + 90 * MINUTE}",
        f"venue quote {T + 95 * MINUTE}",
        f"quote {T + 95 * MINUTE}",
    ]
    # a snapshot per event time left behind, taken before the next time's timers
    assert [s.ts_event for s in kernel.portfolio.equity_curve] == [
        T + 60 * MINUTE,
        T + 70 * MINUTE,
    ]
    assert driver.current_ns == T + 95 * MINUTE


def test_wall_clock_node_fires_timers_at_their_scheduled_times_on_poll() -> None:
    now = [T]
    clock = WallClock(source=lambda: now[0])
    config = parse_config(
        {
            "data": [{"path": "<memory>", "symbol": "A"}],
            "instruments": [{"symbol": "A", "lot_size": 1.0}],
            "strategy": {"path": "logging"},
            "execution": {"fee_rate": 0.0},
        }
    )
    log: list[str] = []
    node = TradingNode(config, clock=clock, strategy=Logging(log))
    node.start()  # the timer counts from the wall time now: first due at T + 30 min
    now[0] = T + 20 * MINUTE
    node.poll()
    assert log == []
    now[0] = T + 65 * MINUTE  # the loop was late: both due timers fire, each at its time
    node.poll()
    assert log == [f"timer t at {T + 30 * MINUTE}", f"timer t at {T + 60 * MINUTE}"]
    assert clock.timestamp_ns() == T + 65 * MINUTE  # real time again after firing
    node.on_bar(bar(T + 60 * MINUTE, 100.0))  # the buy; its fill comes with the next bar
    now[0] = T + 121 * MINUTE
    node.on_bar(bar(T + 120 * MINUTE, 102.0))  # the 90-min timer fires before the bar
    assert log[2:] == [
        f"bar {T + 60 * MINUTE} at {T + 65 * MINUTE}",
        f"timer t at {T + 90 * MINUTE}",
        f"timer t at {T + 120 * MINUTE}",
        f"bar {T + 120 * MINUTE} at {T + 121 * MINUTE}",
    ]
    (fill,) = node.kernel.recorder.fills
    assert (fill.price, fill.quantity) == (102.0, 1.0)  # the bar's open
    node.stop()
    assert [(s.ts_event, s.equity) for s in node.equity_curve] == [
        (T + 60 * MINUTE, 10_000.0),
        (T + 120 * MINUTE, pytest.approx(10_000.0 - fill.fee)),
    ]


def test_poll_records_equity_before_a_timer_acts_and_only_once() -> None:
    config = parse_config(
        {
            "data": [{"path": "<memory>", "symbol": "A"}],
            "instruments": [{"symbol": "A", "lot_size": 1.0}],
            "strategy": {"path": "logging"},
        }
    )
    log: list[str] = []
    node = TradingNode(config, clock=SimClock(T + 45 * MINUTE), strategy=Logging(log))
    node.on_bar(bar(T + 60 * MINUTE))
    node.poll(T + 80 * MINUTE)  # fires the timer due at T + 75 min
    assert log[-1] == f"timer t at {T + 75 * MINUTE}"
    assert [s.ts_event for s in node.equity_curve] == [T + 60 * MINUTE]
    node.poll(T + 85 * MINUTE)  # nothing due: nothing happens
    node.on_bar(bar(T + 120 * MINUTE))
    node.stop()
    assert [s.ts_event for s in node.equity_curve] == [T + 60 * MINUTE, T + 120 * MINUTE]


def test_run_bars_replays_history_on_a_sim_clock_only() -> None:
    log: list[str] = []
    clock = WallClock(source=lambda: T)
    kernel, _ = fake_kernel(log, clock)
    with pytest.raises(InternalError, match="SimClock only"):
        Driver(kernel, clock).run_bars([[bar(T)]])


@pytest.mark.parametrize("snapshots", [True, False])
def test_run_and_run_bars_are_step_inlined(snapshots: bool) -> None:
    """The same bars through `run_bars`, `run` and `step`: the same log and snapshots."""
    logs: list[list[str]] = []
    curves = []
    for way in ("run_bars", "run", "step"):
        log: list[str] = []
        clock = SimClock(T)
        kernel, _ = fake_kernel(log, clock)
        snapshot = kernel.portfolio.snapshot if snapshots else None
        driver = Driver(kernel, clock, snapshot=snapshot)
        kernel.runner.start()
        bars = [bar(T + k * 20 * MINUTE, 100.0 + k, "AB"[k % 3 // 2]) for k in range(1, 10)]
        if way == "run_bars":
            driver.run_bars([bars[:4], bars[4:]])
        elif way == "run":
            driver.run(iter(bars))
        else:
            with driver.session():
                for item in bars:
                    driver.step(item)
        driver.settle()
        assert driver.current_ns == T + 9 * 20 * MINUTE
        logs.append(log)
        curves.append([tuple(s) for s in kernel.portfolio.equity_curve])
    assert logs[0] == logs[1] == logs[2]
    assert curves[0] == curves[1] == curves[2]
    assert len(curves[0]) == (9 if snapshots else 0)
    assert sum(line.startswith("timer") for line in logs[0]) == 6  # every 30 min to 3 h
    assert sum(line.startswith("venue bar") for line in logs[0]) == 6  # after the buy (k=3)


def test_modes_name_what_differs() -> None:
    assert (BACKTEST.streaming, BACKTEST.snapshots) == (False, False)
    assert (NODE.streaming, NODE.snapshots) == (True, True)
    log: list[str] = []
    kernel, venue = fake_kernel(log, SimClock(T))
    assert kernel.venue is venue  # the factory's venue, typed as the protocol
    history = SymbolHistory(
        "A", np.array([T]), dict.fromkeys(("open", "high", "low", "close", "volume"), np.ones(1))
    )
    backtest = build_kernel(
        clock=SimClock(T),
        strategy=Strategy(),
        strategy_id="S1",
        histories={"A": history},
        instruments={"A": Instrument("A")},
        account=AccountConfig(),
        execution=ExecutionConfig(),
    )
    assert type(backtest.venue) is SimulatedBroker
    assert type(backtest.cache).__name__ == "MarketCache"
    assert type(kernel.cache).__name__ == "LiveMarketCache"
