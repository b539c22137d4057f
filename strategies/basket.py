"""Basket statistical arbitrage: one price against a hedge basket of two others.

The idea is the pair's (`strategies.pairs`) with more legs: ``log y`` may be cointegrated
with a combination of several prices when with no single one. The Engle–Granger test
regresses ``log y`` on ``log x_1 … log x_k`` (OLS with a constant) and tests the residuals
for a unit root (ADF without constant, `strategies.pairs.adf_tstat`), against MacKinnon's
(2010) asymptotic critical values for ``k + 1`` variables with a constant — tabulated here
for three (-4.294 at 1%, -3.741 at 5%, -3.452 at 10%), so a basket is ``y`` and two
hedges: the config's first symbol is ``y``, the next two the hedges.

Data and timing: decisions are taken on the bar of the last symbol (bars of one close time
arrive in config order, so every symbol's bar of that time is known); each symbol's last
close is kept from its own bar. Every ``refit_every`` bars the regression and the test are
redone over the ``window`` common closes before the current bar (`Context.history`, the
current bar left out); ``z = (log y - α - Σ β_i log x_i) / σ`` at the current closes.

Rules (market orders, every leg in the same hook; they fill at the next bar's open):

- flat, the basket admitted and ``entry_z < |z| < stop_z`` → open every leg: ``z < 0``
  buys the spread (long ``y``, and each hedge ``x_i`` sold when ``β_i > 0``, bought when
  ``β_i < 0``), ``z > 0`` sells it; the legs' values are hedge-weighted: the ``x_i`` leg is
  worth ``|β_i|`` times the ``y`` leg (a log-price hedge: a 1% move of ``x_i`` moves
  ``log y`` by ``β_i`` %), all legs summing to ``gross`` of equity;
- a hedge with ``|β_i| < min_weight`` is left out of the trade (and of the sizing); at
  least one hedge must remain;
- in a position and ``|z| <= exit_z`` or ``|z| >= stop_z`` → close every leg; the legs
  held differing from the trade's (one was denied) → close them all.

Known failure modes: those of the pair, worse: more regressors fit noise better, so the
in-window residual looks more stationary than it will be (the critical values account for
the regressors, not for choosing the basket); hedge weights drift as prices move and are
fixed only at refits; three legs pay three fees and spreads. The net dollar exposure of a
hedge-weighted basket is not zero (``1 - Σ β_i`` of the ``y`` leg, signed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.model import Bar
from engine.strategy import Context, Strategy
from strategies.pairs import adf_tstat, check_spread_params

__all__ = [
    "BASKET_CRITICAL_VALUES",
    "BasketFit",
    "BasketTrading",
    "BasketTradingParams",
    "basket_fit",
]

# MacKinnon (2010), Table 2, N = 3, constant: asymptotic critical values of the ADF
# t-statistic on Engle–Granger residuals of one series on two
BASKET_CRITICAL_VALUES = {0.01: -4.294, 0.05: -3.741, 0.10: -3.452}


@dataclass(frozen=True)
class BasketFit:
    """``log y = alpha + Σ betas[i] log x_i + e``, the residuals' σ and the ADF t-stat."""

    alpha: float
    betas: tuple[float, ...]
    sigma: float  # standard deviation of the residuals (ddof 0)
    tstat: float


def basket_fit(log_y: np.ndarray, log_xs: np.ndarray, lags: int) -> BasketFit:
    """Return the OLS fit of ``log_y`` on the columns of ``log_xs`` (with a constant)."""
    design = np.column_stack([np.ones(log_y.size), log_xs])
    coef, *_ = np.linalg.lstsq(design, log_y, rcond=None)
    residuals = log_y - design @ coef
    return BasketFit(
        float(coef[0]),
        tuple(float(b) for b in coef[1:]),
        float(residuals.std()),
        adf_tstat(residuals, lags),
    )


