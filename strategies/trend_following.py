"""Breakout trend following with an ATR stop and risk-based size: Donchian and moving average.

The idea: trends persist longer than chance, so buy strength (a new N-bar high, or a fast
average crossing above a slow one), cut the trade quickly when it fails (a protective stop a
few ATRs below), and let it run while it works (the stop trails the price up). Position size
is set by the stop, not by conviction: each trade risks ``risk_fraction`` of equity if the
stop is hit, so a volatile market gets a small position and a quiet one a large one
(volatility-scaled size, capped at ``max_fraction`` of equity).

Two strategies share that frame and differ in their entry and exit signals:

- `DonchianBreakout` (the Turtle rules' shape): enter when the close is above the highest
  high of the ``entry_period`` bars before it; exit when it is below the lowest low of the
  ``exit_period`` bars before it.
- `MaTrend`: enter when SMA(``fast``) crosses above SMA(``slow``), exit when it crosses below
  (strict crosses, as `strategies.sma_cross`).

Common rules, evaluated at each bar's close, long only (spot markets):

- flat and the entry signal → buy ``q = min(equity * risk_fraction / d, equity *
  max_fraction / close)`` units (rounded down to the lot), where ``d = stop_atr * ATR`` is
  the stop distance (ATR: TA-Lib's Wilder ATR over ``atr_period`` bars), with a sell stop
  for ``q`` at ``close - d`` sent in the same hook as the entry's child: the engine holds it
  until the entry fills and then works it (reduce-only), so a position never exists without
  its stop;
- long and ``trail`` → raise the stop to ``close - stop_atr * ATR`` when that is higher (a
  chandelier stop; it never moves down);
- long and the exit signal → close the position (which cancels the stop);
- the stop fills on its own when the price trades through it (at the stop price, or at the
  open if the bar gaps below it).

Known failure modes: whipsaws — in a range every breakout fails and each costs about
``risk_fraction`` plus fees, so long flat periods bleed; the stop fills at the open after a
gap, losing more than planned; entries come late (after the N-bar high, after the averages
cross) and trailing exits give back ``stop_atr`` ATRs of every trend. The stop's order id
lives in the strategy object: after a restart (paper/live) the working stop still protects
the position but is no longer trailed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.model import Bar
from engine.risk.sizing import FixedNotional
from engine.strategy import Context, Indicator, Strategy

__all__ = ["AtrStopParams", "AtrStopTrend", "DonchianBreakout", "MaTrend"]


@dataclass(frozen=True)
class AtrStopParams:
    """The stop and size parameters both trend strategies share.

    Attributes:
        atr_period: ATR period in bars.
        stop_atr: Stop distance in ATRs below the close.
        risk_fraction: Fraction of equity lost if the stop is hit at its price.
        max_fraction: Cap on the position's value as a fraction of equity.
        trail: Raise the stop as the price rises (never lower it).
    """

    atr_period: int = 14
    stop_atr: float = 3.0
    risk_fraction: float = 0.01
    max_fraction: float = 1.0
    trail: bool = True

    def __post_init__(self) -> None:
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be >= 1, got {self.atr_period}")
        if not self.stop_atr > 0:
            raise ValueError(f"stop_atr must be > 0, got {self.stop_atr}")
        if not 0 < self.risk_fraction <= 0.2:
            raise ValueError(f"risk_fraction must be in (0, 0.2], got {self.risk_fraction}")
        if not 0 < self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction}")


@dataclass
class _Stop:
    order_id: str
    price: float


class AtrStopTrend(Strategy):
    """Long-only trend frame: entry and exit signals come from the subclass."""

    params: AtrStopParams

    def on_start(self, ctx: Context) -> None:
        """Declare the ATR, then the subclass's indicators."""
        self.atr: dict[str, Indicator] = {
            s: ctx.indicator("atr", s, timeperiod=self.params.atr_period) for s in ctx.symbols
        }
        self.stops: dict[str, _Stop] = {}
        self.declare(ctx)

    def declare(self, ctx: Context) -> None:
        """Declare the signal's indicators (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must define declare()")

    def entry_signal(self, symbol: str, bar: Bar) -> bool | None:
        """Return True to enter, False not to, None while the signal warms up."""
        raise NotImplementedError(f"{type(self).__name__} must define entry_signal()")

    def exit_signal(self, symbol: str, bar: Bar) -> bool:
        """Return True to close the long position."""
        raise NotImplementedError(f"{type(self).__name__} must define exit_signal()")

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Manage the open position and its stop, or enter on the signal."""
        symbol, p = bar.symbol, self.params
        atr = self.atr[symbol]
        if ctx.position(symbol) > 0:
            stop = self.stops.get(symbol)
            if self.exit_signal(symbol, bar):
                ctx.close_position(symbol)
                self.stops.pop(symbol, None)
            elif stop is not None and p.trail and atr.is_ready:
                trailed = bar.close - p.stop_atr * atr[-1]
                if trailed > stop.price:
                    ctx.modify(stop.order_id, stop_price=trailed)
                    stop.price = trailed
            return
        if symbol in self.stops:
            # flat again: the stop filled, or the entry did not (its held stop is then
            # canceled by the engine); forget the stop
            del self.stops[symbol]
        if not atr.is_ready or not self.entry_signal(symbol, bar):
            return
        distance = p.stop_atr * atr[-1]
        stop_price = bar.close - distance
        if not (distance > 0 and stop_price > 0):
            return
        equity = ctx.equity
        notional = min(equity * p.risk_fraction * bar.close / distance, equity * p.max_fraction)
        quantity = ctx.size(symbol, 1.0, sizer=FixedNotional(notional))
        if not (math.isfinite(quantity) and quantity > 0):
            return
        entry = ctx.buy(symbol, quantity, tag="entry")
        stop_id = ctx.submit_order(
            symbol,
            "sell",
            quantity,
            stop_price=stop_price,
            reduce_only=True,
            parent_order_id=entry,
            tag="atr_stop",
        )
        self.stops[symbol] = _Stop(stop_id, stop_price)


