"""Momentum: time-series (each market against its own past) and cross-sectional (ranked).

Both rebalance on a schedule: on the first bar that closes in a new period of
``rebalance_every`` (a timeframe such as ``"1d"`` or ``"1w"``; periods are counted from the
Unix epoch in UTC, so ``"1d"`` rolls at midnight UTC and ``"1w"`` on Thursdays at 00:00,
the epoch's weekday). A gap in the data moves a rebalance to the first bar after it. The
momentum is TA-Lib's ``ROCP(lookback)``, ``close[t] / close[t - lookback] - 1``, read
through the Context API, so a decision on bar t sees bars up to t only.

`TimeSeriesMomentum` (Moskowitz, Ooi and Pedersen's "time series momentum", one market at a
time): at each rebalance, hold a long position when the past ``lookback``-bar return is
positive, flat (or short with ``allow_short``) when it is negative, sized so that the
position's volatility is ``target_vol`` a year: the engine's `VolatilityTarget` sizer with
the realized volatility of the last ``vol_period`` close-to-close changes
(`engine.risk.sizing`), ``quantity = equity * target_vol / sqrt(bars_per_year) / σ``,
capped at ``max_fraction`` of equity. A position of the right sign within ``tolerance``
of its target (relative) is left alone, so small volatility changes do not churn.

`CrossSectionalMomentum` (relative strength across symbols): at each rebalance, rank the
symbols by ``ROCP(lookback)``, highest first (ties: config order), and hold the top
``top_k`` at ``gross / top_k`` of equity each, nothing else. With ``absolute`` only those
with a positive return are held (the rest of the top k stays in cash: "dual momentum"). A
symbol that stays in the top k is resized only when its weight is off the target by more
than ``tolerance`` of it (relative), so a kept position is not trimmed every period for
the fee reserve (a position of 1.0 is sized a little under all-in). Buys spend at most
the free cash: a kept symbol above its weight is trimmed in the same step, so its cash
is not there yet, and the buy is made smaller rather than denied.
The rebalance runs on the bar of the last symbol in config order (bars of one close time
arrive in config order, so every symbol's bar of that time is known) in two steps: first
the symbols leaving the top k are sold; the buys follow on the next decision bar, when the
sales have filled and their cash is there (without sales, the buys go at once). Symbols
whose momentum is not known yet (warm-up) are not ranked.

Known failure modes: momentum crashes — sharp reversals after long trends (2009 for
equities; crypto after a blow-off top) hit the position at full size because the signal
reacts only after ``lookback`` bars; the schedule makes results depend on the rebalance
phase (a rebalance a few hours earlier or later gives other trades); with few symbols the
ranking is noisy and top-k concentrates risk; long-only cross-sectional momentum in a market
where everything falls still holds the k "best" losers unless ``absolute`` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.errors import ConfigError, DataError
from engine.feeds.timeframe import parse_timeframe
from engine.model import Bar
from engine.risk.sizing import VolatilityTarget
from engine.strategy import Context, Indicator, Strategy

__all__ = [
    "CrossSectionalMomentum",
    "CrossSectionalMomentumParams",
    "TimeSeriesMomentum",
    "TimeSeriesMomentumParams",
]


def _interval_ns(text: str) -> int:
    """Return ``rebalance_every`` in ns, or raise ValueError (a parameter error)."""
    try:
        return parse_timeframe(text)
    except DataError as exc:
        raise ValueError(f"rebalance_every: {exc}") from None


@dataclass(frozen=True)
class TimeSeriesMomentumParams:
    """Parameters of `TimeSeriesMomentum`.

    Attributes:
        lookback: Bars of past return that decide the sign.
        rebalance_every: Rebalance period (``"1d"``, ``"4h"``, ``"1w"``).
        vol_period: Close-to-close changes in the realized volatility.
        target_vol: Annualized volatility of the position (0.4 = 40% a year).
        bars_per_year: Bars in a year, to turn ``target_vol`` into a per-bar figure
            (8766 for hourly bars of a 24/7 market, 252 for daily stock bars).
        max_fraction: Cap on the position's value as a fraction of equity.
        tolerance: Leave a position within this relative distance of its target.
        allow_short: Go short on a negative return instead of flat.
    """

    lookback: int = 720
    rebalance_every: str = "1d"
    vol_period: int = 168
    target_vol: float = 0.4
    bars_per_year: float = 8766.0
    max_fraction: float = 1.0
    tolerance: float = 0.25
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {self.lookback}")
        _interval_ns(self.rebalance_every)
        if self.vol_period < 2:
            raise ValueError(f"vol_period must be >= 2, got {self.vol_period}")
        if not 0 < self.target_vol <= 5:
            raise ValueError(f"target_vol must be in (0, 5], got {self.target_vol}")
        if not self.bars_per_year > 0:
            raise ValueError(f"bars_per_year must be > 0, got {self.bars_per_year}")
        if not 0 < self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance}")


class TimeSeriesMomentum(Strategy):
    """Time-series momentum: long (or short) on the sign of the past return, vol-targeted."""

    Params = TimeSeriesMomentumParams
    params: TimeSeriesMomentumParams

    def on_start(self, ctx: Context) -> None:
        """Declare ROCP on every symbol and build the volatility-target sizer."""
        p = self.params
        self.momentum: dict[str, Indicator] = {
            s: ctx.indicator("rocp", s, timeperiod=p.lookback) for s in ctx.symbols
        }
        self.interval_ns = _interval_ns(p.rebalance_every)
        self.last_period: dict[str, int] = {}
        # risk_fraction / (atr_multiple * σ) with atr_multiple 1: the position's per-bar
        # standard deviation in money is equity * target_vol / sqrt(bars_per_year)
        self.sizer = VolatilityTarget(
            p.target_vol / math.sqrt(p.bars_per_year),
            atr_multiple=1.0,
            atr_period=p.vol_period,
            max_fraction=p.max_fraction,
            measure="realized",
        )

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """On the first bar of a period, hold the position the past return's sign asks."""
        symbol, p = bar.symbol, self.params
        period = ctx.time_ns // self.interval_ns
        if self.last_period.get(symbol) == period:
            return
        self.last_period[symbol] = period
        momentum = self.momentum[symbol]
        if not momentum.is_ready:
            return
        sign = 1.0 if momentum[-1] > 0 else -1.0 if momentum[-1] < 0 else 0.0
        if sign < 0 and not p.allow_short:
            sign = 0.0
        target = ctx.size(symbol, sign, sizer=self.sizer) if sign else 0.0
        position = ctx.position(symbol)
        if target == 0.0:
            if position != 0.0:
                ctx.close_position(symbol)
            return
        same_side = position * target > 0
        if same_side and abs(target - position) <= p.tolerance * abs(target):
            return
        ctx.order_target_quantity(symbol, target)


