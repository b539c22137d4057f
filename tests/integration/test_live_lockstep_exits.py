"""Lockstep parity with ``[risk.exits]``: under ``execution.exits_from = "fill_bar"`` the
backtest matches the exits attached to a fill at the open against that bar, as the local
exchange does with the exits the node sends right after the fill (README "Live trading",
the OCO bullet; issue 15). The structure of
`test_live_lockstep_cli.test_a_lockstep_practice_run_of_live_btc_makes_the_backtests_fills`:
``configs/live_btc.toml`` with ``slippage_bps = 0``, a stop-loss at 1.5 % and a take-profit
at 2.5 %; stored fills (side, quantity, price, fee) and the last equity row (cash, equity)
are the backtest's over the same bars after the warm-up.
"""

from __future__ import annotations

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

EXITS = "\n[risk.exits]\nstop_loss_pct = 1.5\ntake_profit_pct = 2.5\n"


@pytest.mark.xfail(
    strict=True,
    reason="live sells at the stop 18919.98 although no bar from the entry's on reaches it "
    "(lows 19161.85, 19097.6, ...): a defect of the node or the local exchange, not of the "
    "exits' timing; see the entrybar report",
)
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
    frame = frame.head(len(frame) - 1)  # the replay's last bar stays in progress
    strategy = make_strategy(SkipWarmup, config.strategy.params)
    assert isinstance(strategy, SkipWarmup)
    strategy.until = int(frame.ts_close_ns[warmup - 1])
    backtest = run_backtest(config, frames=[frame], strategy=strategy)
    expected = backtest.recorder.fills
    assert len(expected) >= 6
    assert {f.side for f in expected} == {OrderSide.BUY, OrderSide.SELL}
    # the entry of the 4th fill: bought at 19208.11, the open of the hour whose
    # low is 19161.85; no hour after it reaches the stop (18919.98) before the signal sells
    assert (expected[2].price, expected[3].price) == (19208.11, 19162.62)

    db = tmp_path / "k.db"
    assert_fills(node_fills(db, "live_btc"), expected)
    cash, equity, ts_ns = last_equity(db, "live_btc")
    assert ts_ns == int(frame.ts_close_ns[-1])
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)
