"""StrategyRunner: hooks get only their own strategy's events; user faults become one line."""

from __future__ import annotations

import sys

import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.config import AccountConfig, ExecutionConfig
from engine.errors import ConfigError, StrategyError
from engine.model import (
    Instrument,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSide,
    TradeTick,
)
from engine.runtime.kernel import build_kernel
from engine.strategy import Context, Strategy, StrategyRunner
from engine.strategy.runner import strategy_fault

T = 1_609_459_200 * 10**9  # 2021-01-01T00:00Z


class Recording(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def on_start(self, ctx: Context) -> None:
        self.seen.append("start")

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        self.seen.append(f"filled {event.order_id}")

    def on_order_denied(self, ctx: Context, event: OrderDenied) -> None:
        self.seen.append(f"denied {event.order_id}")

    def on_order_rejected(self, ctx: Context, event: OrderRejected) -> None:
        self.seen.append(f"rejected {event.order_id}")

    def on_order_canceled(self, ctx: Context, event: OrderCanceled) -> None:
        self.seen.append(f"canceled {event.order_id}")

    def on_stop(self, ctx: Context) -> None:
        raise ZeroDivisionError("division by zero")


def make_runner(strategy: Strategy) -> StrategyRunner:
    context = Context(
        strategy_id="S1",
        clock=SimClock(T),
        bus=EventBus(),
        portfolio=None,  # type: ignore[arg-type]
        orders=None,  # type: ignore[arg-type]
        histories={},
        instruments={},
    )
    return StrategyRunner(strategy, context)


def test_order_events_reach_only_the_owning_strategy() -> None:
    strategy = Recording()
    runner = make_runner(strategy)
    runner.start()
    for order_id, owner in (("S1-000001", "S1"), ("S2-000001", "S2")):
        runner.on_order_filled(
            OrderFilled(
                order_id, owner, "F1", "A", OrderSide.BUY, 1.0, 1.0, 0.0, "taker", 0.0, T, T
            )
        )
        runner.on_order_denied(OrderDenied(order_id, owner, "A", "cash", "no", T, T))
        runner.on_order_rejected(OrderRejected(order_id, owner, "A", "no", T, T))
        runner.on_order_canceled(OrderCanceled(order_id, owner, "A", "no", T, T))
    assert strategy.seen == [
        "start",
        "filled S1-000001",
        "denied S1-000001",
        "rejected S1-000001",
        "canceled S1-000001",
    ]


def test_ownership_is_the_events_strategy_id_not_the_form_of_the_order_id() -> None:
    # A venue's own ids ("BINANCE-123"), or an id that looks like another strategy's: the
    # runner routes by the event's strategy_id alone (it used to parse "<strategy>-<n>").
    strategy = Recording()
    runner = make_runner(strategy)
    runner.start()
    runner.on_order_canceled(OrderCanceled("BINANCE-123", "S1", "A", "no", T, T))
    runner.on_order_canceled(OrderCanceled("S2-000001", "S1", "A", "no", T, T))
    runner.on_order_canceled(OrderCanceled("S1-000009", "S2", "A", "no", T, T))
    assert strategy.seen == ["start", "canceled BINANCE-123", "canceled S2-000001"]


def test_a_hook_fault_becomes_a_strategy_error_naming_hook_and_time() -> None:
    runner = make_runner(Recording())
    with pytest.raises(StrategyError) as info:
        runner.stop()
    line = Recording.on_stop.__code__.co_firstlineno + 1
    assert str(info.value) == (
        "Recording.on_stop raised at 2021-01-01T00:00:00+00:00: ZeroDivisionError: division by "
        f"zero in {__file__}:{line} (on_stop)"
    )
    assert isinstance(info.value.__cause__, ZeroDivisionError)


class Exits(Strategy):
    def on_stop(self, ctx: Context) -> None:
        sys.exit(3)


def test_sys_exit_in_a_hook_is_a_strategy_error_with_file_and_line() -> None:
    runner = make_runner(Exits())
    with pytest.raises(StrategyError) as info:
        runner.stop()
    line = Exits.on_stop.__code__.co_firstlineno + 1
    assert str(info.value) == (
        "Exits.on_stop raised at 2021-01-01T00:00:00+00:00: sys.exit(3) called in "
        f"{__file__}:{line} (on_stop); strategy code must not exit the process: raise an "
        "exception to stop the run"
    )
    assert isinstance(info.value.__cause__, SystemExit)


def test_kestrel_errors_pass_through_unchanged() -> None:
    class Bad(Strategy):
        def on_start(self, ctx: Context) -> None:
            raise ConfigError("bad setting")

    with pytest.raises(ConfigError, match=r"^bad setting$"):
        make_runner(Bad()).start()


def test_strategy_fault_names_the_innermost_frame_and_the_bar() -> None:
    def user_code() -> None:
        raise KeyError("missing")

    try:
        user_code()
    except KeyError as exc:
        error = strategy_fault(exc, T)
    text = str(error)
    assert text.startswith("KeyError: 'missing' in ")
    assert "test_strategy_runner.py:" in text
    assert "(user_code)" in text
    assert text.endswith(", at bar 2021-01-01T00:00:00+00:00")
    assert str(strategy_fault(ValueError("x"), -1)) == "ValueError: x, at bar start"


def test_handles_names_the_hooks_a_strategy_overrides() -> None:
    runner = make_runner(Recording())
    assert runner.handles("on_order_filled")
    assert runner.handles("on_order_canceled")
    assert not runner.handles("on_order_expired")
    assert not runner.handles("on_trade")
    assert not make_runner(Strategy()).handles("on_order_filled")


def test_the_kernel_subscribes_only_the_hooks_a_strategy_overrides() -> None:
    def wired(strategy: Strategy) -> tuple[bool, bool, bool]:
        kernel = build_kernel(
            clock=SimClock(T),
            strategy=strategy,
            strategy_id="S1",
            histories={},
            instruments={"A": Instrument("A")},
            account=AccountConfig(),
            execution=ExecutionConfig(),
        )

        def subscribed(event_type: type) -> bool:
            return any(
                getattr(handler, "__self__", None) is kernel.runner
                for handler in kernel.bus.handlers(event_type)
            )

        return subscribed(OrderFilled), subscribed(OrderExpired), subscribed(TradeTick)

    assert wired(Recording()) == (True, False, False)
    assert wired(Strategy()) == (False, False, False)
