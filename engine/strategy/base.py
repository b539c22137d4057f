"""The `Strategy` base class: hooks a plugin overrides, and its typed parameters.

A strategy is a plain class. It declares its parameters as a frozen dataclass named
``Params`` (checked by the loader, typos answered with "did you mean") and overrides the
hooks it needs. Every hook receives the `Context`, the strategy's only window on the
world; the framework machinery lives in `engine.strategy.runner`, not here.

Example::

    @dataclass(frozen=True)
    class BuyTheDipParams:
        period: int = 14
        threshold: float = 30.0

    class BuyTheDip(Strategy):
        Params = BuyTheDipParams
        params: BuyTheDipParams

        def on_start(self, ctx: Context) -> None:
            self.rsi = {s: ctx.indicator("rsi", s, timeperiod=self.params.period)
                        for s in ctx.symbols}

        def on_bar(self, ctx: Context, bar: Bar) -> None:
            if self.rsi[bar.symbol][-1] < self.params.threshold:
                ctx.order_target_percent(bar.symbol, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
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
    from engine.strategy.context import Context

__all__ = ["NoParams", "Strategy"]


@dataclass(frozen=True)
class NoParams:
    """Parameters of a strategy that takes none."""


class Strategy:
    """Base class of strategy plugins. Override the hooks you need; all default to no-op.

    Hooks run in this order: `on_start` once (declare indicators here), then per event
    `on_bar` / `on_trade` / `on_quote` and the order hooks, then `on_stop` once. Orders
    placed in a hook are sent after the hook returns; with the default fill model a market
    order placed in `on_bar` fills at the next bar's open. A live strategy that keeps state
    of its own across restarts defines `on_save` and `on_load`.
    """

    Params: ClassVar[type[Any]] = NoParams
    params: Any

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    def on_start(self, ctx: Context) -> None:
        """Run once before the first event: declare indicators, set timers."""

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Run when a bar of a subscribed symbol has closed."""

    def on_trade(self, ctx: Context, tick: TradeTick) -> None:
        """Run on each trade tick."""

    def on_quote(self, ctx: Context, quote: QuoteTick) -> None:
        """Run on each quote (top of book) update."""

    def on_timer(self, ctx: Context, name: str) -> None:
        """Run when a timer set with `Context.set_timer` fires.

        ``ctx.time_ns`` is the timer's time. A timer due exactly at a bar's close fires
        before that bar is delivered: the history ends at the bar before (conservative:
        the bar closing then is not yet known). Under ``market_fill = "same_close"`` an
        order placed here fills at its symbol's next close (`engine.execution.broker`).
        """

    def on_news(self, ctx: Context, headline: NewsHeadline) -> None:
        """Run when a headline of a ``[[data]] kind = "news"`` source is delivered.

        A headline stamped t arrives just before the first bar closing at or after t
        (`engine.runtime.news`); ``ctx.time_ns`` is then that bar's close time. Subscribed
        only when the class defines it; a run with news needs it.
        """

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        """Run after one of this strategy's orders (partly) filled."""

    def on_order_denied(self, ctx: Context, event: OrderDenied) -> None:
        """Run when risk denied one of this strategy's orders (``event.reason`` says why)."""

    def on_order_rejected(self, ctx: Context, event: OrderRejected) -> None:
        """Run when the broker rejected one of this strategy's orders."""

    def on_order_canceled(self, ctx: Context, event: OrderCanceled) -> None:
        """Run when one of this strategy's orders was canceled."""

    def on_order_expired(self, ctx: Context, event: OrderExpired) -> None:
        """Run when one of this strategy's DAY/GTD orders expired."""

    def on_order_updated(
        self, ctx: Context, event: OrderTriggered | OrderModified | OrderModifyRejected
    ) -> None:
        """Run when a working order was triggered (stop-limit), modified, or not modified."""

    def on_stop(self, ctx: Context) -> None:
        """Run once after the last event."""

    def on_save(self) -> dict[str, Any]:
        """Return the strategy's own state to keep across a live node's restarts (opt-in).

        Only ``kestrel live`` calls it, and only when the class defines it: after every bar
        (once ``on_bar`` ran and the orders it placed were written) and on a clean stop. The
        state is stored as JSON (``live_strategy_state``) when it differs from the last one
        saved; a restarted node hands it back to `on_load`. Paper needs neither hook: it
        replays its journal and rebuilds the same attributes.

        Save what only the strategy knows: counters (bars seen, trades today), regime
        flags, the time of the last signal or entry (as ``int`` ns), a cooldown's end.
        Do not save indicators (the warm-up rebuilds them), positions, cash or orders (the
        restore rebuilds them from the store and the exchange: read them from ``ctx``).

        Returns:
            A dict of JSON values: ``str`` keys; ``str``, ``int``, ``float``, ``bool``,
            ``None``, lists and dicts of them (a tuple comes back as a list). Anything else
            stops the node with a one-line error naming the key.
        """
        return {}

    def on_load(self, state: dict[str, Any]) -> None:
        """Take back the state `on_save` returned before a live node's restart (opt-in).

        Called once on start by ``kestrel live`` when the class defines it and a state was
        saved for this account and strategy id: after the restore of portfolio and orders
        and after `on_start` (so what it sets overrides ``on_start``'s defaults), before
        the fills that happened while the node was down are delivered and before the
        first bar. Not called on an account's first start (nothing saved yet).

        Args:
            state: The dict `on_save` last returned, read back from JSON.
        """
