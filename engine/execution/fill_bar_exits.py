"""Exits matched on their entry's bar (``execution.exits_from = "fill_bar"``).

In: the broker's record of the orders that filled at the open of the bar it matched last
(`SimulatedBroker.process_bar`), each order as it reaches the venue, and the bus marker
`FillBarExitsDue`. Out: fills, triggers and cancels published by the broker's own methods
(`SimulatedBroker` inherits `FillBarExits`). The rule is in the broker's module docstring
and the README's fill table; the default (``"next_bar"``) never reaches this code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from engine.execution.matching import WorkingOrder, match_bar
from engine.model import Bar, OrderRequested, OrderType, TimeInForce

if TYPE_CHECKING:
    from engine.bus import EventBus
    from engine.clock import Clock

__all__ = ["FillBarExits", "FillBarExitsDue"]

_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)
# `engine.risk.exits.ExitManager` places its exits under "<strategy>.exits"
_RISK_EXITS_SUFFIX = ".exits"
_NOT_ATTACHED = (OrderType.MARKET, OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE,
                 OrderType.TRAILING_STOP)  # fmt: skip


class FillBarExitsDue(NamedTuple):
    """Bus marker (``exits_from = "fill_bar"``): the exits of ``symbol`` that reached the
    venue since the marker was published are matched against their fill's bar now. It is
    queued behind the approvals published with it, so an OCO pair arrives whole first."""

    symbol: str


class FillBarExits:
    """The fill-bar matching of `SimulatedBroker` (state set by its ``__init__``)."""

    working: dict[str, list[WorkingOrder]]
    _bus: EventBus
    _clock: Clock
    _touch: bool
    _opened: dict[str, tuple[Bar, set[str]]]
    _fill_bar_exits: dict[str, list[WorkingOrder]]

    # the broker's own methods (SimulatedBroker, FillMethods), used here as they are there
    _triggered: Callable[[WorkingOrder], None]
    cancel: Callable[..., None]
    _resolve_groups: Callable[
        [list[tuple[WorkingOrder, float, str, int, float]]],
        list[tuple[WorkingOrder, float, str, int, float]],
    ]
    _finish_immediate: Callable[[WorkingOrder, int], None]
    _fill: Callable[..., None]

    def _attached_to_open_fill(self, order: OrderRequested, now: int) -> bool:
        """Is ``order`` an exit attached to a fill at the open of the bar matched now?

        A bracket's child released by that fill, or a ``[risk.exits]`` stop or limit
        (placed on every fill, so on this one): the entry's fill is published while the
        clock reads the bar's close, and the exits reach the venue before the next bar.
        """
        record = self._opened.get(order.symbol)
        if record is None or record[0].ts_event != now or not record[1]:
            return False
        if order.order_type in _NOT_ATTACHED:
            return False
        if order.parent_order_id:  # "" when it has none
            return order.parent_order_id in record[1]
        return order.reduce_only and order.strategy_id.endswith(_RISK_EXITS_SUFFIX)

    def _match_exits_on_fill_bar(self, due: FillBarExitsDue) -> None:
        """Match the exits attached to fills at the open against the rest of that bar.

        The same rules as `process_bar` (trigger, gap at the open, ``bracket_conflict``
        between siblings, IOC/FOK); an exit canceled or replaced meanwhile is skipped.
        """
        waiting = self._fill_bar_exits.pop(due.symbol, [])
        record = self._opened.get(due.symbol)
        orders = self.working.get(due.symbol)
        if record is None or not orders:
            return
        bar = record[0]
        candidates: list[tuple[WorkingOrder, float, str, int, float]] = []
        for working in waiting:
            if working.leaves <= 0 or working not in orders:
                continue
            was_triggered = working.triggered
            matched = match_bar(working, bar, self._touch)
            if working.triggered and not was_triggered:
                self._triggered(working)
            if matched is not None:
                candidates.append((working, *matched))
            elif working.order.time_in_force in _IMMEDIATE:
                self.cancel(working.order.order_id, f"{working.order.time_in_force}: not filled")
        for working, price, liquidity, ts_fill, _ in self._resolve_groups(candidates):
            if working.leaves > 0 and working in orders:
                self._fill(working, price, liquidity, ts_fill, bar.volume, None, bar.high, bar.low)
                if working.order.time_in_force in _IMMEDIATE:
                    self._finish_immediate(working, self._clock.timestamp_ns())
        remaining = self.working.get(due.symbol)
        if remaining is not None:
            remaining[:] = [w for w in remaining if w.leaves > 0]
            if not remaining:
                del self.working[due.symbol]
