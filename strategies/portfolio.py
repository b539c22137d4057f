"""Portfolio rebalancing: hold every symbol at weights from an allocation method.

The idea: no forecast of direction, only of risk. Weights come from a trailing window of
returns through `engine.strategy.allocation` (``method``: equal weight, inverse
volatility, risk parity, minimum variance or maximum Sharpe, the last three on a
Ledoit–Wolf covariance), bounded by ``min_weight``/``max_weight``, and the account is
brought back to them on a schedule and when it drifts away.

Data and timing (no look-ahead): decisions are taken on the bars of the **last symbol in
config order**, the portfolio's clock (bars of one close time arrive in config order, so
every symbol's bar of that time is known; put a market that trades around the clock
last). At a decision, the returns are those of the last ``window + 1`` close times of the
clock: each symbol's close as of each time (its last bar closed at or before it, from
`Context.history`), so a market closed at night or on weekends shows zero returns there,
as it truly does not move. Until every symbol has a close at the window's first time the
strategy waits (warm-up).

Rules:

- Schedule: on the first clock bar that closes in a new period of ``rebalance_every``
  (periods counted from the Unix epoch in UTC, as in `strategies.momentum`), new target
  weights are estimated and the account rebalanced to them.
- Drift: with ``drift_band > 0``, on every other clock bar, when some symbol's weight
  (value / equity) is more than ``drift_band`` away from its target, the account is
  rebalanced to the targets of the last estimate (weights are re-estimated only on the
  schedule).
- Target value of symbol i: ``gross × equity × w_i``. Trades smaller than ``min_trade``
  of equity are skipped (turnover is not spent on dust).
- Sells before buys: symbols above their target are sold down first; the buys follow on
  the next clock bar, once the sales have filled and their cash is there (with no sale,
  at once). A buy spends at most the free cash (made smaller rather than denied).
- A symbol without a fresh bar — its last bar closed before the decision time (an FX
  market at the weekend, a gap in the data) — is **not traded** at that decision: an
  order would fill only at its next open, at a price nobody knows yet. Its position is
  held as is, valued at its last close; the other symbols share what is left of the
  invested budget in proportion to their weights.
- Costs: fees and slippage are paid through the engine's normal fills; the run's
  turnover (traded notional / mean equity, per year) is in its metrics
  (``kestrel report``); the strategy also counts its own traded notional in
  ``self.traded`` (account currency).

Known failure modes: covariance and above all mean estimates from a short window are
noisy, so minimum variance and especially maximum Sharpe concentrate in whatever was calm
or lucky in the window (bounds limit the damage); all of these methods hold long-only
positions in every market, so a joint crash is taken in full; correlations rise in a
crash, when diversification is needed most; rebalancing sells winners and buys losers,
which costs in a long trend; the schedule's phase changes the trades; with a symbol
frozen for lack of a bar the others are rebalanced around it, so the weights hold only
once it trades again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import ConfigError, DataError
from engine.feeds.timeframe import parse_timeframe
from engine.model import Bar, OrderFilled
from engine.strategy import Context, Strategy
from engine.strategy.allocation import METHODS, WeightBounds, allocate

__all__ = ["PortfolioRebalance", "PortfolioRebalanceParams", "window_returns"]


@dataclass(frozen=True)
class PortfolioRebalanceParams:
    """Parameters of `PortfolioRebalance`.

    Attributes:
        method: One of ``equal_weight``, ``inverse_volatility``, ``risk_parity``,
            ``min_variance``, ``max_sharpe``.
        window: Clock bars of returns the weights are estimated on.
        rebalance_every: Schedule period (``"1d"``, ``"1w"``).
        drift_band: Rebalance between schedules when a weight is this far (absolute,
            0.05 = 5 points) from its target; 0 turns drift rebalancing off.
        min_weight: Lowest weight of a symbol (fraction of the invested budget).
        max_weight: Highest weight of a symbol.
        gross: Fraction of equity invested.
        min_trade: Skip trades smaller than this fraction of equity.
        risk_free: Per-bar risk-free return, for ``max_sharpe``.
    """

    method: str = "risk_parity"
    window: int = 720
    rebalance_every: str = "1w"
    drift_band: float = 0.0
    min_weight: float = 0.0
    max_weight: float = 1.0
    gross: float = 1.0
    min_trade: float = 0.01
    risk_free: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.window < 2:
            raise ValueError(f"window must be >= 2, got {self.window}")
        try:
            parse_timeframe(self.rebalance_every)
        except DataError as exc:
            raise ValueError(f"rebalance_every: {exc}") from None
        if not 0 <= self.drift_band < 1:
            raise ValueError(f"drift_band must be in [0, 1), got {self.drift_band}")
        WeightBounds(self.min_weight, self.max_weight)  # raises ValueError when inconsistent
        if not 0 < self.gross <= 1:
            raise ValueError(f"gross must be in (0, 1], got {self.gross}")
        if not 0 <= self.min_trade < 1:
            raise ValueError(f"min_trade must be in [0, 1), got {self.min_trade}")


def window_returns(ctx: Context, window: int) -> pd.DataFrame | None:
    """Return the last ``window`` returns of every symbol on the clock's close times.

    Rows: the clock's (last symbol's) last ``window`` close times; columns: symbols in
    config order; each symbol's close taken as of each time. None while some symbol has
    no close at the first of the ``window + 1`` times (warm-up).
    """
    clock = ctx.history(ctx.symbols[-1], window + 1).index
    if len(clock) < window + 1:
        return None
    closes = {}
    for symbol in ctx.symbols:
        series = ctx.history(symbol, window + 1)["close"]
        closes[symbol] = series.asof(clock) if len(series) else pd.Series(np.nan, clock)
    frame = pd.DataFrame(closes, index=clock)
    if frame.isna().to_numpy().any():
        return None
    return frame.pct_change().iloc[1:]


class PortfolioRebalance(Strategy):
    """Hold all symbols at allocation weights (risk parity, min variance, ...), rebalanced."""

    Params = PortfolioRebalanceParams
    params: PortfolioRebalanceParams

    def on_start(self, ctx: Context) -> None:
        """Read the schedule and bounds; no targets until the first full window."""
        p = self.params
        self.interval_ns = parse_timeframe(p.rebalance_every)
        self.bounds = WeightBounds(p.min_weight, p.max_weight)
        try:
            self.bounds.check(len(ctx.symbols))
        except ValueError as exc:  # bounds the config set, not a fault of the code
            raise ConfigError(
                f"strategy.params min_weight/max_weight: {exc}; widen the bounds"
            ) from None
        self.last_period: int | None = None
        self.targets: dict[str, float] | None = None  # weights of the last estimate
        self.pending = False  # buys waiting for the sales' cash
        self.bar_close: dict[str, int] = {}  # each symbol's last bar close time (ns)
        self.close: dict[str, float] = {}
        self.traded = 0.0  # notional filled, account currency
        self.rebalances: list[int] = []  # decision times (ns) the account was rebalanced at

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        """Count the traded notional in the account currency."""
        self.traded += abs(event.quantity) * event.price * ctx.fx_rate(event.symbol)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Keep each close; on the clock's bars rebalance on schedule, drift, or buy."""
        self.bar_close[bar.symbol] = ctx.time_ns
        self.close[bar.symbol] = bar.close
        if bar.symbol != ctx.symbols[-1]:
            return
        if self.pending:
            self.pending = False
            self.trade(ctx, sells=False)
            return
        period = ctx.time_ns // self.interval_ns
        if period != self.last_period:
            self.last_period = period
            returns = window_returns(ctx, self.params.window)
            if returns is None:
                return
            weights = allocate(
                self.params.method,
                returns.to_numpy(),
                self.bounds,
                risk_free=self.params.risk_free,
            )
            self.targets = dict(zip(ctx.symbols, (float(w) for w in weights), strict=True))
            self.rebalance(ctx)
        elif self.params.drift_band > 0 and self.drifted(ctx):
            self.rebalance(ctx)

    def value(self, ctx: Context, symbol: str) -> float:
        """Return the position's value in the account currency at its last close."""
        position = ctx.position(symbol)
        if position == 0:
            return 0.0
        return position * self.close[symbol] * ctx.fx_rate(symbol)

    def drifted(self, ctx: Context) -> bool:
        """True when a symbol's weight is more than ``drift_band`` off its target."""
        if self.targets is None:
            return False
        equity = ctx.equity
        gross = self.params.gross
        return any(
            abs(self.value(ctx, s) / equity - gross * w) > self.params.drift_band
            for s, w in self.targets.items()
        )

    def target_values(self, ctx: Context) -> dict[str, float]:
        """Return each fresh symbol's target value; stale ones keep theirs (module doc)."""
        targets = self.targets or {}
        fresh = [s for s in ctx.symbols if self.bar_close.get(s) == ctx.time_ns]
        stale_value = sum(self.value(ctx, s) for s in ctx.symbols if s not in fresh)
        budget = max(self.params.gross * ctx.equity - stale_value, 0.0)
        share = sum(targets[s] for s in fresh)
        if share <= 0:
            return {}
        return {s: budget * targets[s] / share for s in fresh}

    def rebalance(self, ctx: Context) -> None:
        """Sell what is above target now; buy next clock bar (or now with no sale)."""
        self.rebalances.append(ctx.time_ns)
        if self.trade(ctx, sells=True):
            self.pending = True
        else:
            self.trade(ctx, sells=False)

    def trade(self, ctx: Context, *, sells: bool) -> bool:
        """Send the sells (or the buys) towards the targets; True when one was sent."""
        threshold = self.params.min_trade * ctx.equity
        cash = ctx.cash
        sent = False
        for symbol, target in self.target_values(ctx).items():
            value = self.value(ctx, symbol)
            if abs(target - value) < threshold or (target < value) != sells:
                continue
            if sells:
                if target < threshold:
                    ctx.close_position(symbol)
                else:
                    ctx.order_target_value(symbol, target)
                sent = True
                continue
            spend = min(target - value, cash)
            if spend >= threshold:
                ctx.order_target_value(symbol, value + spend)
                cash -= spend
                sent = True
        return sent
