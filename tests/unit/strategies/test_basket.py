"""Basket statistical arbitrage: the fit on constructed series, and its decisions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.testing import fills_of, make_bars, run_strategy
from strategies.basket import BASKET_CRITICAL_VALUES, BasketTrading, basket_fit


def test_basket_fit_recovers_the_weights_and_admits_a_cointegrated_basket() -> None:
    rng = np.random.default_rng(21)
    log_xs = np.log(100) + rng.normal(0, 0.01, (720, 2)).cumsum(axis=0)
    noise = np.zeros(720)
    for t in range(1, 720):  # AR(1), φ = 0.5: stationary
        noise[t] = 0.5 * noise[t - 1] + rng.normal(0, 0.003)
    log_y = 0.1 + 0.5 * log_xs[:, 0] + 0.3 * log_xs[:, 1] + noise
    fit = basket_fit(log_y, log_xs, lags=1)
    # the normal equations, solved independently
    design = np.column_stack([np.ones(720), log_xs])
    coef = np.linalg.solve(design.T @ design, design.T @ log_y)
    assert (fit.alpha, *fit.betas) == pytest.approx(tuple(coef))
    assert fit.betas == pytest.approx((0.5, 0.3), abs=0.05)
    assert fit.tstat < BASKET_CRITICAL_VALUES[0.01]
    rejected = 0
    for seed in range(20):
        walks = np.random.default_rng(200 + seed).normal(0, 0.01, (720, 3)).cumsum(axis=0)
        fit = basket_fit(walks[:, 0], walks[:, 1:], lags=1)
        rejected += fit.tstat >= BASKET_CRITICAL_VALUES[0.05]
    assert rejected >= 17  # a 5% test: about 1 in 20 independent baskets passes by chance


def _basket() -> dict[str, pd.DataFrame]:
    """y = 0.5 log x1 + 0.5 log x2 + 0.002 sin(t), with a spike of 0.03 at bar 40."""
    rng = np.random.default_rng(12)
    log_xs = np.log([50.0, 30.0]) + rng.normal(0, 0.01, (45, 2)).cumsum(axis=0)
    log_y = np.log(20.0) + 0.5 * log_xs[:, 0] + 0.5 * log_xs[:, 1] + 0.002 * np.sin(np.arange(45))
    log_y[40] += 0.03
    return {
        "Y": make_bars(np.exp(log_y), freq="1h"),
        "X1": make_bars(np.exp(log_xs[:, 0]), freq="1h"),
        "X2": make_bars(np.exp(log_xs[:, 1]), freq="1h"),
    }


PARAMS = {"window": 30, "refit_every": 1, "stop_z": 0.0, "significance": 0.10}


def test_a_spike_sells_y_and_buys_the_hedge_basket_then_closes_every_leg() -> None:
    data = _basket()
    logs = {s: np.log(frame["close"].to_numpy()) for s, frame in data.items()}
    # the fit over bars 10..39 (the window before bar 40), solved independently
    design = np.column_stack([np.ones(30), logs["X1"][10:40], logs["X2"][10:40]])
    coef = np.linalg.lstsq(design, logs["Y"][10:40], rcond=None)[0]
    spread = logs["Y"][10:40] - design @ coef
    z40 = (logs["Y"][40] - coef[0] - coef[1] * logs["X1"][40] - coef[2] * logs["X2"][40]) / (
        spread.std()
    )
    assert z40 > 2.0
    result = run_strategy(BasketTrading, data, params=PARAMS, lot_size=0.0001)
    index = data["Y"].index
    y_value = 10_000 / (1 + abs(coef[1]) + abs(coef[2]))
    closes = {s: frame["close"].iloc[40] for s, frame in data.items()}
    lots = {
        "Y": y_value / closes["Y"],
        "X1": coef[1] * y_value / closes["X1"],
        "X2": coef[2] * y_value / closes["X2"],
    }
    expected_qty = {s: round(math.floor(q / 0.0001) * 0.0001, 8) for s, q in lots.items()}
    got = [(f.time, f.symbol, f.side, round(f.quantity, 8)) for f in fills_of(result)]
    # z > 0: sell the spread (y sold, both hedges bought: β > 0); every leg closed at bar 42
    assert got == [
        (index[41], "Y", "sell", expected_qty["Y"]),
        (index[41], "X1", "buy", expected_qty["X1"]),
        (index[41], "X2", "buy", expected_qty["X2"]),
        (index[42], "Y", "buy", expected_qty["Y"]),
        (index[42], "X1", "sell", expected_qty["X1"]),
        (index[42], "X2", "sell", expected_qty["X2"]),
    ]


def test_bad_params_and_symbol_count() -> None:
    with pytest.raises(ConfigError, match="significance"):
        run_strategy(BasketTrading, _basket(), params={"significance": 0.2})
    with pytest.raises(ConfigError, match="window"):
        run_strategy(BasketTrading, _basket(), params={"window": 10})
    data = _basket()
    del data["X2"]
    with pytest.raises(ConfigError, match="exactly three symbols"):
        run_strategy(BasketTrading, data)
