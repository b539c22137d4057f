"""Portfolio guards: they watch equity and closed trades and change the trading state.

In: `Bar` (after the cache marked its close) and `OrderFilled`. Out: calls to
`RiskEngine.set_trading_state`, which publishes `TradingStateChanged`. Wired only when a
guard is configured, so a run without guards does no per-bar work here.

- Max drawdown: equity below its running peak by ``max_drawdown_pct`` % or more.
- Daily loss: equity below the equity at the start of the UTC day (the last equity seen
  before the day began) by ``daily_loss_pct`` % or more.
- Consecutive losses: ``max_consecutive_losses`` losing round trips (net of fees) in a row.

A tripped guard moves the state to ``action`` (never to a less severe state than the
current one): REDUCING by default (``[risk] guard_action``), so exits still pass and a
losing position can be closed; HALTED on request. With ``flatten`` risk halts, cancels
every working order and closes every position with orders only it may send
(`RiskEngine.flatten`). All three guards trip through `PortfolioGuard._trip`, so they
share the action. With ``cooldown_ns`` the guard re-activates trading on the first bar at
or after trip time + cooldown, and starts afresh: the peak and the day's start become the
equity then and the loss streak is reset. A state set by the user is never lifted by a
cooldown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from engine.clock import Clock, CloseTime
from engine.model import Bar, OrderFilled, OrderSide, TradingState, TradingStateChanged, parse_enum

if TYPE_CHECKING:  # numpy is imported where it is used: the run config imports this module
    import numpy as np
    import numpy.typing as npt

__all__ = ["PortfolioGuard", "RoundTrips", "TradingStateSink", "guard_metrics"]

DAY_NS = 86_400 * 10**9


class EquitySource(Protocol):
    """Where the guard reads equity from (the portfolio)."""

    @property
    def cash(self) -> float:
        """Return cash."""
        ...

    def equity(self) -> float:
        """Return cash plus the marked value of all positions."""
        ...


class HeldQuantity(Protocol):
    """One open position."""

    @property
    def quantity(self) -> float:
        """Return the signed quantity."""
        ...


class TradingStateSink(Protocol):
    """The risk engine as a guard sees it."""

    @property
    def trading_state(self) -> TradingState:
        """Return the current state."""
        ...

    @property
    def trading_state_reason(self) -> str:
        """Return the reason of the last change."""
        ...

    def set_trading_state(self, state: TradingState, reason: str, ts_ns: int | None = None) -> None:
        """Change the state (publishes `TradingStateChanged` if it changed)."""
        ...

    def flatten(self, reason: str, ts_ns: int | None = None) -> None:
        """Halt, cancel every working order and close every position."""
        ...

    def cancel_adding(self, reason: str) -> None:
        """Cancel every working order that would add exposure (keep the exits)."""
        ...


class RoundTrips:
    """Net PnL of closed round trips (position-based: flat → open → flat), per symbol.

    A fill that crosses zero closes one trip and opens the next; its cash and fee are split
    in proportion to quantity.
    """

    def __init__(self) -> None:
        self.closed: list[float] = []  # net PnL of each closed trip, in order
        self._position: dict[str, float] = {}
        self._cash: dict[str, float] = {}

    def on_order_filled(self, fill: OrderFilled) -> float | None:
        """Account for ``fill``; return the net PnL of the trip it closed, if any."""
        symbol = fill.symbol
        sign = 1.0 if fill.side is OrderSide.BUY else -1.0
        position = self._position.get(symbol, 0.0)
        cash = self._cash.get(symbol, 0.0)
        flow = -sign * fill.quantity * fill.price - fill.fee
        after = position + sign * fill.quantity
        tolerance = 1e-12 * max(abs(position), fill.quantity)
        closed: float | None = None
        if position != 0.0 and (abs(after) <= tolerance or after * position < 0):
            share = min(abs(position) / fill.quantity, 1.0)
            closed = cash + flow * share
            self.closed.append(closed)
            cash = flow * (1.0 - share)
            after = 0.0 if abs(after) <= tolerance else after
        else:
            cash += flow
        self._position[symbol] = after
        self._cash[symbol] = cash if after != 0.0 else 0.0
        return closed


class PortfolioGuard:
    """Trips the trading state on drawdown, daily loss or a losing streak."""

    def __init__(
        self,
        risk: TradingStateSink,
        portfolio: EquitySource,
        clock: Clock,
        *,
        max_drawdown_pct: float | None = None,
        daily_loss_pct: float | None = None,
        max_consecutive_losses: int | None = None,
        action: TradingState | str = TradingState.REDUCING,
        flatten: bool = False,
        cooldown_ns: int | None = None,
        positions: Mapping[str, HeldQuantity] | None = None,
        prices: Mapping[str, float] | None = None,
        close_time: CloseTime | None = None,
    ) -> None:
        self._risk = risk
        # equity is judged once every symbol's bar of a close time is in (`CloseTime`)
        self._close_time = CloseTime() if close_time is None else close_time
        self._portfolio = portfolio
        self._clock = clock
        self.max_drawdown_pct = max_drawdown_pct
        self.daily_loss_pct = daily_loss_pct
        self.max_consecutive_losses = max_consecutive_losses
        state = parse_enum(TradingState, action)
        if state is None:  # a str must not reach the identity checks (`is not self.action`)
            allowed = ", ".join(member.value for member in TradingState)
            raise ValueError(f"guard action {action!r} is not one of {allowed}")
        self.action = TradingState.HALTED if flatten else state
        self.flatten = flatten
        self.cooldown_ns = cooldown_ns
        equity = portfolio.equity()
        self.peak = equity
        self._day = clock.timestamp_ns() // DAY_NS
        self._day_start = equity
        self._last_equity = equity
        self.losing_streak = 0
        self.round_trips = RoundTrips()
        self._resume_at: int | None = None
        self._tripped_reason = ""
        # Optional live views of the open positions and last prices: equity is then summed
        # here without a call into the portfolio (it runs on every bar).
        self._positions = positions
        self._prices = prices
        self._floor = -math.inf
        self._set_floor()

    @property
    def watches_bars(self) -> bool:
        """Return whether equity guards are on (the guard then needs every bar)."""
        return (
            self.max_drawdown_pct is not None
            or self.daily_loss_pct is not None
            or self.cooldown_ns is not None
        )

    def on_bar(self, bar: Bar) -> None:
        """Mark equity after ``bar``'s close and trip or lift the trading state.

        Only on the last bar of a close time (`engine.clock.CloseTime`): before it, other
        symbols' fills and closes of the same time are not in, and the equity summed would
        be one that never existed (a peak made of one leg of a hedge that rose).
        """
        if not self._close_time.complete:
            return
        now = bar.ts_event
        equity = self._equity()
        if equity > self.peak:
            self.peak = equity
            self._set_floor()
        day = now // DAY_NS
        if day != self._day:
            self._day = day
            self._day_start = self._last_equity
            self._set_floor()
        self._last_equity = equity
        if equity > self._floor and self._resume_at is None:
            return  # the common case: no limit near, no cooldown running
        if self._resume_at is not None and now >= self._resume_at:
            self._resume(equity, now)
        limit = self.max_drawdown_pct
        if limit is not None and self.peak > 0:
            drawdown = 100.0 * (self.peak - equity) / self.peak
            if drawdown >= limit:
                self._trip(
                    f"max_drawdown: equity {equity:.2f} is {drawdown:.2f}% below its peak "
                    f"{self.peak:.2f} (limit {limit:g}%)",
                    now,
                )
        limit = self.daily_loss_pct
        if limit is not None and self._day_start > 0:
            loss = 100.0 * (self._day_start - equity) / self._day_start
            if loss >= limit:
                self._trip(
                    f"daily_loss: equity {equity:.2f} is {loss:.2f}% below the day's start "
                    f"{self._day_start:.2f} (limit {limit:g}%)",
                    now,
                )

    def _equity(self) -> float:
        positions, prices = self._positions, self._prices
        if positions is None or prices is None:
            return self._portfolio.equity()
        value = self._portfolio.cash
        for symbol, position in positions.items():
            value += position.quantity * prices[symbol]
        return value

    def _set_floor(self) -> None:
        """Set the equity above which no equity guard can trip (a hair high: exact checks
        below it decide)."""
        floor = -math.inf
        if self.max_drawdown_pct is not None:
            floor = self.peak * (1.0 - self.max_drawdown_pct / 100.0)
        if self.daily_loss_pct is not None:
            floor = max(floor, self._day_start * (1.0 - self.daily_loss_pct / 100.0))
        self._floor = floor + abs(floor) * 1e-9

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Count losing round trips in a row; trip at ``max_consecutive_losses``."""
        pnl = self.round_trips.on_order_filled(fill)
        if pnl is None:
            return
        self.losing_streak = self.losing_streak + 1 if pnl < 0 else 0
        limit = self.max_consecutive_losses
        if limit is not None and self.losing_streak >= limit:
            self._trip(
                f"consecutive_losses: {self.losing_streak} losing round trips in a row, the "
                f"last {pnl:.2f} (limit {limit})",
                fill.ts_event,
            )

    def _trip(self, reason: str, now: int) -> None:
        if self._risk.trading_state.severity >= self.action.severity:
            return
        if self.flatten:
            self._risk.flatten(reason, now)
        else:
            self._risk.set_trading_state(self.action, reason, now)
            # The state stops new orders only: an entry already working would still fill.
            self._risk.cancel_adding(reason)
        self._tripped_reason = reason
        if self.cooldown_ns is not None:
            self._resume_at = now + self.cooldown_ns

    def _resume(self, equity: float, now: int) -> None:
        self._resume_at = None
        risk = self._risk
        if (
            risk.trading_state is not self.action
            or risk.trading_state_reason != self._tripped_reason
        ):
            return  # changed since by someone else (the user): not ours to lift
        self.peak = equity
        self._day_start = equity
        self.losing_streak = 0
        self._set_floor()
        cooldown_s = (self.cooldown_ns or 0) / 1e9
        self._risk.set_trading_state(
            TradingState.ACTIVE, f"cooldown of {cooldown_s:g} s ended", now
        )


