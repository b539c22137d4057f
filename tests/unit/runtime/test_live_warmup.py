"""A live node's warm-up: its length from the strategy's indicators, the flag and config
precedence, and warmed indicators equal to the backtest's over the same bars."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from engine.config import LiveSection, parse_config
from engine.errors import ConfigError
from engine.runtime.live.warmup import default_warmup_bars, indicator_needs, warmup_count

ROOT = Path(__file__).resolve().parents[3]


def parity() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "live_warmup_parity", ROOT / "benchmarks" / "live_warmup_parity.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["live_warmup_parity"] = module
    spec.loader.exec_module(module)
    return module


def test_each_indicator_needs_its_window_or_thirty_times_it_when_recursive() -> None:
    needs = dict(indicator_needs(parity().config()))
    assert needs == {
        "sma(timeperiod=20) on BTC/USDT": 20,  # lookback 19 + 1: a finite window
        "ema(timeperiod=20) on BTC/USDT": 600,  # 30 x (19 + 1)
        "rsi(timeperiod=14) on BTC/USDT": 450,  # 30 x (14 + 1)
        "atr(timeperiod=14) on BTC/USDT": 450,
        "macd(fastperiod=12, signalperiod=9, slowperiod=26) on BTC/USDT": 1020,  # 30 x 34
        "sar(acceleration=0.02, maximum=0.2) on BTC/USDT": 400,  # path: PATH_BARS
        "obv() on BTC/USDT": 1,  # start-dependent: no count makes its level equal
    }
    assert default_warmup_bars(parity().config()) == 1020


def test_the_flag_wins_over_the_config_which_wins_over_the_default() -> None:
    config = parity().config()
    assert warmup_count(config, None) == 1020
    assert warmup_count(config, 0) == 0
    keyed = replace(config, live=LiveSection(mode="live", warmup_bars=50))
    assert warmup_count(keyed, None) == 50
    assert warmup_count(keyed, 7) == 7
    document = {
        "run": {"name": "x"},
        "data": [{"path": "x.csv", "symbol": "BTC/USDT"}],
        "strategy": {"path": "x:X"},
        "live": {"warmup_bars": -1},
    }
    with pytest.raises(ConfigError, match=r"live.warmup_bars must be in \[0, 1000000\], got -1"):
        parse_config(document)
    document["live"] = {"warmup_bars": 50}
    assert parse_config(document).live.warmup_bars == 50


def test_warmed_indicators_equal_the_backtests_over_the_same_bars() -> None:
    found = parity().measure(start=3000, live=100)
    assert found.pop("bars") == 1020
    level = found.pop("obv().real")  # a running total: from the warm-up's first bar
    assert level > 0.5
    assert set(found) == {
        "sma(20).real", "ema(20).real", "rsi(14).real", "atr(14).real",
        "macd(12, 26, 9).macd", "macd(12, 26, 9).macdsignal", "macd(12, 26, 9).macdhist",
        "sar(0.02, 0.2).real", "obv().real changes",
    }  # fmt: skip
    assert max(found.values()) < 1e-9
    short = parity().measure(start=3000, live=100, bars=100)  # too short for the recursive
    assert short["sma(20).real"] < 1e-12
    assert short["rsi(14).real"] > 1e-5
    assert short["macd(12, 26, 9).macdhist"] > 1e-4
    assert parity().measure(start=3000, live=100, bars=40)["sar(0.02, 0.2).real"] > 1e-3