@dataclass(frozen=True)
class DonchianBreakoutParams(AtrStopParams):
    """Parameters of `DonchianBreakout` (and the stop and size ones of `AtrStopParams`).

    Attributes:
        entry_period: Enter above the highest high of this many previous bars.
        exit_period: Exit below the lowest low of this many previous bars.
    """

    entry_period: int = 20
    exit_period: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.entry_period < 1:
            raise ValueError(f"entry_period must be >= 1, got {self.entry_period}")
        if self.exit_period < 1:
            raise ValueError(f"exit_period must be >= 1, got {self.exit_period}")


class DonchianBreakout(AtrStopTrend):
    """Trend following: buy N-bar highs, exit on M-bar lows, ATR stop, risk-based size."""

    Params = DonchianBreakoutParams
    params: DonchianBreakoutParams

    def declare(self, ctx: Context) -> None:
        """Declare the channel: MAX of highs and MIN of lows."""
        p = self.params
        self.upper: dict[str, Indicator] = {
            s: ctx.indicator("max", s, source="high", timeperiod=p.entry_period)
            for s in ctx.symbols
        }
        self.lower: dict[str, Indicator] = {
            s: ctx.indicator("min", s, source="low", timeperiod=p.exit_period) for s in ctx.symbols
        }

    def entry_signal(self, symbol: str, bar: Bar) -> bool | None:
        """Close above the channel top of the bars before this one (``MAX[-2]``)."""
        upper = self.upper[symbol]
        if len(upper) < 2 or math.isnan(upper[-2]):
            return None
        return bar.close > upper[-2]

    def exit_signal(self, symbol: str, bar: Bar) -> bool:
        """Close below the channel bottom of the bars before this one (``MIN[-2]``)."""
        lower = self.lower[symbol]
        return len(lower) >= 2 and bar.close < lower[-2]


@dataclass(frozen=True)
class MaTrendParams(AtrStopParams):
    """Parameters of `MaTrend` (and the stop and size ones of `AtrStopParams`).

    Attributes:
        fast: Period of the fast SMA, in bars.
        slow: Period of the slow SMA, in bars; must exceed ``fast``.
    """

    fast: int = 20
    slow: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fast < 1:
            raise ValueError(f"fast must be >= 1, got {self.fast}")
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")


class MaTrend(AtrStopTrend):
    """Trend following: buy a fast/slow SMA cross up, exit on the cross down, ATR stop."""

    Params = MaTrendParams
    params: MaTrendParams

    def declare(self, ctx: Context) -> None:
        """Declare the two SMAs."""
        p = self.params
        self.smas: dict[str, tuple[Indicator, Indicator]] = {
            s: (
                ctx.indicator("sma", s, timeperiod=p.fast),
                ctx.indicator("sma", s, timeperiod=p.slow),
            )
            for s in ctx.symbols
        }

    def _cross(self, symbol: str) -> int:
        """Return 1 on a strict cross up this bar, -1 on one down, 0 otherwise (or warm-up)."""
        fast, slow = self.smas[symbol]
        if len(slow) < 2 or math.isnan(slow[-2]):
            return 0
        if fast[-1] > slow[-1] and fast[-2] < slow[-2]:
            return 1
        if fast[-1] < slow[-1] and fast[-2] > slow[-2]:
            return -1
        return 0

    def entry_signal(self, symbol: str, bar: Bar) -> bool | None:
        """The fast SMA crossed above the slow one on this bar."""
        return self._cross(symbol) == 1

    def exit_signal(self, symbol: str, bar: Bar) -> bool:
        """The fast SMA crossed below the slow one on this bar."""
        return self._cross(symbol) == -1
