"""Performance metrics from an equity curve, its round-trip trades and (optionally) its bars.

Notation: ``E_0`` is the initial cash at ``start_ns``, ``E_i`` the equity at bar close ``i``;
``r_i = E_i / E_{i−1} − 1`` are per-bar simple returns (n of them); ``years`` = (last close −
``start_ns``) / 365.25 days; ``P = n / years`` periods per year — inferred from the data, so
daily stock bars (~252/yr) and 24/7 hourly crypto bars (~8,766/yr) both come out right.
``rf`` is the annual risk-free rate (``risk_free_rate``, a fraction, default 0), per bar
``rf_p = (1 + rf)^(1/P) − 1``, and ``x_i = r_i − rf_p`` the excess returns. ``d_j`` are
daily returns: compounded per UTC calendar day from the last equity of each day
(`engine.report.series.period_returns`), with ``P_d`` = days / years. Standard deviations
use ddof = 1. Every fraction is a fraction (0.05 = 5%), never a percent.

Returns and risk (per-bar unless stated):
- total_return = E_n / E_0 − 1; cagr = (E_n / E_0)^(1/years) − 1.
- volatility = std(r) · √P (annualized).
- sharpe = mean(x) / std(x) · √P; sortino = mean(x) / √mean(min(x, 0)²) · √P.
- calmar = cagr / |max_drawdown|.
- omega = Σ max(x, 0) / Σ max(−x, 0) (threshold: the risk-free rate).
- max_drawdown = min(E / running_max(E) − 1) (≤ 0); max_drawdown_duration_days: from the
  peak before the deepest trough to its recovery (or the end); longest_drawdown_duration_days.
- ulcer_index = √mean(dd²) over every bar's drawdown dd (a fraction).
- Daily distribution: var_95 = 5th percentile of d (linear interpolation, ≤ 0 for a
  loss); cvar_95 = mean of the d ≤ var_95; skew and kurtosis (excess) of d with the
  bias-adjusted sample estimators G1 and G2 (as pandas ``skew``/``kurt``); tail_ratio =
  |95th percentile of d| / |5th percentile of d|; best_day / worst_day = max / min of d;
  best_month / worst_month likewise for calendar-month returns.
- exposure = fraction of bars closing with a position; average_exposure = mean(gross
  exposure / equity); turnover = traded notional / mean equity / years (times per year);
  fees_paid (currency).
- Trades: see `engine.report.trade_stats` (closed round trips only). Positions still
  open at the end are beside them: open_positions (how many), unrealized_pnl (Σ of
  their unrealized PnL at the last close, account currency; already in E_n).
- Benchmark (``b_i``: per-bar returns of buy-and-hold of the traded symbols — valued in
  the account currency at the run's fx rates (``fx_rates``), as the equity is — or of the
  given series; ``y_i = b_i − rf_p``): beta = cov(x, y) / var(y); alpha = (mean(x) −
  beta · mean(y)) · P (annualized, arithmetic); information_ratio = mean(r − b) /
  std(r − b) · √P; correlation = Pearson corr(r, b); benchmark_total_return, benchmark_cagr.
- probabilistic_sharpe (Bailey & López de Prado 2012) = Φ((SR − SR*) · √(n − 1) /
  √(1 − γ3 · SR + (γ4 − 1) / 4 · SR²)) with SR = mean(x) / std(x) per bar (not
  annualized), γ3 the skewness and γ4 the (non-excess) kurtosis of r (population moments),
  SR* = 0. deflated_sharpe (Bailey & López de Prado 2014) is the same with SR* =
  √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))), γ = 0.5772… (Euler–Mascheroni),
  N = ``trials`` (strategy variants tried), V = ``trials_sharpe_variance`` (variance of
  their per-bar Sharpe ratios; default: the estimator's variance (1 − γ3 SR + (γ4 − 1)/4
  SR²) / (n − 1)). With one trial nothing is deflated: deflated_sharpe = probabilistic_sharpe.
Undefined values (no trades, zero volatility, no benchmark) are None in JSON, never NaN.

A ruined account: once equity is ≤ 0 at a bar close, ``r_i`` stops meaning a return (from
−2,000 to −3,000 reads as +50 %; from 0 it is infinite), so every figure built from the
returns, the daily or monthly returns, or a division by equity is None for the whole run:
volatility, Sharpe, Sortino, Calmar, Omega, PSR/DSR, VaR/CVaR, skew, kurtosis, tail ratio,
best/worst day and month, average exposure, turnover, alpha, beta, information ratio and
correlation (``UNDEFINED_AFTER_RUIN``). ``equity_went_non_positive_at`` is the first such
close time (ns UTC; None when equity stayed > 0), which the CLI summary and the report
show. Total return, final equity, CAGR (None unless E_n > 0), the benchmark's own return
and CAGR, trade statistics and the drawdowns stay as computed: the running peak starts at
E_0 > 0, so max_drawdown stays defined and is below −1 (−100 %) when equity went negative
— −2.01 is a loss of 2.01 times the peak.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from engine.feeds import BarFrame
from engine.report.recorder import TradeRecord
from engine.report.series import (
    NS_PER_DAY,
    FloatArray,
    IntArray,
    benchmark_values,
    drawdown,
    period_returns,
)
from engine.report.trade_stats import trade_statistics

if TYPE_CHECKING:
    from engine.portfolio.fx import RateSeries

__all__ = [
    "UNDEFINED_AFTER_RUIN",
    "benchmark_metrics",
    "central_moments",
    "compute_metrics",
    "drawdown_durations",
    "expected_max_sharpe",
    "first_non_positive",
    "probabilistic_sharpe",
    "sample_kurtosis",
    "sample_skew",
]

DAYS_PER_YEAR = 365.25
# Undefined once equity has been ≤ 0 (see the module docstring, "A ruined account")
UNDEFINED_AFTER_RUIN = (
    "volatility", "sharpe", "sortino", "calmar", "omega", "var_95", "cvar_95", "skew",
    "kurtosis", "tail_ratio", "best_day", "worst_day", "best_month", "worst_month",
    "average_exposure", "turnover", "alpha", "beta", "information_ratio", "correlation",
    "probabilistic_sharpe", "deflated_sharpe",
)  # fmt: skip
EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


class Traded(Protocol):
    """Anything with a traded quantity and price (an `OrderFilled`, a fills.csv row)."""

    @property
    def quantity(self) -> float:
        """Return the traded quantity."""
        ...

    @property
    def price(self) -> float:
        """Return the traded price."""
        ...


def _clean(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def drawdown_durations(
    ts: np.ndarray, equity: np.ndarray, dd: np.ndarray | None = None
) -> tuple[float, float, float]:
    """Return (max_drawdown, its episode's duration in days, longest episode in days).

    An episode runs from the last peak before equity dips below it to the first time
    equity is back at or above that peak (or the last bar, if it never recovers).
    ``dd`` is ``drawdown(equity)`` when the caller has it already.
    """
    if equity.size == 0:
        return 0.0, 0.0, 0.0
    if dd is None:
        dd = drawdown(equity)
    trough = int(np.argmin(dd))
    edges = np.diff(np.concatenate(([0], (dd < 0).astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)  # first bar under water
    ends = np.flatnonzero(edges == -1)  # first bar back at the peak (size: never)
    if starts.size == 0:
        return 0.0, 0.0, 0.0
    spans = ts[np.minimum(ends, equity.size - 1)] - ts[np.maximum(starts - 1, 0)]
    episode = int(np.searchsorted(starts, trough, side="right")) - 1
    deepest = int(spans[episode]) if episode >= 0 and trough < ends[episode] else 0
    return float(dd[trough]), deepest / NS_PER_DAY, int(spans.max()) / NS_PER_DAY


def central_moments(values: FloatArray) -> tuple[float, float, float]:
    """Return the 2nd, 3rd and 4th central moments (population: divided by n).

    By products of the centered values rather than ``**3`` / ``**4``, which numpy computes
    with ``pow`` (several times slower over a million returns).
    """
    centered = values - values.mean()
    squared = centered * centered
    return (
        float(np.mean(squared)),
        float(np.mean(squared * centered)),
        float(np.mean(squared * squared)),
    )


def sample_skew(values: FloatArray) -> float:
    """Return the bias-adjusted sample skewness G1 (NaN below 3 values or zero spread)."""
    n = values.size
    if n < 3:
        return math.nan
    m2, m3, _ = central_moments(values)
    if m2 <= 0:
        return math.nan
    g1 = m3 / math.pow(m2, 1.5)
    return g1 * math.sqrt(n * (n - 1)) / (n - 2)


def sample_kurtosis(values: FloatArray) -> float:
    """Return the bias-adjusted sample excess kurtosis G2 (NaN below 4 values or no spread)."""
    n = values.size
    if n < 4:
        return math.nan
    m2, _, m4 = central_moments(values)
    if m2 <= 0:
        return math.nan
    g2 = m4 / m2**2 - 3.0
    return (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 and math.isfinite(denominator) else math.nan


def probabilistic_sharpe(
    sharpe: float, observations: int, skew: float, kurtosis: float, benchmark: float = 0.0
) -> float:
    """Return the probabilistic Sharpe ratio (Bailey & López de Prado 2012); NaN if undefined.

    PSR = Φ((SR − SR*) · √(n − 1) / √(1 − γ3 · SR + (γ4 − 1) / 4 · SR²)).

    Args:
        sharpe: SR, the per-period (not annualized) Sharpe ratio.
        observations: n, the number of returns it was estimated from.
        skew: γ3, the returns' skewness (population moment).
        kurtosis: γ4, their kurtosis (population, non-excess: 3 for a normal).
        benchmark: SR*, the per-period Sharpe ratio to beat.
    """
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if observations < 2 or not spread > 0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(spread))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """Return E[max SR] of ``trials`` skill-less variants whose Sharpe ratios vary by ``variance``.

    SR* = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))), γ the Euler–Mascheroni constant
    (Bailey & López de Prado 2014, the deflated Sharpe ratio's benchmark); 0 for one trial.
    """
    if trials <= 1:
        return 0.0
    return math.sqrt(variance) * (
        (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / trials)
        + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (trials * math.e))
    )


def _sharpe_probability(
    mean: float, std: float, returns: FloatArray, trials: int, variance: float | None
) -> tuple[float, float]:
    """Return (probabilistic Sharpe ratio, deflated Sharpe ratio); NaN when undefined.

    ``mean`` and ``std`` (ddof 1) are those of the per-bar excess returns.
    """
    n = returns.size
    if n < 3:
        return math.nan, math.nan
    if not std > 0:
        return math.nan, math.nan
    sharpe = mean / std
    m2, m3, m4 = central_moments(returns)
    skew = m3 / math.pow(m2, 1.5)
    kurtosis = m4 / m2**2
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not spread > 0:
        return math.nan, math.nan
    probabilistic = probabilistic_sharpe(sharpe, n, skew, kurtosis)
    if trials <= 1:
        return probabilistic, probabilistic
    trial_variance = spread / (n - 1) if variance is None else variance
    benchmark = expected_max_sharpe(trials, trial_variance)
    return probabilistic, probabilistic_sharpe(sharpe, n, skew, kurtosis, benchmark)


def _benchmark_returns(bench: FloatArray | None) -> tuple[FloatArray, float] | None:
    """Return the benchmark's per-bar returns and total return (None: under two values)."""
    if bench is None or bench.size < 2:
        return None
    bench_returns = np.divide(bench[1:], bench[:-1])
    bench_returns -= 1.0
    return bench_returns, float(bench[-1] / bench[0] - 1.0)


def _benchmark_metrics(
    returns: FloatArray,
    excess: FloatArray,
    bench: tuple[FloatArray, float] | None,
    rf_period: float,
    periods: float,
    years: float,
) -> dict[str, float | None]:
    """Return the benchmark-relative metrics; ``bench`` is `_benchmark_returns`' answer.

    The benchmark comes as returns, not values, so that the caller can drop the values
    (and its own) before this runs: a 10 M-bar run holds several series here at once, and
    this is the peak of its memory (issue 13).
    """
    keys = (
        "benchmark_total_return",
        "benchmark_cagr",
        "alpha",
        "beta",
        "information_ratio",
        "correlation",
    )
    if bench is None:
        return dict.fromkeys(keys)
    bench_returns, total = bench
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1 else math.nan
    if returns.size < 2:
        # one return (a one-bar run): the benchmark's return and CAGR are defined, as the
        # run's own are, and its line is drawn; co-movement is not (audit finding 10c)
        return dict.fromkeys(keys) | {keys[0]: _clean(total), keys[1]: _clean(cagr)}
    # In place and without copies where the bits are the same (x - 0.0 is x)
    bench_excess = bench_returns - rf_period if rf_period else bench_returns
    # Centered series and their products, once (np.cov / np.corrcoef would stack copies):
    # beta = cov(excess, bench) / var(bench); correlation = cov / (std * std_bench).
    own_mean, bench_mean = float(np.mean(excess)), float(np.mean(bench_excess))
    own_centered = excess - own_mean
    bench_centered = bench_excess - bench_mean
    # Sums of products, not np.dot: BLAS would start threads (more CPU, not less time).
    co_moment = float(np.sum(own_centered * bench_centered))
    bench_moment = float(np.sum(bench_centered * bench_centered))
    own_moment = float(np.sum(own_centered * own_centered))
    del own_centered, bench_centered, bench_excess
    # An infinite moment (overflowed) leaves beta and correlation unknown: co / inf would
    # be 0.0, which reads as "uncorrelated".
    finite = math.isfinite(co_moment + bench_moment + own_moment)
    beta = co_moment / bench_moment if bench_moment > 0 and finite else math.nan
    alpha = (own_mean - beta * bench_mean) * periods
    active = np.subtract(returns, bench_returns, out=bench_returns)  # its last use
    tracking = float(np.std(active, ddof=1))
    information = (
        float(np.mean(active)) / tracking * math.sqrt(periods) if tracking > 0 else math.nan
    )
    both = own_moment > 0 and bench_moment > 0 and finite
    correlation = co_moment / math.sqrt(own_moment * bench_moment) if both else math.nan
    values = (total, cagr, alpha, beta, information, correlation)
    return {key: _clean(value) for key, value in zip(keys, values, strict=True)}


def _curve_returns(
    initial_cash: float, start_ns: int, ts: IntArray, equity: FloatArray, risk_free_rate: float
) -> tuple[FloatArray, IntArray, FloatArray, FloatArray, float, float, float]:
    """Return (values, times, returns, excess returns, years, periods per year, rf per bar).

    ``values`` and ``times`` are the curve with the initial value at ``start_ns`` first.
    """
    values = np.concatenate(([initial_cash], equity))
    times = np.concatenate(([start_ns], ts))
    returns = np.divide(values[1:], values[:-1])
    returns -= 1.0
    years = (times[-1] - times[0]) / NS_PER_DAY / DAYS_PER_YEAR if times.size > 1 else 0.0
    periods = returns.size / years if years > 0 else math.nan
    rf_period = (1.0 + risk_free_rate) ** (1.0 / periods) - 1.0 if periods == periods else 0.0
    excess = returns - rf_period if rf_period else returns
    return values, times, returns, excess, years, periods, rf_period


def benchmark_metrics(
    *,
    initial_cash: float,
    start_ns: int,
    ts: np.ndarray,
    equity: np.ndarray,
    benchmark: FloatArray | None,
    risk_free_rate: float = 0.0,
) -> dict[str, float | None]:
    """Return the benchmark-relative metrics of a curve against benchmark values.

    The same keys and formulas as `compute_metrics` (benchmark_total_return,
    benchmark_cagr, alpha, beta, information_ratio, correlation), for values computed
    apart, e.g. the report's buy-and-hold in the account currency; ``benchmark``: one value
    per curve time with the start first (`engine.report.series.benchmark_values`), or
    None (every key None). Equity ≤ 0 anywhere leaves alpha, beta, the information ratio
    and the correlation None, as `compute_metrics` does.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        _, _, returns, excess, years, periods, rf_period = _curve_returns(
            initial_cash, start_ns, np.asarray(ts, dtype=np.int64),
            np.asarray(equity, dtype=np.float64), risk_free_rate,
        )  # fmt: skip
        bench = _benchmark_returns(benchmark)
        relative = _benchmark_metrics(returns, excess, bench, rf_period, periods, years)
    if first_non_positive(np.asarray(ts), np.asarray(equity)) is not None:
        relative.update({key: None for key in relative if key in UNDEFINED_AFTER_RUIN})
    return relative


def compute_metrics(
    *,
    initial_cash: float,
    start_ns: int,
    ts: np.ndarray,
    equity: np.ndarray,
    gross_exposure: np.ndarray,
    trades: Sequence[TradeRecord],
    fees_paid: float,
    frames: Sequence[BarFrame] | None = None,
    fills: Sequence[Traded] | None = None,
    benchmark: tuple[IntArray, FloatArray] | None = None,
    risk_free_rate: float = 0.0,
    trials: int = 1,
    trials_sharpe_variance: float | None = None,
    open_trades: Sequence[TradeRecord] = (),
    fx_rates: Mapping[str, RateSeries] | None = None,
) -> dict[str, Any]:
    """Return the run's metrics as a JSON-ready dict (formulas: see the module docstring).

    Args:
        initial_cash: Account value before the first bar.
        start_ns: Time of the initial value (the first bar's open time), ns UTC.
        ts: Bar close times of the equity curve, int64 ns UTC.
        equity: Equity at each close time.
        gross_exposure: Σ |position value| at each close time.
        trades: Closed round trips, in closing order.
        fees_paid: Total fees of the run, in the account currency.
        frames: The run's bars; enables the buy-and-hold benchmark and MAE/MFE.
        fills: The run's fills; turnover uses their notional (else the trades').
        benchmark: ``(ts_ns, values)`` of any benchmark series; replaces buy-and-hold.
        risk_free_rate: Annual risk-free rate as a fraction (0.04 = 4%).
        trials: How many strategy variants were tried (for the deflated Sharpe ratio).
        trials_sharpe_variance: Variance of those variants' per-bar Sharpe ratios.
        open_trades: Positions still open at the end, marked to their last close
            (`engine.report.recorder.Recorder.marked_open_trades`).
        fx_rates: Per symbol quoted in a foreign currency, its rate into the account
            currency (`engine.portfolio.fx.FxRates.series`): the buy-and-hold benchmark
            is valued with them (`engine.report.series.benchmark_values`).
    """
    # A ruined account (equity ≤ 0) makes some ratios infinite or of the wrong sign (they
    # are None: UNDEFINED_AFTER_RUIN), and absurd data (a close of 1e300, or a x1e5 run
    # annualized) overflows: they become None, never warnings.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        metrics = _compute(
            initial_cash, start_ns, np.asarray(ts, dtype=np.int64),
            np.asarray(equity, dtype=np.float64), np.asarray(gross_exposure, dtype=np.float64),
            trades, fees_paid, frames, fills, benchmark, risk_free_rate, trials,
            trials_sharpe_variance, fx_rates,
        )  # fmt: skip
    metrics["open_positions"] = len(open_trades)
    metrics["unrealized_pnl"] = float(sum(t.unrealized_pnl for t in open_trades))
    return metrics


def _compute(
    initial_cash: float,
    start_ns: int,
    ts: IntArray,
    equity: FloatArray,
    gross_exposure: FloatArray,
    trades: Sequence[TradeRecord],
    fees_paid: float,
    frames: Sequence[BarFrame] | None,
    fills: Sequence[Traded] | None,
    benchmark: tuple[IntArray, FloatArray] | None,
    risk_free_rate: float,
    trials: int,
    trials_sharpe_variance: float | None,
    fx_rates: Mapping[str, RateSeries] | None,
) -> dict[str, Any]:
    values, times, returns, excess, years, periods, rf_period = _curve_returns(
        initial_cash, start_ns, ts, equity, risk_free_rate
    )
    ruined_at = first_non_positive(ts, equity)
    root = math.sqrt(periods) if periods == periods else math.nan
    final = float(values[-1])
    total_return = final / initial_cash - 1.0
    cagr = (final / initial_cash) ** (1.0 / years) - 1.0 if years > 0 and final > 0 else math.nan
    if returns.size > 1:
        std = float(np.std(excess, ddof=1))
        mean = float(np.mean(excess))
        downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
        # excess is returns shifted by a constant: the same spread (the same array at rf 0)
        spread = std if excess is returns else float(np.std(returns, ddof=1))
        volatility = spread * root
    else:
        std = mean = downside = volatility = math.nan
    underwater = drawdown(values)
    max_dd, dd_days, longest_days = drawdown_durations(times, values, underwater)
    ulcer = math.sqrt(float(np.mean(np.square(underwater, out=underwater))))
    del underwater  # one array fewer held while the rest is computed

    _, daily = period_returns(ts, equity, initial_cash, "D")
    _, monthly = period_returns(ts, equity, initial_cash, "M")
    low_tail = float(np.quantile(daily, 0.05)) if daily.size else math.nan
    high_tail = float(np.quantile(daily, 0.95)) if daily.size else math.nan
    losses = float(np.sum(np.maximum(-excess, 0.0)))
    worst = daily[daily <= low_tail]  # (none when low_tail is NaN: an account at 0)

    if fills is not None:
        traded = sum(f.quantity * f.price for f in fills)
    else:
        traded = sum(t.entry_value_account + _exit_value_account(t) for t in trades)
    psr, dsr = _sharpe_probability(mean, std, returns, trials, trials_sharpe_variance)
    mean_value, start, end = float(np.mean(values)), int(times[0]), int(times[-1])
    del values  # the benchmark's metrics below are this function's memory peak
    bench_values = (
        benchmark_values(times, frames, benchmark, fx_rates) if (frames or benchmark) else None
    )
    del times
    bench = _benchmark_returns(bench_values)
    del bench_values
    metrics: dict[str, Any] = {
        "initial_cash": initial_cash,
        "final_equity": final,
        "total_return": total_return,
        "cagr": _clean(cagr),
        "volatility": _clean(volatility),
        "sharpe": _clean(mean / std * root if std > 0 else math.nan),
        "sortino": _clean(mean / downside * root if downside > 0 else math.nan),
        "calmar": _clean(cagr / -max_dd if max_dd < 0 else math.nan),
        "omega": _clean(
            float(np.sum(np.maximum(excess, 0.0))) / losses if losses > 0 else math.nan
        ),
        "max_drawdown": max_dd,
        "max_drawdown_duration_days": dd_days,
        "longest_drawdown_duration_days": longest_days,
        "ulcer_index": ulcer,
        "var_95": _clean(low_tail),
        "cvar_95": _clean(float(np.mean(worst)) if worst.size else math.nan),
        "skew": _clean(sample_skew(daily)),
        "kurtosis": _clean(sample_kurtosis(daily)),
        "tail_ratio": _clean(_ratio(abs(high_tail), abs(low_tail))),
        "best_day": _clean(float(daily.max())) if daily.size else None,
        "worst_day": _clean(float(daily.min())) if daily.size else None,
        "best_month": _clean(float(monthly.max())) if monthly.size else None,
        "worst_month": _clean(float(monthly.min())) if monthly.size else None,
        "exposure": float(np.mean(gross_exposure > 0)) if gross_exposure.size else 0.0,
        "average_exposure": _clean(float(np.mean(gross_exposure / equity)))
        if gross_exposure.size
        else 0.0,
        "turnover": _clean(_ratio(traded / mean_value, years)),
        "fees_paid": fees_paid,
        **trade_statistics(trades, frames),
        **_benchmark_metrics(returns, excess, bench, rf_period, periods, years),
        "probabilistic_sharpe": _clean(psr),
        "deflated_sharpe": _clean(dsr),
        "risk_free_rate": risk_free_rate,
        "trials": trials,
        "bars": int(equity.size),
        "periods_per_year": _clean(periods),
        "start": start,
        "end": end,
        "equity_went_non_positive_at": ruined_at,
    }
    if ruined_at is not None:
        metrics.update(dict.fromkeys(UNDEFINED_AFTER_RUIN))
    return metrics


def first_non_positive(ts: np.ndarray, equity: np.ndarray) -> int | None:
    """Return the first close time (ns UTC) at which equity is ≤ 0, or None if never."""
    found = np.flatnonzero(np.asarray(equity) <= 0.0)
    return int(ts[found[0]]) if found.size else None


def _exit_value_account(trade: TradeRecord) -> float:
    """Return a trade's exit value in the account currency."""
    return trade.exit_value if trade.exit_proceeds is None else trade.exit_proceeds
