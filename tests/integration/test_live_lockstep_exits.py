"""Lockstep parity with ``[risk.exits]``: under ``execution.exits_from = "fill_bar"`` the
backtest matches the exits attached to a fill at the open against that bar, as the local
exchange does with the exits the node sends right after the fill (README "Live trading",
the OCO bullet; issue 15). The structure of
`test_live_lockstep_cli.test_a_lockstep_practice_run_of_live_btc_makes_the_backtests_fills`:
``configs/live_btc.toml`` with ``slippage_bps = 0``, a stop-loss at 0.4 % and a take-profit
at 0.6 % (tight enough that some trigger on the entry's own bar); stored fills (side,
quantity, price, fee) and the last equity row (cash, equity) are the ``fill_bar``
backtest's over the same bars after the warm-up, and the default (``next_bar``) backtest's
fills differ: live exits work from the fill on, as the README's OCO bullet says.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.model import OrderSide
from engine.runtime.backtest import load_frames
from engine.strategy import make_strategy
from tests.integration.conftest import CliRunner
from tests.integration.test_live_lockstep_cli import (
    assert_fills,
    keys,  # noqa: F401  (the fixture, by name)
    last_equity,
    lockstep,
    records,
    spot_config,
)
from tests.integration.test_live_perpetual_cli import node_fills
from tests.integration.test_paper_warmup import SkipWarmup

# tight exits: some trigger on the entry bar itself, where the two rules part
EXITS = "\n[risk.exits]\nstop_loss_pct = 0.4\ntake_profit_pct = 0.6\n"


def test_a_lockstep_run_with_risk_exits_makes_the_fill_bar_backtests_fills(
    kestrel: CliRunner,
    tmp_path: Path,
    keys: None,  # noqa: F811
) -> None:
    path = spot_config(tmp_path)
    text = path.read_text().replace(
        "slippage_bps = 0.0", 'slippage_bps = 0.0\nexits_from = "fill_bar"'
    )
    path.write_text(text + EXITS)
    result = kestrel(*lockstep(path, tmp_path))
    assert result.code == 0, result.err
    (start,) = records(tmp_path, "start")
    warmup = start["warmup_bars"]["BTC/USDT"]  # type: ignore[index]

    config = load_config(path)
    assert config.execution.exits_from == "fill_bar"
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    # every bar of the data, the last one too (the replay plays it to its close)
    strategy = make_strategy(SkipWarmup, config.strategy.params)
    assert isinstance(strategy, SkipWarmup)
    strategy.until = int(frame.ts_close_ns[warmup - 1])
    backtest = run_backtest(config, frames=[frame], strategy=strategy)
    expected = backtest.recorder.fills
    assert len(expected) >= 6
    assert {f.side for f in expected} == {OrderSide.BUY, OrderSide.SELL}
    # the default rule (exits from the next bar) makes other fills: the option matters here
    default = dataclasses.replace(
        config, execution=dataclasses.replace(config.execution, exits_from="next_bar")
    )
    strategy_next = make_strategy(SkipWarmup, config.strategy.params)
    assert isinstance(strategy_next, SkipWarmup)
    strategy_next.until = strategy.until
    next_bar = run_backtest(default, frames=[frame], strategy=strategy_next).recorder.fills
    assert [(f.quantity, f.price) for f in next_bar] != [(f.quantity, f.price) for f in expected]

    db = tmp_path / "k.db"
    assert_fills(node_fills(db, "live_btc"), expected)
    cash, equity, ts_ns = last_equity(db, "live_btc")
    assert ts_ns == int(frame.ts_close_ns[-1])
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)
