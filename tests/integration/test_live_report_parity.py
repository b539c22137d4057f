"""Parity of the live report: a live node trading on the local exchange, its account then
reported from the store, has the trades its own recorder built in memory and the backtest's
trades and trade statistics over the same bars (issue 15).

The node of `tests.integration.test_live_parity` (SMA crossover, half the equity per entry,
~470 hourly BTC/USDT bars) commits each bar's checkpoint as ``kestrel live`` does (its equity
row and the bar). The report rebuilds the round trips from the stored fills with the
backtest's trade builder: against the node's recorder (the same fills, published as the
exchange reported them) quantities, values and fees are equal exactly; against the
backtest, prices to the cent and fees to 1e-8 (the exchange's 8-decimal strings), as the
fills themselves are (`test_live_parity.assert_same`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import run_backtest
from engine.persistence import RunStore
from engine.report.round_trips import TradeRecord
from engine.runtime.live import LiveLedger
from engine.runtime.live.report import live_report_data, write_live_report
from tests.integration.test_live_parity import parity_config, run_live

STATISTICS = ("num_trades", "win_rate", "profit_factor", "expectancy", "average_holding_days",
              "max_win_streak", "max_loss_streak", "average_mae", "average_mfe", "open_positions",
              "unrealized_pnl", "benchmark_total_return")  # fmt: skip


def _amounts(trade: TradeRecord) -> tuple[object, ...]:
    return (trade.symbol, trade.side, trade.entry_quantity, trade.entry_value,
            trade.exit_quantity, trade.exit_value, trade.fees)  # fmt: skip


def test_the_reported_trades_are_the_nodes_and_the_backtests(tmp_path: Path) -> None:
    config = parity_config(
        {
            "path": "strategies.sma_cross:SmaCross",
            "params": {"fast": 5, "slow": 20, "target_percent": 0.5},
        }
    )
    backtest = run_backtest(config)
    node, _, _ = run_live(config, tmp_path, checkpointed=True)
    ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "p")
    data = live_report_data(config, ledger)
    data.compute()
    recorder = node.kernel.recorder
    assert len(data.trades) >= 3
    assert [_amounts(t) for t in data.trades] == [_amounts(t) for t in recorder.trades]
    expected = backtest.recorder.trades
    assert len(data.trades) == len(expected)
    for got, want in zip(data.trades, expected, strict=True):
        assert (got.symbol, got.side, got.entry_ts, got.exit_ts) == (
            want.symbol, want.side, want.entry_ts, want.exit_ts,
        )  # fmt: skip
        assert got.entry_quantity == want.entry_quantity
        assert got.entry_price == pytest.approx(want.entry_price, abs=1e-9)
        assert got.exit_price == pytest.approx(want.exit_price, abs=1e-9)
        assert got.fees == pytest.approx(want.fees, abs=1e-7)
        assert got.net_pnl == pytest.approx(want.net_pnl, abs=1e-6)
    assert len(data.open_trades) == len(backtest.open_trades)
    for got, want in zip(data.open_trades, backtest.open_trades, strict=True):
        assert (got.entry_ts, got.exit_ts, got.entry_quantity) == (
            want.entry_ts, want.exit_ts, want.entry_quantity,
        )  # fmt: skip
        assert got.unrealized_pnl == pytest.approx(want.unrealized_pnl, abs=1e-6)
    for key in STATISTICS:
        assert data.metrics[key] == pytest.approx(backtest.metrics[key], abs=1e-6), key
    # every bar the node handled is stored: the backtest's bars, its price chart
    (frame,) = data.frames
    (bars,) = backtest.frames
    assert frame.ts_open_ns.tolist() == bars.ts_open_ns.tolist()
    assert frame.close.tolist() == bars.close.tolist()
    page = write_live_report(config, ledger, tmp_path / "report")
    assert 'data-chart="chart-price0"' in page.read_text()
