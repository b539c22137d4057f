"""Runs one strategy: turns bus events into hook calls, advances its history cursors.

In: `Bar`, tick and order events from the bus. Out: calls to the strategy's hooks with its
`Context`. Exceptions from user code become a `StrategyError` naming the hook and the time,
so the CLI can report them in one line; the original traceback is kept as ``__cause__``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from engine.errors import KestrelError, StrategyError
from engine.model import (
    Bar,
    NewsHeadline,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    QuoteTick,
    TradeTick,
)
from engine.strategy.base import Strategy
from engine.strategy.context import Context

__all__ = ["StrategyRunner", "describe_fault", "strategy_fault"]


class StrategyRunner:
    """Adapter between the bus and one strategy instance."""

    __slots__ = ("_owned", "context", "on_bar", "strategy")

    def __init__(
        self, strategy: Strategy, context: Context, also_owns: tuple[str, ...] = ()
    ) -> None:
        """Run ``strategy`` with ``context``.

        Args:
            strategy: The user's strategy instance.
            context: Its context (its ``strategy_id`` names the orders it owns).
            also_owns: Ids of engine parts placing orders on the strategy's behalf whose
                order events it hears too (the protective exits, ``"<id>.exits"``).
        """
        self.strategy = strategy
        self.context = context
        # Bars are the hot path: a C-level partial, no Python wrapper. Faults raised from
        # it are translated by the driver with `strategy_fault`.
        self.on_bar: Callable[[Bar], None] = partial(strategy.on_bar, context)
        # Every order event carries the owning strategy's id (`engine.model.events`); the
        # runner compares it whole and never parses order ids, whose form is the venue's.
        self._owned = (context.strategy_id, *also_owns)
        context.timer_callback = self.on_timer

    def continue_numbering(self, last: int) -> None:
        """Number the strategy's next order ``last + 1`` or later (a restarted live node
        continues after the orders it placed before, so no order id is used twice)."""
        self.context._next_order = max(self.context._next_order, last)

    def handles(self, hook: str) -> bool:
        """Return True if the strategy's class overrides ``hook`` (e.g. ``"on_order_filled"``).

        The kernel subscribes only the hooks a strategy defines, so a strategy that ignores
        fills costs nothing per fill. Hooks are looked up on the class, once, at wiring.
        """
        return getattr(type(self.strategy), hook) is not getattr(Strategy, hook)

    def start(self) -> None:
        """Call `Strategy.on_start`."""
        self._call("on_start", self.strategy.on_start, self.context)

    def stop(self) -> None:
        """Call `Strategy.on_stop`."""
        self._call("on_stop", self.strategy.on_stop, self.context)

    def save_state(self) -> dict[str, Any] | None:
        """Call `Strategy.on_save` if the class defines it; None if it does not.

        Raises:
            StrategyError: ``on_save`` raised, or returned something other than a dict.
        """
        if not self.handles("on_save"):
            return None
        try:
            state = self.strategy.on_save()
        except (Exception, SystemExit) as exc:
            raise self._fault("on_save", exc) from exc
        if not isinstance(state, dict):
            raise StrategyError(
                f"{type(self.strategy).__name__}.on_save returned a {type(state).__name__}; "
                "it must return a dict of JSON values"
            )
        return state

    def load_state(self, state: dict[str, Any]) -> bool:
        """Call `Strategy.on_load` with ``state`` if the class defines it; return whether.

        Raises:
            StrategyError: ``on_load`` raised.
        """
        if not self.handles("on_load"):
            return False
        self._call("on_load", self.strategy.on_load, state)
        return True

    def on_trade(self, tick: TradeTick) -> None:
        """Call `Strategy.on_trade`."""
        self._call("on_trade", self.strategy.on_trade, self.context, tick)

    def on_quote(self, quote: QuoteTick) -> None:
        """Call `Strategy.on_quote`."""
        self._call("on_quote", self.strategy.on_quote, self.context, quote)

    def on_news(self, headline: NewsHeadline) -> None:
        """Call `Strategy.on_news`."""
        self._call("on_news", self.strategy.on_news, self.context, headline)

    def on_timer(self, name: str, ts_ns: int) -> None:
        """Call `Strategy.on_timer` (the signature of a clock timer callback)."""
        self._call("on_timer", self.strategy.on_timer, self.context, name)

    def on_order_filled(self, event: OrderFilled) -> None:
        """Forward fills of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_filled", self.strategy.on_order_filled, self.context, event)

    def on_order_denied(self, event: OrderDenied) -> None:
        """Forward risk denials of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_denied", self.strategy.on_order_denied, self.context, event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Forward broker rejections of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_rejected", self.strategy.on_order_rejected, self.context, event)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Forward cancellations of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_canceled", self.strategy.on_order_canceled, self.context, event)

    def on_order_expired(self, event: OrderExpired) -> None:
        """Forward expiries of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_expired", self.strategy.on_order_expired, self.context, event)

    def on_order_updated(self, event: OrderTriggered | OrderModified | OrderModifyRejected) -> None:
        """Forward triggers and modification answers of this strategy's orders."""
        if event.strategy_id in self._owned:
            self._call("on_order_updated", self.strategy.on_order_updated, self.context, event)

    def _call(self, hook: str, function: Callable[..., None], *args: Any) -> None:
        try:
            function(*args)
        except (Exception, SystemExit) as exc:  # sys.exit() in a hook is a fault too
            raise self._fault(hook, exc) from exc

    def _fault(self, hook: str, exc: BaseException) -> KestrelError:
        if isinstance(exc, KestrelError):
            return exc
        name = type(self.strategy).__name__
        when = self.context.now.isoformat()
        return StrategyError(f"{name}.{hook} raised at {when}: {describe_fault(exc)}")


def describe_fault(exc: BaseException) -> str:
    """Return ``"<Type>: <message> in <file>:<line> (<function>)"`` for user code's fault.

    The innermost frame of the traceback is where the user looks first; ``--debug`` shows
    the rest. ``SystemExit`` (``sys.exit()`` in strategy code) would otherwise end the whole
    process silently with its code, so it gets a sentence that says what to do instead.
    """
    if isinstance(exc, SyntaxError) and exc.filename:  # the file that does not parse
        return f"{type(exc).__name__}: {exc.msg} in {exc.filename}:{exc.lineno}"
    where = ""
    # importlib's own frames ("<frozen importlib._bootstrap>") are never the user's line
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")
    ]
    if frames:
        last = frames[-1]
        where = f" in {last.filename}:{last.lineno} ({last.name})"
    if isinstance(exc, SystemExit):
        return (
            f"sys.exit({exc.code!r}) called{where}; strategy code must not exit the process: "
            "raise an exception to stop the run"
        )
    return f"{type(exc).__name__}: {exc}{where}"


def strategy_fault(exc: BaseException, ts_ns: int) -> StrategyError:
    """Return a one-line `StrategyError` for an exception raised while a bar was handled.

    The message names the innermost frame of the traceback (file, line, function) so the
    user can find the line at fault without the full traceback (``--debug`` shows it).
    """
    when = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).isoformat() if ts_ns >= 0 else "start"
    return StrategyError(f"{describe_fault(exc)}, at bar {when}")