@dataclass(frozen=True)
class BasketTradingParams:
    """Parameters of `BasketTrading`.

    Attributes:
        window: Bars in the regression, the test and the residuals' σ.
        refit_every: Bars between refits (1: every bar).
        entry_z: Open when ``|z|`` is above this.
        exit_z: Close when ``|z|`` is at or below this.
        stop_z: Close (and do not open) when ``|z|`` is at or above this; 0 turns it off.
        significance: Level of the cointegration test: 0.01, 0.05 or 0.10.
        adf_lags: Lagged differences in the ADF regression.
        gross: All legs' value together, as a fraction of equity.
        min_weight: A hedge with ``|β_i|`` below this is left out of the trade (a leg
            worth a few percent of ``y``'s is below exchange minimums and adds a fee for
            next to no hedge).
    """

    window: int = 720
    refit_every: int = 24
    entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float = 4.0
    significance: float = 0.05
    adf_lags: int = 1
    gross: float = 1.0
    min_weight: float = 0.05

    def __post_init__(self) -> None:
        check_spread_params(self, BASKET_CRITICAL_VALUES)
        if not 0 <= self.min_weight < 1:
            raise ValueError(f"min_weight must be in [0, 1), got {self.min_weight}")


class BasketTrading(Strategy):
    """Statistical arbitrage: trade one price against a cointegrated basket of two others."""

    Params = BasketTradingParams
    params: BasketTradingParams

    def on_start(self, ctx: Context) -> None:
        """Check there are three symbols; nothing fitted yet."""
        if len(ctx.symbols) != 3:
            raise ConfigError(  # the config's [[data]] list, not the code, is to fix
                f"BasketTrading needs exactly three symbols (y, x1, x2), got "
                f"{len(ctx.symbols)}; list three [[data]] symbols"
            )
        self.closes: dict[str, float] = {}
        self.fit: BasketFit | None = None
        self.bars_since_fit = 0
        self.decisions = 0
        self.legs: frozenset[str] = frozenset()  # the symbols of the trade held

    def refit(self, ctx: Context) -> BasketFit | None:
        """Fit over the ``window`` common closes before this bar; None if too few."""
        n = self.params.window
        closes = pd.concat(
            [ctx.history(s, n + 1)["close"] for s in ctx.symbols], axis=1, join="inner"
        ).iloc[:-1]
        if len(closes) < n:
            return None
        values = np.log(closes.to_numpy())
        return basket_fit(values[:, 0], values[:, 1:], self.params.adf_lags)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """On the last symbol's bar: refit on schedule, then open or close every leg."""
        self.closes[bar.symbol] = bar.close
        if bar.symbol != ctx.symbols[-1] or len(self.closes) < len(ctx.symbols):
            return
        p = self.params
        self.decisions += 1
        self.bars_since_fit += 1
        if self.decisions <= p.window:  # fewer than `window` bars before this one
            return
        if self.fit is None or self.bars_since_fit >= p.refit_every:
            fitted = self.refit(ctx)
            if fitted is None:
                return
            self.fit, self.bars_since_fit = fitted, 0
        fit = self.fit
        if not fit.sigma > 0:
            return
        y, *xs = ctx.symbols
        hedge = sum(b * math.log(self.closes[x]) for b, x in zip(fit.betas, xs, strict=True))
        z = (math.log(self.closes[y]) - fit.alpha - hedge) / fit.sigma
        stop = p.stop_z if p.stop_z > 0 else math.inf
        held = frozenset(s for s in ctx.symbols if ctx.position(s) != 0)
        if held:
            # a leg missing (denied, rejected) or left over is not the trade: close all
            if held != self.legs or abs(z) <= p.exit_z or abs(z) >= stop:
                for symbol in ctx.symbols:
                    ctx.close_position(symbol)
            return
        admitted = fit.tstat < BASKET_CRITICAL_VALUES[p.significance]
        hedges = [(b, x) for b, x in zip(fit.betas, xs, strict=True) if abs(b) >= p.min_weight]
        if not (admitted and hedges and p.entry_z < abs(z) < stop):
            return
        side = 1 if z < 0 else -1  # long the spread when it is cheap
        y_value = ctx.equity * p.gross / (1 + sum(abs(b) for b, _ in hedges))
        ctx.order_target_value(y, side * y_value)
        for beta, x in hedges:
            ctx.order_target_value(x, -side * beta * y_value)
        self.legs = frozenset([y, *(x for _, x in hedges)])
