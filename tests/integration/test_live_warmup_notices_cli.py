"""``kestrel live``: the user is told at start what the indicator warm-up cannot make equal.

A practice run (``--replay``, lockstep) of a strategy declaring OBV (a running total),
MAXINDEX (a bar index) and SMA(5): before the first live bar the command prints one line per
start-dependent indicator, with its name and symbol (`engine.runtime.live.warmup`); with a
``--warmup-bars`` shorter than SMA(5)'s 5 bars, one more line for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.strategy import Context, Strategy
from tests.integration.conftest import CliRunner
from tests.integration.test_live_lockstep_cli import keys, lockstep, records, spot_config

__all__ = ["keys"]  # the fixture, imported for the tests below

OBV_LINE = (
    "warm-up: obv() on BTC/USDT is a running total: its level counts from the warm-up's "
    "first bar and cannot equal a backtest's (counted from its data's first bar); its "
    "bar-to-bar changes do"
)
MAXINDEX_LINE = (
    "warm-up: maxindex(timeperiod=30) on BTC/USDT gives bar positions counted from the "
    "warm-up's first bar: a backtest's minus a constant; the bars since the extreme (the "
    "bar's position minus the value) equal a backtest's"
)


class Declares(Strategy):
    """Declares OBV, MAXINDEX and SMA(5) on BTC/USDT; never trades."""

    def on_start(self, ctx: Context) -> None:
        ctx.indicator("obv", "BTC/USDT")
        ctx.indicator("maxindex", "BTC/USDT")
        ctx.indicator("sma", "BTC/USDT", timeperiod=5)


def config(tmp_path: Path) -> Path:
    path = spot_config(tmp_path)
    text = path.read_text()
    old = 'path = "strategies.sma_cross:SmaCross"\nparams = { fast = 5, slow = 20 }'
    assert old in text
    path.write_text(text.replace(old, f'path = "{Path(__file__).resolve()}:Declares"'))
    return path


@pytest.mark.usefixtures("keys")
def test_start_dependent_indicators_are_named_at_start(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(*lockstep(config(tmp_path), tmp_path, "--max-bars", "2"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:2] == [OBV_LINE, MAXINDEX_LINE]  # first, before the node connects
    assert not any("sma(" in line for line in lines)  # warmed with MAXINDEX's 30 bars
    (start,) = records(tmp_path, "start")
    assert start["warmup_bars"] == {"BTC/USDT": 30}


@pytest.mark.usefixtures("keys")
def test_a_warmup_shorter_than_an_indicator_needs_is_told(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    path = config(tmp_path)
    result = kestrel(*lockstep(path, tmp_path, "--max-bars", "2", "--warmup-bars", "3"))
    assert result.code == 0, result.err
    assert result.out.splitlines()[:4] == [
        OBV_LINE,
        MAXINDEX_LINE,
        "warm-up: maxindex(timeperiod=30) on BTC/USDT needs 30 bars to equal a backtest's "
        "value and --warmup-bars / [live] warmup_bars gives 3: until it has seen 30 bars its "
        "values differ",
        "warm-up: sma(timeperiod=5) on BTC/USDT needs 5 bars to equal a backtest's value and "
        "--warmup-bars / [live] warmup_bars gives 3: until it has seen 5 bars its values differ",
    ]
