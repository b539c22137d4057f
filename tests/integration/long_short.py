"""`LongShort`, a strategy plugin for perpetual tests: it goes long and short, so a run has
opens, closes and reversals, and ends flat at a time it is given.

In: bars of any symbol. Out: market orders of ``quantity`` — long after a rising bar, short
after a falling one, closing the position (the whole of it) before turning; from the bar
closing at ``flat_from_ns`` on it only closes. A config names it as
``tests.integration.long_short:LongShort`` (the repo root on the path).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Strategy


@dataclass(frozen=True)
class LongShortParams:
    """Parameters of `LongShort`.

    Attributes:
        quantity: Size of each new position, in base units.
        flat_from_ns: Close time (ns UTC) of the first bar on which it only closes; 0: never.
    """

    quantity: float = 0.1
    flat_from_ns: int = 0


class LongShort(Strategy):
    """Long after a rising bar, short after a falling one; close before turning."""

    Params = LongShortParams
    params: LongShortParams

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Open, close or hold on ``bar`` (see the module)."""
        if ctx.open_orders(bar.symbol):
            return
        held = ctx.position(bar.symbol)
        rising = bar.close > bar.open
        closing = 0 < self.params.flat_from_ns <= bar.ts_event
        if held and (closing or (held > 0) != rising):
            (ctx.sell if held > 0 else ctx.buy)(bar.symbol, abs(held))
        elif not held and not closing:
            (ctx.buy if rising else ctx.sell)(bar.symbol, self.params.quantity)
