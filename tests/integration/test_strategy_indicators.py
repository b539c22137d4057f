"""Indicators declared from a strategy equal TA-Lib, in a backtest and on the live path.

Covers the input mapping of `Context.indicator`: single-series functions read ``source``,
OHLCV functions their columns, two-series functions ``real0``/``real1`` (default high and
low, as TA-Lib's abstract API), MAVP its ``periods`` column; multi-output functions
expose every output.
"""

from __future__ import annotations

import numpy as np
import pytest
import talib

from engine import Context, IndicatorError, Strategy, parse_config, run_backtest
from engine.model import Bar
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.node import TradingNode
from tests.integration.conftest import REPO


class Declares(Strategy):
    def on_start(self, ctx: Context) -> None:
        symbol = ctx.symbols[0]
        self.sma = ctx.indicator("sma", symbol, source="open", timeperiod=7)
        self.atr = ctx.indicator("ATR", symbol)
        self.correl = ctx.indicator("correl", symbol, timeperiod=20)
        self.beta = ctx.indicator("beta", symbol, inputs={"real0": "close", "real1": "open"})
        self.mavp = ctx.indicator(
            "mavp", symbol, inputs={"periods": "volume"}, minperiod=2, maxperiod=30
        )
        self.macd = ctx.indicator("macd", symbol)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        assert len(self.sma) == len(ctx.history(bar.symbol, 5_000))


def config():  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "data": [{"path": str(REPO / "data" / "GOOG.csv"), "symbol": "GOOG"}],
            "strategy": {"path": "declares"},
        }
    )


def expected(frame) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    periods = np.clip(frame.volume, 2, 30)
    return {
        "sma": talib.SMA(frame.open, 7),
        "atr": talib.ATR(frame.high, frame.low, frame.close),
        "correl": talib.CORREL(frame.high, frame.low, 20),
        "beta": talib.BETA(frame.close, frame.open),
        "mavp": talib.MAVP(frame.close, periods, minperiod=2, maxperiod=30),
        "macdsignal": talib.MACD(frame.close)[1],
    }


def values(strategy: Declares) -> dict[str, np.ndarray]:
    return {
        "sma": np.array(strategy.sma),
        "atr": np.array(strategy.atr),
        "correl": np.array(strategy.correl),
        "beta": np.array(strategy.beta),
        "mavp": np.array(strategy.mavp),
        "macdsignal": np.array(strategy.macd.output("macdsignal")),
    }


def test_declared_indicators_equal_talib_in_backtest_and_on_the_live_path() -> None:
    run_config = config()
    frames = load_frames(run_config)
    want = expected(frames[0])
    backtest = Declares()
    run_backtest(run_config, frames=frames, strategy=backtest)
    live = Declares()
    TradingNode(run_config, strategy=live).run(iter_bars(frames))  # type: ignore[arg-type]
    for got in (values(backtest), values(live)):
        for name, series in want.items():
            np.testing.assert_allclose(got[name], series, rtol=1e-9, atol=1e-9, err_msg=name)


def test_indicator_input_errors_name_the_fix() -> None:
    class Bad(Strategy):
        def __init__(self, **kwargs: object) -> None:
            super().__init__()
            self.kwargs = kwargs

        def on_start(self, ctx: Context) -> None:
            ctx.indicator(ctx.symbols[0] and "mavp", ctx.symbols[0], **self.kwargs)

    with pytest.raises(IndicatorError, match="inputs=\\{'periods'"):
        run_backtest(config(), strategy=Bad())
    with pytest.raises(IndicatorError, match="did you mean 'periods'"):
        run_backtest(config(), strategy=Bad(inputs={"period": "volume"}))
    with pytest.raises(IndicatorError, match="did you mean 'volume'"):
        run_backtest(config(), strategy=Bad(inputs={"periods": "volumes"}))
