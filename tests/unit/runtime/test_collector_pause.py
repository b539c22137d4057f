"""The cyclic garbage collector is paused for a whole backtest and given back after it.

`engine.runtime.backtest.run_backtest` pauses it from loading to the summary (its passes
there freed nothing and cost ~0.1 s of CPU on 1 M bars: issue 13); `kestrel backtest`
from the imports of the run's modules to the frozen result. Both must give it back as they
found it, on success and on error, or an in-process caller would run without a collector.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import RunConfig, parse_config
from engine.model import Bar
from engine.runtime import run_backtest
from engine.strategy import Context, Strategy
from engine.testing import make_bars

ROOT = Path(__file__).resolve().parents[3]


def config() -> RunConfig:
    return parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"symbol": "A"}],
            "instruments": [{"symbol": "A", "lot_size": 1.0}],
            "strategy": {"path": "x:Probe"},
        }
    )


class Probe(Strategy):
    """Records whether the collector runs when the strategy starts and on each bar."""

    def on_start(self, ctx: Context) -> None:
        self.enabled_at_start = gc.isenabled()
        self.enabled_on_bars: set[bool] = set()

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.enabled_on_bars.add(gc.isenabled())
        if bar.close > 102.0:
            raise ValueError("planted fault")


def test_the_collector_is_paused_from_start_to_summary_and_given_back() -> None:
    strategy = Probe()
    assert gc.isenabled()
    result = run_backtest(config(), data={"A": make_bars([100.0, 101.0, 102.0])}, strategy=strategy)
    assert strategy.enabled_at_start is False  # building and starting: paused (new)
    assert strategy.enabled_on_bars == {False}  # the loop: paused, as before
    assert result.metrics["bars"] == 3
    assert gc.isenabled()


def test_a_failed_run_gives_the_collector_back() -> None:
    from engine.errors import StrategyError

    with pytest.raises(StrategyError, match="planted fault"):
        run_backtest(config(), data={"A": make_bars([100.0, 103.0])}, strategy=Probe())
    assert gc.isenabled()


def test_a_caller_without_a_collector_keeps_it_off() -> None:
    gc.disable()
    try:
        run_backtest(config(), data={"A": make_bars([100.0, 101.0])}, strategy=Probe())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_backtest_command_gives_the_collector_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config_path = str(ROOT / "configs" / "sma_cross_goog.toml")
    assert main(["backtest", config_path, "--no-db", "--out", str(out)]) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # the in-process caller gets its objects back
    # an input error after the pause began (the store URL) gives it back too
    bad = ["backtest", config_path, "--out", str(tmp_path / "o2"), "--db", "nosuch://x"]
    assert main(bad) == 2
    assert gc.isenabled()
