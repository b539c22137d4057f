"""Pairs trading: two cointegrated prices, a rolling hedge ratio, z-score entries and exits.

The idea: some pairs of prices move together in the long run (cointegration: a linear
combination of their logs is stationary), so when the combination — the spread — strays
far from its mean, bet on its return: buy the cheap leg and sell the rich one, both at
once, and close both when the spread is back. Engle and Granger's two-step test admits a
pair: regress ``log y`` on ``log x`` (OLS with a constant), then test the residuals for a
unit root with an augmented Dickey–Fuller regression; the pair is admitted when the ADF
t-statistic is below the critical value.

Data and timing: the config's first symbol is ``y``, the second ``x`` (exactly two). Every
decision is taken on the bar of ``x`` (bars of one close time arrive in config order, so
``y``'s bar of that time is known). Every ``refit_every`` bars the regression and the test
are redone over the ``window`` closes of both before the current bar, aligned on their
common close times (`Context.history`: closed bars only, no look-ahead; the current bar is
left out so that the bar being judged does not move its own yardstick); in between,
the hedge ratio ``β``, the constant ``α`` and the residuals' standard deviation ``σ`` stay
fixed, and the spread's z-score is ``z = (log y - α - β log x) / σ`` at the current closes.
With ``hedge = "kalman"`` the hedge ratio and constant follow a Kalman filter instead
(`KalmanHedge`, started from the first window's OLS fit and updated on every bar), and
``z`` is the filter's forecast error of ``log y`` over its standard deviation, computed
before the bar updates the filter; the Engle–Granger test still admits the pair.

Rules (market orders, both legs in the same hook; they fill at the next bar's open):

- flat, the pair admitted, ``β > 0`` and ``entry_z < |z| < stop_z`` → open both legs:
  ``z < 0`` (spread cheap) buys ``y`` and sells ``x``; ``z > 0`` sells ``y`` and buys ``x``
  (a negative hedge ratio would put both legs on one side: no trade);
- in a position and ``|z| <= exit_z`` (reverted) or ``|z| >= stop_z`` (the relation broke)
  → close both legs; one leg open alone (the other was denied) → close it;
- leg sizes: ``neutral = "dollar"``: each leg is worth ``gross / 2`` of equity, so the net
  dollar exposure is zero at the deciding bar's closes (at the fills it is off by the two
  legs' moves to the next open and the lot rounding); ``"beta"``: the ``x`` leg is worth
  ``β`` times the ``y`` leg (a log-price hedge), the two summing to ``gross`` of equity;
- while a dollar-neutral pair is held, a net value beyond ``max_net`` of the gross value
  at a bar's close resizes the ``x`` leg to the ``y`` leg's value (at the next open): the
  net stays within ``max_net`` plus one bar's relative move of the two legs.

The test (Engle–Granger, ADF without constant on the residuals, ``adf_lags`` lagged
differences) compares with the asymptotic critical values of MacKinnon (2010) for two
variables with a constant: -3.896 (1%), -3.336 (5%), -3.044 (10%); for windows of hundreds
of bars the finite-sample correction is below 0.02 and is left out.

Known failure modes: cointegration found in a window is often not there in the next (the
test is run on overlapping windows many times, so some pairs pass by chance: multiple
testing); the hedge ratio estimated with errors leaves a trend in the spread; a regime
break moves the mean for good and the stop takes the loss; both legs need shorting (a
margin account: ``account.allow_short``) and pay borrow costs this backtest does not model
unless configured; between resizes the net exposure drifts as the legs' prices part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.model import Bar
from engine.strategy import Context, Strategy

__all__ = [
    "CRITICAL_VALUES",
    "EngleGranger",
    "KalmanHedge",
    "PairsTrading",
    "PairsTradingParams",
    "adf_tstat",
    "engle_granger",
]

# MacKinnon (2010), Table 2, N = 2, constant: asymptotic critical values of the ADF
# t-statistic on Engle–Granger residuals
CRITICAL_VALUES = {0.01: -3.896, 0.05: -3.336, 0.10: -3.044}


def adf_tstat(residuals: np.ndarray, lags: int) -> float:
    """Return the t-statistic of γ in ``Δe_t = γ e_{t-1} + Σ φ_i Δe_{t-i} + u_t``.

    No constant (the residuals of a regression with a constant have mean zero), ``lags``
    lagged differences; NaN when there are too few observations.
    """
    diff = np.diff(residuals)
    rows = diff.size - lags
    if rows <= lags + 2:
        return math.nan
    target = diff[lags:]
    columns = [residuals[lags:-1]] + [diff[lags - i : diff.size - i] for i in range(1, lags + 1)]
    design = np.column_stack(columns)
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    if rank < design.shape[1]:
        return math.nan
    resid = target - design @ coef
    s2 = float(resid @ resid) / (rows - design.shape[1])
    cov = s2 * np.linalg.inv(design.T @ design)
    return float(coef[0] / math.sqrt(cov[0, 0]))


@dataclass(frozen=True)
class EngleGranger:
    """The cointegrating regression ``log y = alpha + beta log x + e`` and its ADF test."""

    alpha: float
    beta: float
    sigma: float  # standard deviation of the residuals (ddof 0)
    tstat: float


def engle_granger(log_y: np.ndarray, log_x: np.ndarray, lags: int) -> EngleGranger:
    """Return the OLS fit of ``log_y`` on ``log_x`` (with a constant) and the ADF t-stat."""
    design = np.column_stack([np.ones_like(log_x), log_x])
    (alpha, beta), *_ = np.linalg.lstsq(design, log_y, rcond=None)
    residuals = log_y - alpha - beta * log_x
    return EngleGranger(
        float(alpha), float(beta), float(residuals.std()), adf_tstat(residuals, lags)
    )


class KalmanHedge:
    """A Kalman filter on ``log y_t = β_t log x_t + α_t + ε_t`` with random-walk ``(β, α)``.

    State ``θ = (β, α)``, ``θ_t = θ_{t-1} + w_t``, observation noise ``ε ~ N(0, r)``. The
    state noise is a discount (West and Harrison's, a forgetting factor of recursive least
    squares): ``cov(w_t) = P_{t-1} δ / (1 - δ)``, so the predicted covariance is
    ``P_{t-1} / (1 - δ)`` and an observation ``k`` bars old weighs ``(1 - δ)^k``: a memory
    of about ``1 / δ`` bars, whatever the scale of the prices (a fixed ``q I`` would mean
    different things for ``log x`` near 0 and near 10). Started from an OLS fit
    (``from_ols``): ``θ`` its estimate, ``P = r (XᵀX)⁻¹``, ``r`` its residual variance
    (ddof 2) — the exact posterior of the regression, so with ``δ = 0`` each step is
    recursive least squares and ``θ`` stays equal to OLS over all observations so far.
    """

    def __init__(self, theta: np.ndarray, cov: np.ndarray, delta: float, r: float) -> None:
        self.theta = theta
        self.cov = cov
        self.delta = delta
        self.r = r

    @classmethod
    def from_ols(cls, log_y: np.ndarray, log_x: np.ndarray, delta: float) -> KalmanHedge:
        """Start from the OLS fit of ``log_y`` on ``log_x``, discounting by ``1 - delta``."""
        design = np.column_stack([log_x, np.ones_like(log_x)])
        theta, *_ = np.linalg.lstsq(design, log_y, rcond=None)
        residuals = log_y - design @ theta
        r = float(residuals @ residuals) / (log_y.size - 2)
        cov = r * np.linalg.inv(design.T @ design)
        return cls(theta, cov, delta, r)

    def step(self, log_y: float, log_x: float) -> tuple[float, float]:
        """Return the forecast error of ``log_y`` and its variance, then update on it.

        The error uses the state before this observation (no look-ahead); ``z =
        error / sqrt(variance)`` is the spread's z-score.
        """
        cov = self.cov / (1 - self.delta)
        h = np.array([log_x, 1.0])
        error = log_y - float(h @ self.theta)
        variance = float(h @ cov @ h) + self.r
        gain = cov @ h / variance
        self.theta = self.theta + gain * error
        self.cov = cov - np.outer(gain, h @ cov)
        return error, variance


def check_spread_params(params: Any, critical_values: Mapping[float, float]) -> None:
    """Refuse the spread rules' parameters shared by pairs and baskets (one ValueError line).

    ``params`` has ``window``, ``refit_every``, ``entry_z``, ``exit_z``, ``stop_z``,
    ``significance`` (a key of ``critical_values``), ``adf_lags`` and ``gross``.
    """
    if params.window < 30:
        raise ValueError(f"window must be >= 30 bars, got {params.window}")
    if params.refit_every < 1:
        raise ValueError(f"refit_every must be >= 1, got {params.refit_every}")
    if not 0 <= params.exit_z < params.entry_z:
        raise ValueError(
            f"need 0 <= exit_z < entry_z, got exit_z={params.exit_z}, entry_z={params.entry_z}"
        )
    if params.stop_z != 0 and not params.stop_z > params.entry_z:
        raise ValueError(f"stop_z must be 0 (off) or > entry_z, got {params.stop_z}")
    if params.significance not in critical_values:
        raise ValueError(
            f"significance must be one of {sorted(critical_values)}, got {params.significance}"
        )
    if not 0 <= params.adf_lags <= 24:
        raise ValueError(f"adf_lags must be in [0, 24], got {params.adf_lags}")
    if not 0 < params.gross <= 2:
        raise ValueError(f"gross must be in (0, 2], got {params.gross}")


@dataclass(frozen=True)
class PairsTradingParams:
    """Parameters of `PairsTrading`.

    Attributes:
        window: Bars in the hedge regression, the test and the residuals' σ.
        refit_every: Bars between refits (1: every bar).
        entry_z: Open when ``|z|`` is above this.
        exit_z: Close when ``|z|`` is at or below this.
        stop_z: Close (and do not open) when ``|z|`` is at or above this; 0 turns it off.
        significance: Level of the cointegration test: 0.01, 0.05 or 0.10.
        adf_lags: Lagged differences in the ADF regression.
        gross: Both legs' value together, as a fraction of equity.
        neutral: ``"dollar"`` (equal legs) or ``"beta"`` (x leg = β × y leg).
        max_net: Dollar-neutral pairs only: resize the x leg when the net value of the
            two legs exceeds this fraction of their gross value (0: never).
        hedge: ``"ols"`` (rolling regression, refit every ``refit_every`` bars) or
            ``"kalman"`` (a Kalman filter updated every bar, see `KalmanHedge`).
        kalman_delta: The filter's discount per bar: a memory of about ``1 / delta``
            bars (0: the hedge ratio is a constant, estimated over all bars so far).
    """

    window: int = 720
    refit_every: int = 24
    entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float = 4.0
    significance: float = 0.05
    adf_lags: int = 1
    gross: float = 1.0
    neutral: Literal["dollar", "beta"] = "dollar"
    max_net: float = 0.1
    hedge: Literal["ols", "kalman"] = "ols"
    kalman_delta: float = 0.002

    def __post_init__(self) -> None:
        check_spread_params(self, CRITICAL_VALUES)
        if not 0 <= self.max_net < 1:
            raise ValueError(f"max_net must be in [0, 1), got {self.max_net}")
        if self.hedge not in ("ols", "kalman"):
            raise ValueError(f"hedge must be 'ols' or 'kalman', got {self.hedge!r}")
        if not 0 <= self.kalman_delta < 0.1:
            raise ValueError(f"kalman_delta must be in [0, 0.1), got {self.kalman_delta}")
        if self.neutral not in ("dollar", "beta"):
            raise ValueError(f"neutral must be 'dollar' or 'beta', got {self.neutral!r}")


class PairsTrading(Strategy):
    """Statistical arbitrage: trade a cointegrated pair's spread back to its mean."""

    Params = PairsTradingParams
    params: PairsTradingParams

    def on_start(self, ctx: Context) -> None:
        """Check there are two symbols; nothing fitted yet."""
        if len(ctx.symbols) != 2:
            raise ConfigError(  # the config's [[data]] list, not the code, is to fix
                f"PairsTrading needs exactly two symbols (y, x), got {len(ctx.symbols)}; "
                "list two [[data]] symbols"
            )
        self.y, self.x = ctx.symbols
        self.fit: EngleGranger | None = None
        self.bars_since_fit = 0
        self.y_close = math.nan  # y's last close (a y gap keeps the one before)
        self.x_bars = 0
        self.kalman: KalmanHedge | None = None

    def refit(self, ctx: Context) -> tuple[EngleGranger, np.ndarray] | None:
        """Fit the pair over the ``window`` common closes before this bar; None if too few.

        The current bar is left out: the bar being judged must not move the fit it is
        judged by (a spike in the window's last bar inflates σ and looks like a unit root
        to the test).
        """
        n = self.params.window
        closes = pd.concat(
            [ctx.history(self.y, n + 1)["close"], ctx.history(self.x, n + 1)["close"]],
            axis=1,
            join="inner",
        ).iloc[:-1]
        if len(closes) < n:
            return None
        values = np.log(closes.to_numpy())
        return engle_granger(values[:, 0], values[:, 1], self.params.adf_lags), values

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """On x's bar: refit on schedule, then open or close both legs on the z-score."""
        if bar.symbol != self.x:
            self.y_close = bar.close  # y's bar of this time arrives first (config order)
            return
        p = self.params
        self.bars_since_fit += 1
        self.x_bars += 1
        if self.x_bars <= p.window:  # fewer than `window` bars before this one: warm-up
            return
        if self.fit is None or self.bars_since_fit >= p.refit_every:
            fitted = self.refit(ctx)
            if fitted is None:
                return
            (self.fit, window), self.bars_since_fit = fitted, 0
            if p.hedge == "kalman" and self.kalman is None:
                self.kalman = KalmanHedge.from_ols(window[:, 0], window[:, 1], p.kalman_delta)
        fit = self.fit
        y_close = self.y_close
        log_y, log_x = math.log(y_close), math.log(bar.close)
        if self.kalman is not None:
            beta = float(self.kalman.theta[0])  # the hedge the forecast below uses
            error, variance = self.kalman.step(log_y, log_x)
            z = error / math.sqrt(variance)
        elif fit.sigma > 0:
            beta = fit.beta
            z = (log_y - fit.alpha - fit.beta * log_x) / fit.sigma
        else:
            return
        stop = p.stop_z if p.stop_z > 0 else math.inf
        open_legs = (ctx.position(self.y) != 0) + (ctx.position(self.x) != 0)
        if open_legs:
            # one leg alone (the other denied or rejected) is not a pair trade: close it
            if open_legs == 1 or abs(z) <= p.exit_z or abs(z) >= stop:
                ctx.close_position(self.y)
                ctx.close_position(self.x)
            elif p.neutral == "dollar" and p.max_net > 0:
                self.keep_neutral(ctx, y_close, bar.close)
            return
        admitted = fit.tstat < CRITICAL_VALUES[p.significance]
        # a negative hedge ratio would put both legs on one side: not a pair trade
        if not (admitted and beta > 0 and p.entry_z < abs(z) < stop):
            return
        side = 1 if z < 0 else -1  # long the spread (long y, short x) when it is cheap
        equity = ctx.equity
        if p.neutral == "dollar":
            y_value = x_value = equity * p.gross / 2
        else:
            y_value = equity * p.gross / (1 + beta)
            x_value = y_value * beta
        ctx.order_target_value(self.y, side * y_value)
        ctx.order_target_value(self.x, -side * x_value)

    def keep_neutral(self, ctx: Context, y_close: float, x_close: float) -> None:
        """Resize the x leg to the y leg's value when the net exceeds ``max_net`` of gross."""
        y_value = ctx.position(self.y) * y_close * ctx.fx_rate(self.y)
        x_value = ctx.position(self.x) * x_close * ctx.fx_rate(self.x)
        gross = abs(y_value) + abs(x_value)
        if gross > 0 and abs(y_value + x_value) > self.params.max_net * gross:
            ctx.order_target_value(self.x, -y_value)
