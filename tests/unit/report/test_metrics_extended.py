"""Extended metrics: hand-computed small cases, and independent formulas on real data.

The real-data checks re-derive every number with pandas / plain Python written here,
never by calling `compute_metrics`' helpers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import load_config
from engine.feeds import BarFrame
from engine.report.metrics import compute_metrics
from engine.report.recorder import TradeRecord
from engine.report.trade_stats import longest_streak, trade_excursions, trade_statistics
from engine.runtime import run_backtest

REPO = Path(__file__).resolve().parents[3]
DAY = 86_400 * 10**9
T0 = 1_600_000_000 // 86_400 * 86_400 * 10**9  # a UTC midnight


def _trade(pnl: float, entry_ts: int = T0, exit_ts: int = T0 + DAY) -> TradeRecord:
    return TradeRecord(
        "X", "long", entry_ts, entry_quantity=1.0, entry_value=100.0,
        exit_quantity=1.0, exit_value=100.0 + pnl, fees=0.0, exit_ts=exit_ts,
    )  # fmt: skip


def _metrics(equity: list[float], **kwargs: object) -> dict[str, object]:
    ts = np.array([T0 + (k + 1) * DAY for k in range(len(equity))], dtype=np.int64)
    values = np.array(equity, dtype=np.float64)
    defaults: dict[str, object] = {
        "initial_cash": 100.0, "start_ns": T0, "ts": ts, "equity": values,
        "gross_exposure": np.where(np.arange(values.size) % 2 == 0, 50.0, 0.0),
        "trades": [], "fees_paid": 0.0,
    }  # fmt: skip
    defaults.update(kwargs)
    return compute_metrics(**defaults)  # type: ignore[arg-type]


def test_hand_computed_return_metrics() -> None:
    # returns +10%, -10%, +10%, +10%: mean 0.05, std (ddof 1) 0.1, one day per bar
    m = _metrics([110.0, 99.0, 108.9, 119.79])
    root = math.sqrt(365.25)  # 4 returns over 4 days
    assert m["total_return"] == pytest.approx(0.1979)
    assert m["volatility"] == pytest.approx(0.1 * root)
    assert m["sharpe"] == pytest.approx(0.5 * root)
    assert m["sortino"] == pytest.approx(0.05 / 0.05 * root)  # downside √(0.01/4) = 0.05
    assert m["omega"] == pytest.approx(3.0)  # gains 0.3 over losses 0.1
    assert m["max_drawdown"] == pytest.approx(-0.1)
    assert m["ulcer_index"] == pytest.approx(math.sqrt((0.1**2 + 0.01**2) / 5))
    assert m["calmar"] == pytest.approx(((1.1979) ** (365.25 / 4) - 1) / 0.1)
    assert m["best_day"] == pytest.approx(0.1)
    assert m["worst_day"] == pytest.approx(-0.1)
    assert m["var_95"] == pytest.approx(-0.07)  # -0.1 + 0.15 · 0.2 (linear interpolation)
    assert m["cvar_95"] == pytest.approx(-0.1)
    assert m["tail_ratio"] == pytest.approx(0.1 / 0.07)
    assert m["skew"] == pytest.approx(-2.0)  # z = .5, -1.5, .5, .5: 4/(3·2) · (-3)
    assert m["kurtosis"] == pytest.approx(4.0)  # 20/6 · 5.25 − 3 · 9 / 2
    assert m["exposure"] == pytest.approx(0.5)
    assert m["best_month"] == pytest.approx(0.1979)


def test_risk_free_rate_lowers_sharpe_by_the_per_bar_rate() -> None:
    m = _metrics([110.0, 99.0, 108.9, 119.79], risk_free_rate=0.05)
    rf = 1.05 ** (1 / 365.25) - 1
    assert m["sharpe"] == pytest.approx((0.05 - rf) / 0.1 * math.sqrt(365.25))
    assert m["risk_free_rate"] == 0.05


def test_flat_curve_has_no_nan_only_none() -> None:
    m = _metrics([100.0] * 5)
    for key in ("sharpe", "sortino", "calmar", "omega", "skew", "kurtosis", "probabilistic_sharpe"):
        assert m[key] is None, key
    assert m["max_drawdown"] == 0.0
    assert m["win_rate"] is None
    assert m["num_trades"] == 0
    assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in m.values())


def test_hand_computed_trade_statistics() -> None:
    trades = [_trade(10.0), _trade(-5.0), _trade(-5.0, exit_ts=T0 + 3 * DAY), _trade(20.0)]
    stats = trade_statistics(trades)
    assert stats["win_rate"] == 0.5
    assert stats["average_win"] == 15.0
    assert stats["average_loss"] == -5.0
    assert stats["payoff_ratio"] == 3.0
    assert stats["profit_factor"] == 3.0
    assert stats["expectancy"] == 5.0
    assert stats["expectancy_pct"] == pytest.approx(0.05)
    assert stats["average_holding_days"] == pytest.approx(1.5)
    assert stats["max_holding_days"] == 3.0
    assert (stats["max_win_streak"], stats["max_loss_streak"]) == (1, 2)
    assert longest_streak([True, True, False, True, True, True]) == 3


def test_all_losing_trades() -> None:
    stats = trade_statistics([_trade(-1.0), _trade(-2.0)])
    assert stats["win_rate"] == 0.0
    assert stats["average_win"] is None
    assert stats["payoff_ratio"] is None
    assert stats["profit_factor"] == 0.0
    assert stats["max_loss_streak"] == 2


def test_excursions_of_a_long_and_a_short_trade() -> None:
    hour = 3_600 * 10**9
    frame = BarFrame(
        "X", hour, np.arange(5, dtype=np.int64) * hour + T0,
        open=np.array([100.0, 100, 104, 96, 100]), high=np.array([101.0, 106, 105, 99, 130]),
        low=np.array([99.0, 98, 95, 94, 60]), close=np.array([100.0, 104, 96, 99, 100]),
        volume=np.ones(5),
    )  # fmt: skip
    # entry at bar 1's open, exit at bar 3's open: bars 1 and 2 are held through
    long = TradeRecord("X", "long", T0 + hour, 1.0, 100.0, 1.0, 96.0, 0.0, T0 + 3 * hour)
    short = TradeRecord("X", "short", T0 + hour, 1.0, 100.0, 1.0, 96.0, 0.0, T0 + 3 * hour)
    (long_mae, long_mfe), (short_mae, short_mfe) = trade_excursions([long, short], [frame])
    assert long_mae == pytest.approx(-0.05)
    assert long_mfe == pytest.approx(0.06)
    assert short_mae == pytest.approx(-0.06)
    assert short_mfe == pytest.approx(0.05)


def _excursion_of(trade: TradeRecord, frame: BarFrame) -> tuple[float, float]:
    """The module docstring's definition, one trade at a time."""
    entry = trade.entry_value / trade.entry_quantity if trade.entry_quantity else 0.0
    prices = [entry]
    if trade.exit_quantity:
        prices.append(trade.exit_value / trade.exit_quantity)
    end = trade.exit_ts or int(frame.ts_close_ns[-1]) + 1
    held = (frame.ts_close_ns > trade.entry_ts) & (frame.ts_open_ns < end)
    low = min([*prices, *frame.low[held].tolist()])
    high = max([*prices, *frame.high[held].tolist()])
    if entry <= 0:
        return (0.0, 0.0)
    if trade.side == "long":
        return (low / entry - 1.0, high / entry - 1.0)
    return (1.0 - high / entry, 1.0 - low / entry)