@dataclass(frozen=True)
class CrossSectionalMomentumParams:
    """Parameters of `CrossSectionalMomentum`.

    Attributes:
        lookback: Bars of past return the symbols are ranked by.
        top_k: How many of the best-ranked symbols to hold.
        rebalance_every: Rebalance period (``"1d"``, ``"1w"``).
        gross: Fraction of equity invested, split equally among the held symbols.
        absolute: Hold a top-k symbol only if its past return is positive.
        tolerance: Leave a kept symbol alone while its weight is within this fraction
            of the target weight.
    """

    lookback: int = 720
    top_k: int = 1
    rebalance_every: str = "1w"
    gross: float = 1.0
    absolute: bool = False
    tolerance: float = 0.1

    def __post_init__(self) -> None:
        if self.lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {self.lookback}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        _interval_ns(self.rebalance_every)
        if not 0 < self.gross <= 1:
            raise ValueError(f"gross must be in (0, 1], got {self.gross}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance}")


class CrossSectionalMomentum(Strategy):
    """Cross-sectional momentum: hold the top k symbols by past return, rebalanced."""

    Params = CrossSectionalMomentumParams
    params: CrossSectionalMomentumParams

    def on_start(self, ctx: Context) -> None:
        """Declare ROCP on every symbol; the last symbol's bars drive the schedule."""
        p = self.params
        self.momentum: dict[str, Indicator] = {
            s: ctx.indicator("rocp", s, timeperiod=p.lookback) for s in ctx.symbols
        }
        if p.top_k > len(ctx.symbols):  # each held at gross / top_k: the rest idle in cash
            raise ConfigError(
                f"strategy.params: top_k = {p.top_k} but the run has {len(ctx.symbols)} "
                f"symbols; use top_k <= {len(ctx.symbols)} or add [[data]] symbols"
            )
        self.interval_ns = _interval_ns(p.rebalance_every)
        self.last_period: int | None = None
        self.pending: list[str] | None = None  # the top k waiting for their buys

    def ranking(self, ctx: Context) -> list[str]:
        """Return the symbols with a known momentum, best first (ties: config order)."""
        ready = [s for s in ctx.symbols if self.momentum[s].is_ready]
        return sorted(ready, key=lambda s: -self.momentum[s][-1])

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Rebalance on the first bar of a period; send the buys once the sales filled."""
        if bar.symbol != ctx.symbols[-1]:
            return
        p = self.params
        period = ctx.time_ns // self.interval_ns
        if period != self.last_period:
            self.last_period = period
            ranked = self.ranking(ctx)
            if not ranked:
                return
            chosen = ranked[: p.top_k]
            if p.absolute:
                chosen = [s for s in chosen if self.momentum[s][-1] > 0]
            leaving = [s for s in ctx.symbols if s not in chosen and ctx.position(s) != 0]
            for symbol in leaving:
                ctx.close_position(symbol)
            self.pending = chosen
            if leaving:
                return  # buy on the next decision bar, with the sales' cash
        if self.pending is not None:
            self.buy_pending(ctx)

    def buy_pending(self, ctx: Context) -> None:
        """Bring each chosen symbol to its weight; buys spend no more than the free cash."""
        p = self.params
        equity, cash = ctx.equity, ctx.cash
        target = equity * p.gross / p.top_k
        for symbol in self.pending or []:
            value = self.value(ctx, symbol)
            if abs(value - target) <= p.tolerance * target:
                continue
            if value > target:
                ctx.order_target_value(symbol, target)
                continue
            # a kept symbol that rose above its weight holds cash the buys cannot use
            # until it is trimmed; buy what the cash allows rather than be denied
            spend = min(target - value, cash)
            if spend > 0:
                ctx.order_target_value(symbol, value + spend)
                cash -= spend
        self.pending = None

    def value(self, ctx: Context, symbol: str) -> float:
        """Return the position's value now in the account currency (0 when flat)."""
        position = ctx.position(symbol)
        if position == 0:
            return 0.0
        close = float(ctx.history(symbol, 1)["close"].iloc[-1])
        return position * close * ctx.fx_rate(symbol)
