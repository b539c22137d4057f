"""Bollinger-band reversion: buy a close below the lower band, sell it back at the middle.

The idea: over a short window, a close far below its moving average is more often noise than
news, so price tends to come back to the average. The bands are TA-Lib's ``BBANDS`` (simple
moving average ± ``nbdev`` population standard deviations of the last ``period`` closes),
read through the Context API, so a decision on bar t sees bars up to t only.

Rules, evaluated at each bar's close (orders fill at the next bar's open by default):

- flat and ``close < lower band`` → go long ``target_percent`` of equity;
- flat, ``allow_short`` and ``close > upper band`` → go short ``target_percent``;
- long and ``close >= middle band`` → close; short and ``close <= middle band`` → close;
- long/short for ``max_bars`` bars without reaching the middle → close (time stop; 0 = off).

A touch is not a cross: a close exactly on a band does not enter.

Known failure modes: in a trend the price "walks the band" (closes below the lower band bar
after bar) and the strategy buys into a falling market with no stop but the time stop; the
middle band falls with the price, so exits come at a loss; a volatility burst widens the
bands only after the move. Fees matter: the expected gain per trade is a fraction of a band
width. It is a range-market strategy; see `strategies.zscore_reversion` for one with a
regime filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Indicator, Strategy


@dataclass(frozen=True)
class BollingerReversionParams:
    """Parameters of `BollingerReversion`.

    Attributes:
        period: Bars in the moving average and the standard deviation.
        nbdev: Band width in standard deviations (both bands).
        target_percent: Position size as a fraction of equity (1.0 = all-in).
        allow_short: Also sell closes above the upper band.
        max_bars: Close a position held this many bars without reverting (0: never).
    """

    period: int = 20
    nbdev: float = 2.0
    target_percent: float = 1.0
    allow_short: bool = False
    max_bars: int = 0

    def __post_init__(self) -> None:
        if self.period < 2:
            raise ValueError(f"period must be >= 2, got {self.period}")
        if not self.nbdev > 0:
            raise ValueError(f"nbdev must be > 0, got {self.nbdev}")
        if not 0 < self.target_percent <= 1:
            raise ValueError(f"target_percent must be in (0, 1], got {self.target_percent}")
        if self.max_bars < 0:
            raise ValueError(f"max_bars must be >= 0 (0: no time stop), got {self.max_bars}")


class BollingerReversion(Strategy):
    """Mean reversion: buy below the lower Bollinger band, exit at the middle band."""

    Params = BollingerReversionParams
    params: BollingerReversionParams

    def on_start(self, ctx: Context) -> None:
        """Declare BBANDS on every symbol."""
        p = self.params
        self.bands: dict[str, Indicator] = {
            symbol: ctx.indicator(
                "bbands", symbol, timeperiod=p.period, nbdevup=p.nbdev, nbdevdn=p.nbdev
            )
            for symbol in ctx.symbols
        }
        self.held_bars: dict[str, int] = dict.fromkeys(ctx.symbols, 0)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Enter outside the bands, exit at the middle band or on the time stop."""
        symbol, close, p = bar.symbol, bar.close, self.params
        bands = self.bands[symbol]
        if not bands.is_ready:
            return
        upper, middle = bands[-1], bands.output("middleband")[-1]
        lower = bands.output("lowerband")[-1]
        position = ctx.position(symbol)
        if position == 0:
            self.held_bars[symbol] = 0
            if close < lower:
                ctx.order_target_percent(symbol, p.target_percent)
            elif p.allow_short and close > upper:
                ctx.order_target_percent(symbol, -p.target_percent)
            return
        self.held_bars[symbol] += 1
        reverted = close >= middle if position > 0 else close <= middle
        timed_out = p.max_bars > 0 and self.held_bars[symbol] >= p.max_bars
        if reverted or timed_out:
            ctx.close_position(symbol)