def test_excursions_of_many_trades_are_each_trades_own() -> None:
    """Gathered at once, each trade's pair is the one its own bars give, bit for bit."""
    rng = np.random.default_rng(4)
    minute = 60 * 10**9
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2_000)))
    frame = BarFrame(
        "X", minute, np.arange(2_000, dtype=np.int64) * minute + T0,
        open=close, high=close * 1.01, low=close * 0.99, close=close, volume=np.ones(2_000),
    )  # fmt: skip
    trades = []
    for i in range(300):
        start = int(rng.integers(0, 1_900))
        quantity = float(rng.uniform(0.5, 5))
        trade = TradeRecord(
            "X" if i % 9 else "Y",  # Y has no bars: its entry and exit prices only
            "long" if i % 2 else "short",
            T0 + start * minute + int(rng.integers(0, minute)),
            quantity,
            quantity * float(rng.uniform(50, 150)) if i % 13 else 0.0,  # 0: no entry price
            quantity if i % 7 else 0.0,  # some never exited
            quantity * float(rng.uniform(50, 150)),
            0.0,
            0 if i % 17 == 0 else T0 + (start + int(rng.integers(0, 90))) * minute,
        )
        trades.append(trade)
    got = trade_excursions(trades, [frame])
    expected = [_excursion_of(t, frame) if t.symbol == "X" else None for t in trades]
    for i, (trade, pair) in enumerate(zip(trades, got, strict=True)):
        if trade.symbol == "X":
            assert pair == expected[i], i
    assert trade_excursions([], [frame]) == []


