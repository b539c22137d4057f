"""Walk-forward window boundaries: a window that ends holding a position sells it, for real.

Every out-of-sample window starts flat; the one before it must therefore close what it
holds at its last close as a fill that pays the run's fee and slippage, is a closed trade
of that window, and leaves the cash the next window starts from. Was: the next window got
the previous window's equity marked to its last close as cash — a free liquidation.

The data are hand-made so every figure can be checked by hand: a strategy that buys 10
units on its first bar (filled at the next bar's open) and holds; 30 daily bars, flat at
100 (bars 0-19, the last of them closing at 110) then flat at 110 (bars 20-29, the last
closing at 121); 1% fees. Two windows of 10 in-sample and 10 out-of-sample bars: window 0
trades bars 10-19 and ends long, window 1 (the last) trades bars 20-29.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.config import RunConfig, load_config
from engine.optimize.executors import InlineExecutor
from engine.optimize.search import SweepSpec
from engine.optimize.space import parse_param
from engine.optimize.walkforward import WalkForward, plan_windows, unclosed_windows, walk_forward
from engine.runtime.backtest import run_backtest
from engine.runtime.closeout import TAG as EXIT_TAG
from tests.integration.conftest import CliRunner

STRATEGY = '''
from dataclasses import dataclass

from engine.strategy import Strategy


@dataclass(frozen=True)
class HoldParams:
    quantity: float = 10.0


class Hold(Strategy):
    """Buy ``quantity`` on the first bar, then hold."""

    Params = HoldParams
    params: HoldParams

    def on_start(self, ctx):
        self.bought = False

    def on_bar(self, ctx, bar):
        if not self.bought:
            ctx.buy(bar.symbol, self.params.quantity)
            self.bought = True
'''


def bars() -> list[tuple[float, float, float, float]]:
    """Open, high, low, close of the 30 bars (see the module docstring)."""
    rows = [(100.0,) * 4] * 19 + [(100.0, 110.0, 100.0, 110.0)]
    rows += [(110.0,) * 4] * 9 + [(110.0, 121.0, 110.0, 121.0)]
    return rows


def write_case(folder: Path, slippage_bps: float = 0.0, extra: str = "") -> RunConfig:
    (folder / "hold.py").write_text(STRATEGY)
    lines = [",Open,High,Low,Close,Volume"]
    for day, (o, h, low, c) in enumerate(bars()):
        lines.append(f"2021-01-{day + 1:02d},{o},{h},{low},{c},1000000")
    (folder / "bars.csv").write_text("\n".join(lines) + "\n")
    config = folder / "hold.toml"
    config.write_text(
        '[run]\nname = "hold"\n[account]\ninitial_cash = 10000.0\n'
        '[[data]]\npath = "bars.csv"\nsymbol = "X"\n'
        '[[instruments]]\nsymbol = "X"\ntick_size = 0.01\nlot_size = 1.0\n'
        '[strategy]\npath = "hold.py:Hold"\nparams = { quantity = 10.0 }\n'
        f"[execution]\nfee_rate = 0.01\nslippage_bps = {slippage_bps}\n{extra}"
    )
    return load_config(config)


SPEC = SweepSpec((parse_param("quantity=10", ["quantity"]),), ("total_return",))


def analyse(config: RunConfig, scheme: str = "rolling") -> WalkForward:
    return walk_forward(config, SPEC, plan_windows(30, 10, 10, scheme), InlineExecutor)


@pytest.mark.parametrize("scheme", ["rolling", "anchored"])
def test_a_window_that_ends_long_pays_its_exit_and_hands_on_the_cash_left(
    tmp_path: Path, scheme: str
) -> None:
    result = analyse(write_case(tmp_path), scheme)
    first, last = (w.oos_metrics for w in result.windows)
    assert first is not None
    assert last is not None
    # window 0: buys 10 at bar 11's open (1,000 + fee 10), sells 10 at bar 19's close 110
    # (1,100 - fee 11): 10,000 - 1,010 + 1,089 = 10,079, flat, one closed trade
    assert first["fees_paid"] == pytest.approx(21.0)
    assert first["num_trades"] == 1
    assert first["open_positions"] == 0
    assert first["final_equity"] == pytest.approx(10_079.0)
    assert first["total_return"] == pytest.approx(0.0079)
    # the stitched curve shows the exit at window 0's last bar
    assert float(result.equity[9]) == pytest.approx(10_079.0)
    # window 1 starts from those 10,079 (not the 10,090 window 0 was marked at): buys 10
    # at 110 (1,100 + fee 11) and, the last window, ends like any backtest: the position
    # marked at the last close 121, open, not sold
    assert float(result.equity[10]) == pytest.approx(10_079.0)  # bar 20: order not filled
    assert last["final_equity"] == pytest.approx(10_079.0 - 1_111.0 + 1_210.0)
    assert last["open_positions"] == 1
    assert last["fees_paid"] == pytest.approx(11.0)
    # stitched: the per-window returns compounded, every fee counted, every exit a trade
    compounded = (1 + first["total_return"]) * (1 + last["total_return"]) - 1
    assert result.metrics["total_return"] == pytest.approx(compounded)
    assert result.metrics["total_return"] == pytest.approx(0.0178)
    assert result.metrics["fees_paid"] == pytest.approx(32.0)
    assert result.metrics["num_trades"] == 1


def test_the_boundary_exit_pays_the_runs_slippage(tmp_path: Path) -> None:
    # 100 bps: the entry at bar 11's open is held to its high (100, `slippage_within_range`);
    # the exit sells at 110 x 0.99 = 108.90 (within bar 19's low), fee 1% of 1,089
    result = analyse(write_case(tmp_path, slippage_bps=100.0))
    first = result.windows[0].oos_metrics
    assert first is not None
    assert first["fees_paid"] == pytest.approx(10.0 + 10.89)
    assert first["final_equity"] == pytest.approx(10_000.0 - 1_010.0 + 1_089.0 - 10.89)
    assert float(result.equity[10]) == pytest.approx(first["final_equity"])


def test_the_exit_is_a_fill_and_a_closed_trade_of_the_strategy(tmp_path: Path) -> None:
    # the whole 30 bars as one window: bought at bar 1's open (100), sold at bar 29's close
    result = run_backtest(write_case(tmp_path), close_at_end=True)
    orders = result.orders
    assert list(orders["status"]) == ["filled", "filled"]
    assert list(orders["tag"]) == ["", EXIT_TAG]
    fills = result.fills
    assert list(fills["price"]) == [100.0, 121.0]
    assert list(fills["fee"]) == pytest.approx([10.0, 12.1])
    (trade,) = result.trades.itertuples()
    assert (trade.entry_price, trade.exit_price) == (100.0, 121.0)
    assert trade.exit_time == pd.Timestamp("2021-01-31", tz="UTC")  # bar 29's close
    assert trade.net_pnl == pytest.approx(210.0 - 22.1)
    assert result.open_trades == []
    assert result.metrics["final_equity"] == pytest.approx(10_187.9)
    # the same run without the close-out: everything else identical
    plain = run_backtest(write_case(tmp_path))
    assert plain.metrics["final_equity"] == pytest.approx(10_200.0)
    assert plain.fills["price"].tolist() == [100.0]


def test_a_halted_window_is_flattened_without_a_second_trip(tmp_path: Path) -> None:
    # a 0.05% drawdown guard halts after the entry's fee; a halt denies the strategy's
    # orders, so the close-out is the risk engine's flatten, and the halt is not re-counted
    halted = '[risk]\nmax_drawdown_pct = 0.05\nguard_action = "halted"\n'
    result = run_backtest(write_case(tmp_path, extra=halted), close_at_end=True)
    assert list(result.orders["tag"]) == ["", "flatten"]
    assert result.metrics["num_trades"] == 1
    assert result.metrics["final_equity"] == pytest.approx(10_187.9)
    assert result.metrics["guard_trips"] == 1
    assert result.metrics["guard_final_state"] == "halted"


def test_a_window_whose_close_out_risk_denies_is_named_on_stderr(
    tmp_path: Path, kestrel: CliRunner
) -> None:
    """The close of 10 at 110 (1,100) is over max_order_notional = 1,050; the buy (1,000) is
    not. Window 0 then hands its position on at its mark, as before the close-out existed:
    that was silent (an audit). The command now says which window and why."""
    analysis = analyse(write_case(tmp_path, extra="[risk]\nmax_order_notional = 1050.0\n"))
    assert unclosed_windows(analysis.windows) == [0]
    result = kestrel(
        "walkforward", str(tmp_path / "hold.toml"), "--param", "quantity=10",
        "--in-sample", "10", "--out-of-sample", "10", "--out", str(tmp_path / "wf"),
        "--db", f"sqlite:///{tmp_path / 'k.db'}",
    )  # fmt: skip
    assert result.code == 0, result.err
    warning = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1, result.err
    assert "window 0 (1 position(s)) ended holding what the close-out" in warning[0]
    assert "handed on to the next window at its last close" in warning[0]


def test_windows_that_end_flat_give_no_warning(tmp_path: Path) -> None:
    assert unclosed_windows(analyse(write_case(tmp_path)).windows) == []
