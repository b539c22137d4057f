"""The `Venue` protocol: what the kernel, its driver and the execution engine need of a broker.

In: approved orders, cancels and modifications (`ExecutionEngine` calls ``submit``,
``cancel``, ``modify``: the `OrderCommands` part, all the engine is typed against),
market data before strategies see it (the driver calls ``process_bar`` /
``process_trade`` / ``process_quote``) and fill-time sizing requests from `Context`
(``size_at_fill``). Out: the venue's answers, published on
the bus as order events (`OrderAccepted`, `OrderFilled`, ...); nothing is returned.

`engine.execution.broker.SimulatedBroker` implements it for backtest and paper;
`engine.runtime.live.venue.LiveVenue` (real orders through ccxt) implements it for live.
Nothing else of a broker is reachable from the kernel, so a venue adapter needs exactly these
members. The protocol is deliberately
narrow: risk reads the portfolio, not the venue, and strategies reach the venue only
through the bus.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from typing import Any, Protocol, runtime_checkable

from engine.model import Bar, OrderRequested, QuoteTick, TradeTick

__all__ = ["OrderCommands", "OwnEvents", "Venue"]


class OrderCommands(Protocol):
    """The part of a venue the `ExecutionEngine` calls: order commands, answered by events."""

    def submit(self, order: OrderRequested) -> None:
        """Send an approved order; the answer comes back as events on the bus."""
        ...

    def cancel(self, order_id: str, reason: str = ...) -> None:
        """Ask to cancel a working order; the answer comes back as an event."""
        ...

    def modify(
        self,
        order_id: str,
        quantity: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        """Ask to change a working order; the answer comes back as an event."""
        ...


@runtime_checkable
class OwnEvents(Protocol):
    """A venue that hears events of its own on the bus (the live venue's OCO marker).

    `Kernel.wire` subscribes them with the rest of the wiring, so all of it stays in one place.
    """

    def own_events(self) -> Sequence[tuple[type, Callable[[Any], None]]]:
        """Return ``(event type, handler)`` pairs to subscribe."""
        ...


class Venue(OrderCommands, Protocol):
    """Where approved orders go and where market data is matched before strategies see it."""

    @property
    def working(self) -> Sized:
        """Return a container that is non-empty exactly while some order is working.

        The driver keeps a reference to it and skips the ``process_*`` call while it is
        empty (the backtest's fast path), so it must stay the same object for the
        venue's life. A venue that matches nothing itself (a real exchange) may return an
        always-empty container and report fills from its own feed.
        """
        ...

    def process_bar(self, bar: Bar) -> None:
        """Match working orders of ``bar.symbol`` against the bar (before strategies see it)."""
        ...

    def process_trade(self, tick: TradeTick) -> None:
        """Match working orders against a trade tick (before strategies see it)."""
        ...

    def process_quote(self, quote: QuoteTick) -> None:
        """Match working orders against a quote tick (before strategies see it)."""
        ...

    def size_at_fill(self, order_id: str, fraction: float) -> None:
        """Size market order ``order_id`` at its fill as ``fraction`` of equity then."""
        ...
