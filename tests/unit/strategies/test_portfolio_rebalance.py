"""PortfolioRebalance's rules on hand-computed bars: weights, sells first, stale symbols."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.testing import fills_of, make_bars, run_strategy
from strategies.portfolio import PortfolioRebalance

PARAMS = {"method": "equal_weight", "window": 2, "rebalance_every": "1d"}


def test_equal_weight_buys_half_each_once_the_window_is_full() -> None:
    flat = make_bars([100.0] * 4)
    result = run_strategy(PortfolioRebalance, {"F": flat, "C": flat}, params=PARAMS)
    # bar 2 is the first with 3 closes (2 returns): 5,000 each at 100 = 50 units, filled at
    # bar 3's open; bar 3 (a new day) finds the weights on target: no trade
    fills = [(f.time, f.side, f.quantity, f.price, f.symbol) for f in fills_of(result)]
    assert fills == [
        (flat.index[3], "buy", 50.0, 100.0, "F"),
        (flat.index[3], "buy", 50.0, 100.0, "C"),
    ]


def test_a_symbol_without_a_fresh_bar_is_not_traded() -> None:
    clock = make_bars([100.0] * 4)
    closed = clock.drop(clock.index[2])  # F has no bar closing at the decision time
    result = run_strategy(PortfolioRebalance, {"F": closed, "C": clock}, params=PARAMS)
    first = [(f.time, f.side, f.quantity, f.symbol) for f in fills_of(result)][:1]
    # F is stale at bar 2: its weight goes to C, the whole budget (10,000 / 100 = 100)
    assert first == [(clock.index[3], "buy", 100.0, "C")]
    assert all(not (f.symbol == "F" and f.time <= clock.index[3]) for f in fills_of(result))


def test_sells_go_before_buys() -> None:
    # day 1 equal weight at 100; then F doubles: F is sold down on the next decision and
    # C bought one bar later, with the cash of the sale
    f = make_bars([100.0, 100.0, 100.0, 100.0, 200.0, 200.0, 200.0])
    c = make_bars([100.0] * 7)
    result = run_strategy(PortfolioRebalance, {"F": f, "C": c}, params=PARAMS)
    trades = [(f_.time, f_.side, f_.symbol) for f_ in fills_of(result)]
    assert trades[2:] == [(f.index[5], "sell", "F"), (f.index[6], "buy", "C")]


def test_bad_params_fail_in_one_line() -> None:
    bars = make_bars([100.0] * 3)
    with pytest.raises(ConfigError, match="method must be one of"):
        run_strategy(PortfolioRebalance, bars, params={"method": "magic"})
    with pytest.raises(ConfigError, match="min_weight <= max_weight"):
        run_strategy(PortfolioRebalance, bars, params={"min_weight": 0.6, "max_weight": 0.5})


def test_weight_bounds_no_allocation_can_meet_are_a_config_error() -> None:
    """Found by an audit: exit 3, "PortfolioRebalance.on_start raised … ValueError" (the
    code at fault) for bounds the config set."""
    data = {s: make_bars([100.0] * 3) for s in ("A", "B", "C")}
    with pytest.raises(ConfigError, match=r"3 assets with weights in \[0.0, 0.2\] cannot"):
        run_strategy(PortfolioRebalance, data, params={"max_weight": 0.2})
    with pytest.raises(ConfigError, match="min_weight/max_weight"):
        run_strategy(PortfolioRebalance, data, params={"min_weight": 0.5})


def test_a_foreign_quoted_symbol_is_sized_in_the_account_currency(tmp_path: Path) -> None:
    # EUR account; "E" is quoted in USD, 0.5 EUR per USD (rate file closes 2.0, inverted):
    # 5,000 EUR of E at 100 USD is 5,000 / (100 * 0.5) = 100 units, of C (EUR) 50 units
    flat = make_bars([100.0] * 4)
    rate = tmp_path / "usd.csv"
    make_bars([2.0] * 4).to_csv(rate)
    result = run_strategy(
        PortfolioRebalance,
        {"E": flat, "C": flat},
        params=PARAMS,
        config={
            "account": {"initial_cash": 10_000.0, "currency": "EUR"},
            "instruments": [
                {"symbol": "E", "lot_size": 1.0, "quote_currency": "USD"},
                {"symbol": "C", "lot_size": 1.0},
            ],
            "fx": [{"currency": "USD", "path": str(rate), "invert": True}],
        },
    )
    fills = [(f.time, f.side, f.quantity, f.symbol) for f in fills_of(result)]
    assert fills == [(flat.index[3], "buy", 100.0, "E"), (flat.index[3], "buy", 50.0, "C")]
