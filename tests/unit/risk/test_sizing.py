"""Sizers with hand-computed numbers, and `Context.size` / `order_target_signal` in a run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.errors import ConfigError, StrategyError
from engine.feeds import BarFrame
from engine.model import Bar, Instrument, OrderFilled, OrderSide
from engine.risk.config import SizerConfig
from engine.risk.sizing import (
    FixedFraction,
    FixedNotional,
    FixedQuantity,
    FractionalKelly,
    SizingInputs,
    VolatilityTarget,
    average_true_range,
    inverse_volatility_weights,
    kelly_fraction,
    size,
)

LOT = Instrument("X", lot_size=0.1)
INPUTS = SizingInputs(equity=10_000.0, price=250.0, atr=5.0)


def test_fixed_sizers_round_toward_zero_to_the_lot() -> None:
    assert size(FixedQuantity(3.37), INPUTS, 1.0, LOT) == pytest.approx(3.3)
    assert size(FixedQuantity(3.37), INPUTS, -0.5, LOT) == pytest.approx(-1.6)  # -1.685
    assert size(FixedNotional(1_000.0), INPUTS, 1.0, LOT) == pytest.approx(4.0)  # 1000 / 250
    assert size(FixedFraction(0.3), INPUTS, 1.0, LOT) == pytest.approx(12.0)  # 3000 / 250
    assert size(FixedFraction(0.3), INPUTS, 2.0, LOT) == pytest.approx(12.0)  # clipped to 1
    assert size(FixedFraction(0.3), INPUTS, 0.0, LOT) == 0.0
    assert size(FixedFraction(0.3), SizingInputs(10_000.0, math.nan), 1.0, LOT) == 0.0


def test_volatility_target_risks_a_fraction_at_k_atr() -> None:
    # risk 1% of 10,000 = 100 at a stop 2 x 5 = 10 away: 10 units (2,500 = 25% of equity)
    assert size(VolatilityTarget(0.01, 2.0), INPUTS, 1.0, LOT) == pytest.approx(10.0)
    # a quiet market (ATR 0.5) would ask for 100 units = 25,000: capped at 50% = 20 units
    quiet = SizingInputs(10_000.0, 250.0, 0.5)
    assert size(VolatilityTarget(0.01, 2.0, max_fraction=0.5), quiet, 1.0, LOT) == 20.0
    assert size(VolatilityTarget(0.01), SizingInputs(10_000.0, 250.0), 1.0, LOT) == 0.0


def test_average_true_range_is_the_mean_of_the_last_true_ranges() -> None:
    high = np.array([10.0, 12.0, 11.0, 15.0])
    low = np.array([9.0, 10.0, 8.0, 12.0])
    close = np.array([9.5, 11.0, 9.0, 14.0])
    # TRs of the last 2 bars: max(11, 11) - min(8, 11) = 3; max(15, 9) - min(12, 9) = 6
    assert average_true_range(high, low, close, 2) == 4.5
    assert math.isnan(average_true_range(high, low, close, 4))


def test_kelly_fraction_from_win_rate_and_payoff() -> None:
    # W = 0.6, average win 20, average loss 10 -> R = 2: 0.6 - 0.4 / 2 = 0.4
    pnls = [20.0, 30.0, 10.0, -5.0, -15.0]
    assert kelly_fraction(pnls) == pytest.approx(0.4)
    assert kelly_fraction([1.0, 2.0]) == 1.0
    assert kelly_fraction([-1.0]) == -math.inf
    assert kelly_fraction([]) == 0.0


def fill(side: OrderSide, price: float) -> OrderFilled:
    return OrderFilled("o", "S1", "f", "X", side, 1.0, price, 0.0, "taker", 0.0, 0, 0)


def test_fractional_kelly_uses_closed_trades_and_a_fallback() -> None:
    kelly = FractionalKelly(fraction=0.5, window=5, min_trades=5, fallback_fraction=0.1)
    assert kelly.needs_fills
    assert size(kelly, INPUTS, 1.0, LOT) == pytest.approx(4.0)  # fallback: 1,000 / 250
    for exit_price in (120.0, 130.0, 110.0, 95.0, 85.0):  # +20 +30 +10 -5 -15 per unit
        kelly.on_order_filled(fill(OrderSide.BUY, 100.0))
        kelly.on_order_filled(fill(OrderSide.SELL, exit_price))
    assert kelly.equity_fraction() == pytest.approx(0.2)  # half of Kelly 0.4
    assert size(kelly, INPUTS, 1.0, LOT) == pytest.approx(8.0)  # 2,000 / 250
    for _ in range(5):  # the window now holds five losers: Kelly < 0 -> nothing
        kelly.on_order_filled(fill(OrderSide.BUY, 100.0))
        kelly.on_order_filled(fill(OrderSide.SELL, 90.0))
    assert size(kelly, INPUTS, 1.0, LOT) == 0.0


def test_inverse_volatility_weights() -> None:
    weights = inverse_volatility_weights({"A": 0.1, "B": 0.2, "C": 0.4, "D": math.nan})
    # 1/0.1 : 1/0.2 : 1/0.4 = 10 : 5 : 2.5 of 17.5
    assert weights == pytest.approx({"A": 10 / 17.5, "B": 5 / 17.5, "C": 2.5 / 17.5, "D": 0.0})


def test_sizer_config_builds_each_kind_and_validates() -> None:
    kinds = {
        "fixed_quantity": FixedQuantity,
        "fixed_notional": FixedNotional,
        "fixed_fraction": FixedFraction,
        "volatility_target": VolatilityTarget,
        "fractional_kelly": FractionalKelly,
    }
    for kind, cls in kinds.items():
        assert isinstance(SizerConfig(kind=kind).build(), cls)  # type: ignore[arg-type]
    base = {"data": [{"path": "x", "symbol": "X"}], "strategy": {"path": "s"}}
    with pytest.raises(ConfigError, match="did you mean 'fraction'"):
        parse_config({**base, "risk": {"sizer": {"fracton": 0.5}}})
    with pytest.raises(ConfigError, match=r"sizer\.risk_fraction must be > 0"):
        parse_config({**base, "risk": {"sizer": {"risk_fraction": 0.0}}})


DAY = 86_400 * 10**9


class Signals(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[float] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.sizes.append(ctx.size("X", 0.5))
        ctx.order_target_signal("X", 1.0 if len(self.sizes) == 2 else 0.0)


def test_context_sizes_with_the_configured_sizer_and_orders_the_target() -> None:
    n = 4
    close = np.array([100.0, 200.0, 200.0, 200.0])
    frame = BarFrame("X", DAY, np.arange(n) * DAY, close, close, close, close, np.full(n, 1e9))
    config = parse_config(
        {
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "signals"},
            "execution": {"fee_rate": 0.0},
            "risk": {"sizer": {"kind": "fixed_notional", "notional": 2_050.0}},
        }
    )
    strategy = Signals()
    result = run_backtest(config, frames=[frame], strategy=strategy)
    # half of 2,050 / 100 = 10.25 -> 10; then half of 2,050 / 200 = 5.125 -> 5
    assert strategy.sizes == [10.0, 5.0, 5.0, 5.0]
    fills = [(f.side, f.quantity) for f in result.recorder.fills]
    assert fills == [(OrderSide.BUY, 10.0), (OrderSide.SELL, 10.0)]  # 2,050 / 200 = 10


def test_size_without_a_sizer_is_a_strategy_error() -> None:
    frame = BarFrame("X", DAY, np.arange(2) * DAY, *[np.full(2, 100.0)] * 4, np.full(2, 1.0))
    config = parse_config({"data": [{"path": "<m>", "symbol": "X"}], "strategy": {"path": "s"}})
    with pytest.raises(StrategyError, match=r"no sizer; add a \[risk.sizer\] section"):
        run_backtest(config, frames=[frame], strategy=Signals())
