"""What a live node commits after each bar: its equity, the bar, its strategy's state and timers.

In: a restored `TradingNode` (``on_start`` ran), the account's `LiveLedger` and the node's
session number. Out, per bar, one transaction (`LiveLedger.checkpoint`) holding

- the account's **equity row** (``live_equity``): cash, equity and gross exposure after the
  bar's ``on_bar`` and the fills it caused, stamped with the bar's close. The curve is
  appended across restarts: a row is never written at or before the last row of an
  earlier session, and a second bar closing at the same time in this session (another
  symbol's) overwrites this session's row at that time, so every time has one row, the
  equity after all of its bars. A row whose equity is not finite is skipped, not written
  (`skipped` counts them): a position restored without warm-up has no price (NaN) until its
  symbol's first bar.
- the **bar** itself (``live_bars``): every closed bar the node handled, exactly as the
  strategy saw it — the live report's price chart, the marks of open positions and its
  buy-and-hold benchmark (`engine.runtime.live.report`). A bar at or before its symbol's
  last stored close (a feed repeating itself, a restart meeting the last bar again) is not
  written twice. One insert of one row in the transaction the equity row opens anyway.
- the strategy's **state** if ``on_save``'s JSON changed (`engine.runtime.live.state`);
- its **timers** if one's phase, name or interval changed (`engine.runtime.live.timers`).

Orders are not part of it: each order's row is committed before the order is sent
(`engine.runtime.live.orders`). A SIGKILL therefore loses at most the bar in hand's row.
`start` loads the state, re-aligns the timers and commits the timers ``on_start`` set (so a
node killed before its first bar keeps their phase); `after_bar` runs after each bar and
`stop` on a clean stop (the fills the venue held for the next bar published, then state
and timers: the last bar's equity row is already written). After the kill switch
(``kestrel live-kill``: `engine.runtime.live.kill`) `killed` brings its cancels and
closing sales into the portfolio, and `stop` writes one more equity row, stamped with the
node's clock at the kill (a row already at that time, the last bar's in lockstep, is
overwritten): cash, equity and exposure after the sale, so the curve's last row, the
live report and ``runs show`` end where the fills do. Before, the last row kept the sold
position at the last close (the audit's 9,990.59 with exposure 746.18 for an account
flat at 9,989.84).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.model import Bar, Instrument, QuoteTick, TradeTick
from engine.runtime.live.ledger import EquityRow, LiveLedger, SavedState
from engine.runtime.live.state import StateKeeper
from engine.runtime.live.timers import TimerKeeper
from engine.runtime.live.updates import Update
from engine.runtime.node import TradingNode

__all__ = ["Checkpoint"]


class Checkpoint:
    """Commit a live node's equity, state and timers after each bar (see the module)."""

    def __init__(self, node: TradingNode, ledger: LiveLedger, session: int) -> None:
        """Checkpoint ``node`` in ``ledger``'s account as session ``session``."""
        self.node = node
        self.portfolio = node.kernel.portfolio
        self.ledger = ledger
        self.session = session
        self.strategy_id = node.config.strategy.id
        self.state = StateKeeper(node, ledger)
        self.timers = TimerKeeper(node, ledger)
        self.rows = 0  # equity rows written by this process (overwrites not counted)
        self.skipped = 0  # bars whose equity was not finite: no row
        self._floor = ledger.last_equity_ts()  # earlier sessions' last row: never rewritten
        self._own: int | None = None  # the time of this session's last row
        self._last_bar = ledger.last_bar_ts()  # symbol -> its last stored bar's close
        self._killed_ns: int | None = None  # the node's clock when the kill switch ran

    def start(self) -> tuple[SavedState | None, bool, list[str]]:
        """Load the state, re-align the timers and commit them; call after ``on_start``.

        Returns:
            The saved state (None if none), whether ``on_load`` received it, and the names
            of the timers put back on their stored schedule.

        Raises:
            StrategyError: ``on_load`` raised.
        """
        saved, loaded = self.state.load()
        realigned = self.timers.restore()
        timers = self.timers.pending()
        if timers is not None:  # the state waits for the first bar, as it always did
            self.ledger.checkpoint(self.strategy_id, timers=timers)
            self.timers.written(timers)
        return saved, loaded, realigned

    def after_bar(self, bar: Bar | TradeTick | QuoteTick) -> None:
        """Commit the account and ``bar`` after the node handled it (its ``on_bar`` ran).

        A tick (a feed of trades or quotes) commits the account at its time; only bars are
        stored.

        Raises:
            StrategyError: ``on_save`` raised or returned a state JSON cannot hold.
        """
        last = self._last_bar.get(bar.symbol)
        new = isinstance(bar, Bar) and (last is None or bar.ts_event > last)
        self._commit(bar.ts_event, bar if new and isinstance(bar, Bar) else None)
        if new:
            self._last_bar[bar.symbol] = bar.ts_event

    def killed(self, updates: list[Update], instruments: Mapping[str, Instrument]) -> None:
        """Bring the kill switch's ``updates`` into the node; `stop` then writes its row.

        The cancels of the strategy's orders (and a fill racing one) are published to
        the kernel, as any update between bars; the closing sales are orders the kernel
        never held, applied to the portfolio as `engine.runtime.live.restore.absorb`
        applies such fills. Call it once `flatten_and_halt` returned.
        """
        from engine.runtime.live.restore import absorb
        from engine.runtime.live.venue import LiveVenue

        venue = self.node.kernel.venue
        if isinstance(venue, LiveVenue):
            self.node.deliver(lambda: venue.report(updates))
        absorb(self.node, updates, instruments)
        self._killed_ns = self.node.clock.timestamp_ns()

    def stop(self) -> None:
        """Commit the state and timers on a clean stop (fills since the last bar).

        What the venue held for a next bar that will not come — a trailing stop's fill
        after a move sent it as a market order (`LiveVenue._follow`) — is published first:
        the exchange filled it, so the portfolio and the strategy hear it before the end.
        After `killed`, the account's equity row at the kill is written with them.
        """
        from engine.runtime.live.venue import LiveVenue

        venue = self.node.kernel.venue
        if isinstance(venue, LiveVenue):
            self.node.deliver(lambda: venue.report([]))
        self._commit(self._killed_ns)

    @property
    def state_saves(self) -> int:
        """Return how many state rows this process wrote."""
        return self.state.saves

    def _commit(self, ts_event: int | None, bar: Bar | None = None) -> None:
        state = self.state.pending(ts_event)
        timers = self.timers.pending()
        row = self._equity(ts_event) if ts_event is not None else None
        if state is None and timers is None and row is None and bar is None:
            return
        replace = row is not None and row.ts_ns == self._own
        self.ledger.checkpoint(
            self.strategy_id, state=state, timers=timers, equity=row, replace_equity=replace,
            bars=[bar] if bar is not None else [], session=self.session,
        )  # fmt: skip
        if state is not None:
            self.state.written(state)
        if timers is not None:
            self.timers.written(timers)
        if row is not None and not replace:
            self.rows += 1
            self._own = row.ts_ns

    def _equity(self, ts_event: int) -> EquityRow | None:
        """Return the row to write after the bar closing at ``ts_event``, or None."""
        if self._floor is not None and ts_event <= self._floor:
            return None  # an earlier session's time: its row stays as written
        if self._own is not None and ts_event < self._own:
            return None  # never out of order
        portfolio = self.portfolio
        equity = portfolio.equity()
        if not math.isfinite(equity):
            self.skipped += 1
            return None
        return EquityRow(ts_event, self.session, portfolio.cash, equity,
                         portfolio.gross_exposure())  # fmt: skip
