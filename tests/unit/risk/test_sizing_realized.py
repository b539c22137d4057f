"""Volatility targeting on realized volatility, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.risk.config import SizerConfig
from engine.risk.sizing import SizingInputs, VolatilityTarget, realized_volatility


def test_realized_volatility_is_the_std_of_close_changes() -> None:
    close = np.array([100.0, 101.0, 99.0, 102.0, 102.0])
    # last 3 changes: -2, +3, 0 -> mean 1/3, sample variance ((7/3)^2+(8/3)^2+(1/3)^2)/2 = 19/3
    assert realized_volatility(close, 3) == pytest.approx(math.sqrt(19 / 3))
    assert math.isnan(realized_volatility(close, 4 + 1))
    assert math.isnan(realized_volatility(close, 1))


def test_config_builds_a_realized_volatility_target() -> None:
    sizer = SizerConfig(kind="volatility_target", volatility="realized", atr_period=3).build()
    assert isinstance(sizer, VolatilityTarget)
    assert sizer.measure == "realized"
    # equity 10,000 risking 1% at 2 sigma of 2.5 -> 100 / 5 = 20 units (cap 100 at price 100)
    assert sizer.quantity(SizingInputs(10_000.0, 100.0, 2.5)) == pytest.approx(20.0)


def test_context_sizes_on_realized_volatility() -> None:
    from engine import Context, Strategy, parse_config, run_backtest
    from engine.model import Bar

    class Sizes(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.sizes: list[float] = []

        def on_bar(self, ctx: Context, bar: Bar) -> None:
            self.sizes.append(ctx.size(bar.symbol, 1.0))

    config = parse_config(
        {
            "data": [{"path": "data/GOOG.csv", "symbol": "GOOG"}],
            "instruments": [{"symbol": "GOOG", "lot_size": 1.0}],
            "strategy": {"path": "sizes"},
            "risk": {
                "sizer": {"kind": "volatility_target", "volatility": "realized", "atr_period": 20}
            },
        }
    )
    strategy = Sizes()
    result = run_backtest(config, strategy=strategy)
    close = result.frames[0].close
    t = 100  # at bar t the sizer sees closes 0..t
    sigma = float(np.std(np.diff(close[t - 20 : t + 1]), ddof=1))
    wanted = min(10_000 * 0.01 / (2.0 * sigma), 10_000 * 1.0 / close[t])
    assert strategy.sizes[t] == math.floor(wanted)
    assert strategy.sizes[5] == 0.0  # too few closes yet
