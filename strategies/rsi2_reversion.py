"""RSI(2) reversion with a trend filter: buy short, sharp dips in an uptrend.

The idea (popularised by Larry Connors): a 2-bar RSI reacts to one or two down closes, and
in an established uptrend such dips tend to be bought back within days. The long-term
moving average keeps the strategy out of downtrends, where dips keep going. RSI is TA-Lib's
(Wilder smoothing), the trend is a simple moving average of closes; both are read through
the Context API, so a decision on bar t sees bars up to t only.

Rules, evaluated at each bar's close (orders fill at the next bar's open by default):

- flat, ``close > SMA(trend_period)`` and ``RSI(rsi_period) < entry`` → long
  ``target_percent`` of equity;
- flat, ``allow_short``, ``close < SMA(trend_period)`` and ``RSI > 100 - entry`` → short;
- long and ``RSI > exit`` → close; short and ``RSI < 100 - exit`` → close.

The exit does not look at the trend: a long entered above the average is held until the
bounce even if the close falls below the average meanwhile.

Known failure modes: there is no stop, so the dip that turns into a crash (the trend filter
reacts only after ``trend_period`` bars) is held all the way down; many small wins and a
few large losses (negative skew). The rule was designed on daily stock indices; on hourly
crypto bars, the defaults here (2, 200 bars) mean "a dip of an hour or two above the
8-day average", a different claim: the shipped config reports what it gives, untuned.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Indicator, Strategy


@dataclass(frozen=True)
class Rsi2ReversionParams:
    """Parameters of `Rsi2Reversion`.

    Attributes:
        rsi_period: RSI period in bars.
        entry: Buy when the RSI is below this (short above ``100 - entry``).
        exit: Close a long when the RSI is above this (a short below ``100 - exit``).
        trend_period: Period of the trend filter's simple moving average.
        target_percent: Position size as a fraction of equity (1.0 = all-in).
        allow_short: Also sell spikes below the trend average.
    """

    rsi_period: int = 2
    entry: float = 10.0
    exit: float = 70.0
    trend_period: int = 200
    target_percent: float = 1.0
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.rsi_period < 2:
            raise ValueError(f"rsi_period must be >= 2, got {self.rsi_period}")
        if not 0 < self.entry < self.exit < 100:
            raise ValueError(
                f"need 0 < entry < exit < 100, got entry={self.entry}, exit={self.exit}"
            )
        if self.trend_period < 2:
            raise ValueError(f"trend_period must be >= 2, got {self.trend_period}")
        if not 0 < self.target_percent <= 1:
            raise ValueError(f"target_percent must be in (0, 1], got {self.target_percent}")


class Rsi2Reversion(Strategy):
    """Mean reversion: buy RSI(2) dips while the close is above its long moving average."""

    Params = Rsi2ReversionParams
    params: Rsi2ReversionParams

    def on_start(self, ctx: Context) -> None:
        """Declare the RSI and the trend SMA on every symbol."""
        p = self.params
        self.rsi: dict[str, Indicator] = {
            s: ctx.indicator("rsi", s, timeperiod=p.rsi_period) for s in ctx.symbols
        }
        self.trend: dict[str, Indicator] = {
            s: ctx.indicator("sma", s, timeperiod=p.trend_period) for s in ctx.symbols
        }

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Enter on a dip with the trend, exit on the bounce."""
        symbol, p = bar.symbol, self.params
        rsi, trend = self.rsi[symbol], self.trend[symbol]
        if not (rsi.is_ready and trend.is_ready):
            return
        position = ctx.position(symbol)
        if position > 0:
            if rsi[-1] > p.exit:
                ctx.close_position(symbol)
        elif position < 0:
            if rsi[-1] < 100 - p.exit:
                ctx.close_position(symbol)
        elif bar.close > trend[-1] and rsi[-1] < p.entry:
            ctx.order_target_percent(symbol, p.target_percent)
        elif p.allow_short and bar.close < trend[-1] and rsi[-1] > 100 - p.entry:
            ctx.order_target_percent(symbol, -p.target_percent)