def guard_metrics(
    changes: Sequence[TradingStateChanged],
    ts: npt.NDArray[np.int64],
    gross_exposure: npt.NDArray[np.float64],
) -> dict[str, object]:
    """Return what the guards did, for metrics.json and the CLI summary.

    Args:
        changes: The run's trading-state changes, in order (`Recorder.trading_states`).
        ts: The equity curve's times (bar closes, ns UTC), ascending.
        gross_exposure: Σ |position value| at each of those times, account currency.

    Returns:
        ``guard_trips``: changes to a more severe state; ``guard_final_state``: the state
        at the end; ``guard_exposure_at_trip``: gross exposure at the last curve point at
        or before the clock's time of the first trip (None without a trip): the point
        that shows what tripped it; ``guard_exposure_left_open``: gross
        exposure at the end of the run if trading was not active then (what a halt left
        riding), else 0.0.
    """
    import numpy as np  # here, not at the top: `engine.config` imports this module

    trips = [c for c in changes if c.state.severity > c.previous.severity]
    final = changes[-1].state if changes else TradingState.ACTIVE
    at_trip: float | None = None
    if trips and len(ts):
        # At the clock's time of the trip (``ts_init``), not its ``ts_event``: a fill at a
        # bar's open is stamped with the previous close, whose curve point is from before
        # the fill (a trip by the fill that closed the position showed its exposure, 2,980.35
        # instead of 0); the clock is then at the close that first shows the fill.
        first = trips[0]
        index = int(np.searchsorted(ts, max(first.ts_event, first.ts_init), side="right")) - 1
        at_trip = float(gross_exposure[max(index, 0)])
    left = float(gross_exposure[-1]) if final is not TradingState.ACTIVE and len(ts) else 0.0
    return {
        "guard_trips": len(trips),
        "guard_final_state": str(final),
        "guard_exposure_at_trip": at_trip,
        "guard_exposure_left_open": left,
    }
