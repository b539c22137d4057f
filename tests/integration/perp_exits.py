"""`GuardedLongShort`, a strategy plugin for perpetual crash tests: every position it holds is
under a stop-loss and a take-profit in one OCO group, and every second one under a trailing
stop as well, so a node killed at any moment has exits to restore.

In: bars of one symbol. Out: market entries of ``quantity`` and reduce-only exits.

* Flat without working orders: long after a rising bar, short after a falling one.
* Flat with working orders (exits a fill left behind: the trailing stop after the pair
  filled, or the pair after the trailing stop did): cancel them, enter on a later bar.
* In a position without working orders: a stop ``stop_pct`` percent against the close and a
  limit ``target_pct`` percent in its favour, both reduce-only, one ``oco_group``; on every
  second position also a trailing stop ``trail_pct`` percent from the best price since.
* In a position with working orders: wait for one of them.

Two exits can then close one position: the second to trigger finds it gone, and being
reduce-only it is refused at the exchange (never a reverse position). Nothing is kept in
the object between bars that the store does not give back: a restarted node decides from
its restored position and adopted orders, and the position count comes from the order
numbers it continues. A config names it as ``tests.integration.perp_exits:GuardedLongShort``
(the repo root on the path).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Strategy


@dataclass(frozen=True)
class GuardedLongShortParams:
    """Parameters of `GuardedLongShort`.

    Attributes:
        quantity: Size of each new position, in base units.
        stop_pct: Stop-loss distance from the close, in percent (0.8 = 0.8 %).
        target_pct: Take-profit distance from the close, in percent.
        trail_pct: Trailing stop distance from the best price since placement, in percent.
    """

    quantity: float = 0.1
    stop_pct: float = 0.8
    target_pct: float = 0.8
    trail_pct: float = 0.5


class GuardedLongShort(Strategy):
    """Long or short after each bar's direction; every position under exits (module)."""

    Params = GuardedLongShortParams
    params: GuardedLongShortParams

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Enter, protect or clean up on ``bar`` (see the module)."""
        symbol, close = bar.symbol, bar.close
        working = ctx.open_orders(symbol)
        held = ctx.position(symbol)
        if not held:
            for order in working:  # exits of a position another exit closed
                ctx.cancel(order.order_id)
            if not working:
                (ctx.buy if close > bar.open else ctx.sell)(symbol, self.params.quantity)
            return
        if working:
            return
        side = "sell" if held > 0 else "buy"
        below = round(close * (1 - self.params.stop_pct / 100), 2)
        above = round(close * (1 + self.params.target_pct / 100), 2)
        stop, target = (below, above) if held > 0 else (above, below)
        group = f"exit-{bar.ts_event}"
        ctx.submit_order(symbol, side, abs(held), stop_price=stop, reduce_only=True,
                         oco_group=group, tag="stop")  # fmt: skip
        ctx.submit_order(symbol, side, abs(held), limit_price=target, reduce_only=True,
                         oco_group=group, tag="target")  # fmt: skip
        if (bar.ts_event // 3_600_000_000_000) % 2 == 0:  # every second hour: trailed too
            ctx.trailing_stop(symbol, side, abs(held), percent=self.params.trail_pct, tag="trail")
