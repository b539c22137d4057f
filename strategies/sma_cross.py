"""SMA crossover: long (or flat) when the fast SMA is above the slow one.

Goes all-in (``target_percent`` of equity) on the bar where the fast SMA crosses above the
slow SMA, and back to flat where it crosses below. With ``allow_short`` it goes short
instead of flat. Decisions use closed bars only; with the default fill model the orders
fill at the next bar's open.

Cross convention (strict, as backtesting.py's ``lib.crossover``: ``a[-2] < b[-2] and
a[-1] > b[-1]``): an upward cross on bar t needs ``fast[t-1] < slow[t-1]`` and
``fast[t] > slow[t]``; a downward one ``fast[t-1] > slow[t-1]`` and ``fast[t] < slow[t]``.
A bar where the two SMAs are equal is neither below nor above, so below → equal → above
is not a cross (no trade), and a tie on bar t is not a cross either. (backtrader's
``CrossOver`` differs in one case: it remembers the last non-zero difference, so it does
count below → equal → above.) Equal SMAs are rare on real prices (floats; none on the
shipped GOOG data, where every convention gives the same trades), common on flat
synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Indicator, Strategy


@dataclass(frozen=True)
class SmaCrossParams:
    """Parameters of `SmaCross`.

    Attributes:
        fast: Period of the fast SMA, in bars.
        slow: Period of the slow SMA, in bars; must exceed ``fast``.
        target_percent: Position size as a fraction of equity (1.0 = all-in).
        allow_short: Go short on a downward cross instead of flat.
    """

    fast: int = 10
    slow: int = 30
    target_percent: float = 1.0
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.fast < 1:
            raise ValueError(f"fast must be >= 1, got {self.fast}")
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        if not 0 < self.target_percent <= 1:
            raise ValueError(f"target_percent must be in (0, 1], got {self.target_percent}")


class SmaCross(Strategy):
    """Trend following on a fast/slow simple moving average crossover."""

    Params = SmaCrossParams
    params: SmaCrossParams

    def on_start(self, ctx: Context) -> None:
        """Declare the two SMAs on every symbol."""
        self.smas: dict[str, tuple[Indicator, Indicator]] = {
            symbol: (
                ctx.indicator("sma", symbol, timeperiod=self.params.fast),
                ctx.indicator("sma", symbol, timeperiod=self.params.slow),
            )
            for symbol in ctx.symbols
        }
        self.warmup = self.params.slow  # a cross needs the slow SMA on two bars

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Trade on the bar where the fast SMA crosses the slow one."""
        fast, slow = self.smas[bar.symbol]
        if len(slow) <= self.warmup:
            return
        now_fast, now_slow, was_fast, was_slow = fast[-1], slow[-1], fast[-2], slow[-2]
        # strict on both bars (see the module docstring): a tie is neither side
        if now_fast > now_slow and was_fast < was_slow:
            ctx.order_target_percent(bar.symbol, self.params.target_percent)
        elif now_fast < now_slow and was_fast > was_slow:
            if self.params.allow_short:
                ctx.order_target_percent(bar.symbol, -self.params.target_percent)
            else:
                ctx.close_position(bar.symbol)
