"""One kernel: a backtest and the paper/live code path decide alike on the same bars.

The backtest precomputes indicators, batches the loop and rebuilds the equity curve;
the `TradingNode` grows histories bar by bar, updates streaming indicators, publishes
every event as it comes and snapshots equity as it goes. Fed the same bars, they must
produce the same orders (ids, sides, quantities, statuses, denials), the same fills and
the same equity after every bar.
"""

from __future__ import annotations

import pytest

from engine import load_config, run_backtest
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.node import TradingNode
from tests.integration.conftest import REPO


@pytest.mark.parametrize(
    ("config", "sets"),
    [
        ("configs/sma_cross_btc.toml", []),
        ("configs/sma_cross_goog.toml", []),
        ("configs/sma_cross_btc.toml", ["strategy.params.allow_short=true"]),
        # a margin account: borrow fees on shorts, maintenance margin
        (
            "configs/sma_cross_btc.toml",
            [
                "strategy.params.allow_short=true",
                "account.leverage=2.0",
                "account.maintenance_margin=0.3",
                "account.borrow_rate=0.05",
            ],
        ),
        # risk decisions: limits that deny orders, and a drawdown guard that halts trading
        (
            "configs/sma_cross_btc.toml",
            ["risk.max_order_notional=12000.0", "risk.max_drawdown_pct=20.0"],
        ),
        (
            "configs/sma_cross_btc.toml",
            [
                "strategy.params.allow_short=true",
                'risk.direction="long_only"',
                "risk.max_drawdown_pct=15.0",
                'risk.guard_action="reducing"',
            ],
        ),
    ],
)
def test_backtest_and_paper_replay_agree(config: str, sets: list[str]) -> None:
    run_config = load_config(REPO / config, sets)
    frames = load_frames(run_config)
    backtest = run_backtest(run_config, frames=frames)

    node = TradingNode(run_config)
    node.run(iter_bars(frames))  # type: ignore[arg-type]

    live = node.kernel.recorder
    assert list(live.orders.values()) == list(backtest.recorder.orders.values())
    assert [tuple(f) for f in live.fills] == [tuple(f) for f in backtest.recorder.fills]
    assert len(backtest.recorder.orders) > 20
    assert live.trading_states == backtest.recorder.trading_states
    if run_config.risk.max_drawdown_pct:
        assert len(live.trading_states) == 1  # the guard tripped, identically in both paths
    if run_config.risk.max_order_notional or run_config.risk.direction != "both":
        assert any(row["status"] == "denied" for row in live.orders.values())
    curve = node.equity_curve
    assert [s.ts_event for s in curve] == backtest.equity_curve.ts.tolist()
    for snapshot, equity in zip(curve, backtest.equity_curve.equity.tolist(), strict=True):
        assert snapshot.equity == pytest.approx(equity, rel=1e-12, abs=1e-9)