def _psr(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    n = returns.size
    sr = returns.mean() / returns.std(ddof=1)
    m = returns - returns.mean()
    skew = (m**3).mean() / (m**2).mean() ** 1.5
    kurt = (m**4).mean() / (m**2).mean() ** 2
    z = (sr - benchmark_sr) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@pytest.fixture(scope="module")
def btc_run():  # type: ignore[no-untyped-def]
    return run_backtest(load_config(REPO / "configs" / "sma_cross_btc.toml"))


def test_real_data_against_independent_pandas_formulas(btc_run) -> None:  # type: ignore[no-untyped-def]
    result = btc_run
    frame = result.frames[0]
    start = int(frame.ts_open_ns[0])
    m = compute_metrics(
        initial_cash=result.config.account.initial_cash, start_ns=start,
        ts=result.equity_curve.ts, equity=result.equity_curve.equity,
        gross_exposure=result.equity_curve.gross_exposure, trades=result.recorder.trades,
        fees_paid=result.portfolio.fees_paid, frames=result.frames,
        fills=result.recorder.fills, trials=10,
    )  # fmt: skip
    cash = result.config.account.initial_cash
    times = pd.to_datetime(np.concatenate(([start], result.equity_curve.ts)), utc=True)
    equity = pd.Series(np.concatenate(([cash], result.equity_curve.equity)), index=times)
    r = equity.pct_change().dropna()
    years = (times[-1] - times[0]).total_seconds() / (365.25 * 86_400)
    per_year = len(r) / years
    assert m["sharpe"] == pytest.approx(r.mean() / r.std() * math.sqrt(per_year), rel=1e-9)
    assert m["volatility"] == pytest.approx(r.std() * math.sqrt(per_year), rel=1e-9)
    downside = math.sqrt((r.clip(upper=0) ** 2).mean())
    assert m["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(per_year), rel=1e-9)
    assert m["omega"] == pytest.approx(r[r > 0].sum() / -r[r < 0].sum(), rel=1e-9)
    drawdown = equity / equity.cummax() - 1
    assert m["ulcer_index"] == pytest.approx(math.sqrt((drawdown**2).mean()), rel=1e-9)
    cagr = (equity.iloc[-1] / cash) ** (1 / years) - 1
    assert m["calmar"] == pytest.approx(cagr / -drawdown.min(), rel=1e-9)
    # daily: last equity of each UTC day (a bar closing at midnight belongs to the day before)
    shifted = equity.iloc[1:].copy()
    shifted.index = shifted.index - pd.Timedelta(1, "ns")
    day_end = shifted.groupby(shifted.index.floor("D")).last()
    daily = day_end / pd.concat([pd.Series([cash]), day_end.iloc[:-1]]).to_numpy() - 1
    assert m["skew"] == pytest.approx(daily.skew(), rel=1e-9)
    assert m["kurtosis"] == pytest.approx(daily.kurt(), rel=1e-9)
    assert m["best_day"] == pytest.approx(daily.max(), rel=1e-12)
    assert m["worst_day"] == pytest.approx(daily.min(), rel=1e-12)
    assert m["var_95"] == pytest.approx(daily.quantile(0.05), rel=1e-12)
    assert m["cvar_95"] == pytest.approx(daily[daily <= daily.quantile(0.05)].mean(), rel=1e-12)
    monthly_end = shifted.groupby(shifted.index.strftime("%Y-%m")).last()
    monthly = monthly_end / pd.concat([pd.Series([cash]), monthly_end.iloc[:-1]]).to_numpy() - 1
    assert m["best_month"] == pytest.approx(monthly.max(), rel=1e-12)
    assert m["worst_month"] == pytest.approx(monthly.min(), rel=1e-12)
    # buy and hold of BTC from the first open, marked at closes
    closes = pd.Series(frame.close, index=pd.to_datetime(frame.ts_close_ns, utc=True))
    bench = pd.concat([pd.Series([frame.open[0]], index=[times[0]]), closes])
    b = bench.pct_change().dropna().to_numpy()
    rv = r.to_numpy()
    beta = np.cov(rv, b)[0, 1] / np.var(b, ddof=1)
    assert m["beta"] == pytest.approx(beta, rel=1e-9)
    assert m["alpha"] == pytest.approx((rv.mean() - beta * b.mean()) * per_year, rel=1e-9)
    assert m["correlation"] == pytest.approx(pd.Series(rv).corr(pd.Series(b)), rel=1e-9)
    active = rv - b
    info = active.mean() / active.std(ddof=1) * math.sqrt(per_year)
    assert m["information_ratio"] == pytest.approx(info, rel=1e-9)
    assert m["benchmark_total_return"] == pytest.approx(frame.close[-1] / frame.open[0] - 1)
    assert m["probabilistic_sharpe"] == pytest.approx(_psr(rv), rel=1e-9)
    # deflated: SR* from 10 trials with the estimator's own variance
    sr = rv.mean() / rv.std(ddof=1)
    c = rv - rv.mean()
    g3, g4 = (c**3).mean() / (c**2).mean() ** 1.5, (c**4).mean() / (c**2).mean() ** 2
    variance = (1 - g3 * sr + (g4 - 1) / 4 * sr**2) / (len(rv) - 1)
    from statistics import NormalDist

    inv = NormalDist().inv_cdf
    gamma = 0.5772156649015329
    sr_star = math.sqrt(variance) * (
        (1 - gamma) * inv(1 - 1 / 10) + gamma * inv(1 - 1 / (10 * math.e))
    )
    assert m["deflated_sharpe"] == pytest.approx(_psr(rv, sr_star), rel=1e-9)
    assert m["deflated_sharpe"] < m["probabilistic_sharpe"]
    # trades: independent loop
    pnl = [t.exit_value - t.entry_price * t.exit_quantity - t.fees for t in result.recorder.trades]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p <= 0]
    assert m["average_win"] == pytest.approx(sum(wins) / len(wins))
    assert m["payoff_ratio"] == pytest.approx(
        (sum(wins) / len(wins)) / -(sum(losses) / len(losses))
    )
    notional = sum(f.quantity * f.price for f in result.recorder.fills)
    assert m["turnover"] == pytest.approx(notional / equity.mean() / years, rel=1e-9)


def test_old_keyword_call_keeps_issue_two_values(btc_run) -> None:  # type: ignore[no-untyped-def]
    result = btc_run
    # 1.0344817267776376 before issue 10 put slipped fills on the tick grid, within the bar
    assert result.metrics["sharpe"] == pytest.approx(1.0347057861627287, rel=1e-12)
    assert result.metrics["num_trades"] == len(result.recorder.trades)


def test_custom_benchmark_series() -> None:
    ts = np.array([T0 + k * DAY for k in range(6)], dtype=np.int64)
    bench = (ts, np.array([50.0, 55.0, 49.5, 54.45, 59.895, 70.0]))
    m = _metrics([110.0, 99.0, 108.9, 119.79], benchmark=bench)
    assert m["beta"] == pytest.approx(1.0)
    assert m["correlation"] == pytest.approx(1.0)
    assert m["alpha"] == pytest.approx(0.0, abs=1e-9)
    assert m["benchmark_total_return"] == pytest.approx(0.1979)


def test_a_growth_too_large_to_annualize_gives_no_cagr_and_no_warning() -> None:
    # x 1e5 in 4 days: annualized, 1e5 ** 91.3 overflows a float. The figures that need it
    # are unknown (None), not an exception (exit 70) or a numpy warning on stderr.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = _metrics([1e3, 1e5, 1e6, 1e7])
    assert m["total_return"] == pytest.approx(1e5 - 1)
    assert m["cagr"] is None
    assert m["calmar"] is None


def test_a_benchmark_whose_moments_overflow_gives_no_beta_not_zero() -> None:
    # A bar closing at 1e300 makes the benchmark's variance infinite: beta and correlation
    # are unknown (None); 0.0 (covariance / inf) would read as "uncorrelated".
    import warnings

    closes = np.array([100.0, 1e300, 107.0, 111.0, 114.0])
    frame = BarFrame("X", DAY, T0 + np.arange(5) * DAY, closes, closes, closes, closes, closes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = _metrics([101.0, 99.0, 102.0, 104.0, 103.0], frames=[frame])
    assert m["beta"] is None
    assert m["correlation"] is None
