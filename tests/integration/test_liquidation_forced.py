"""A margin call's liquidation closes the account whatever the strategy's own limits say.

Hand-made 8-hour bars (opens 100, 100, 95, 90, 85, 78, 75; closes 100, 95, 90, 85, 80, 75,
75) and a funding file charging 0.1 % at each close from the second bar on; leverage 5,
maintenance margin 10 %, fees 0.1 %. An audit found two ways a liquidation failed:

1. The liquidation of 49 at 85 (notional 4,165) was denied by the instrument's
   ``min_notional = 4500``: the account stayed long, said "every position closed", and was
   never called again while equity fell to -254.40. A forced close is the venue's, not an
   order of the strategy: the strategy's limits do not apply to it.
2. A strategy sell of 800 sent on the close of the margin call was judged against the
   position before the liquidation (its sell of 400 still working was left out, being
   reduce-only), so it looked like a reduction and was approved: short 800 (62,400) on
   988.80 of equity, 63x on a 5x account. The working liquidation now counts as filled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.runtime.backtest import run_backtest

BARS = """timestamp,open,high,low,close,volume
1609459200000,100,101,99,100,1000
1609488000000,100,101,94,95,1000
1609516800000,95,96,89,90,1000
1609545600000,90,91,84,85,1000
1609574400000,85,86,79,80,1000
1609603200000,78,79,70,75,1000
1609632000000,75,76,74,75,1000
"""
FUNDING = "timestamp,rate\n" + "".join(
    f"{1609488000000 + k * 28_800_000},0.001\n" for k in range(8)
)
SCRIPT = '''
from dataclasses import dataclass

from engine.strategy import Strategy


@dataclass(frozen=True)
class PlanParams:
    buy_at_first: float = 0.0
    sell_at_fifth: float = 0.0


class Plan(Strategy):
    """Buys on the first bar's close; sells on the fifth's (the margin call's)."""

    Params = PlanParams
    params: PlanParams

    def on_start(self, ctx):
        self.bars = 0

    def on_bar(self, ctx, bar):
        self.bars += 1
        if self.bars == 1 and self.params.buy_at_first:
            ctx.buy(bar.symbol, self.params.buy_at_first)
        if self.bars == 5 and self.params.sell_at_fifth:
            ctx.sell(bar.symbol, self.params.sell_at_fifth)
'''


def _config(folder: Path, cash: float, min_notional: float, params: str) -> Path:
    (folder / "bars.csv").write_text(BARS)
    (folder / "funding.csv").write_text(FUNDING)
    (folder / "plan.py").write_text(SCRIPT)
    path = folder / "perp.toml"
    path.write_text(
        f'[run]\nname = "perp"\n[account]\ninitial_cash = {cash}\ncurrency = "USDT"\n'
        "leverage = 5.0\nmaintenance_margin = 0.1\nallow_short = true\n"
        '[[data]]\npath = "bars.csv"\nsymbol = "BTC/USDT"\nfunding = "funding.csv"\n'
        '[[instruments]]\nsymbol = "BTC/USDT"\ntick_size = 0.01\nlot_size = 1\n'
        f"min_quantity = 1\nmin_notional = {min_notional}\n"
        f'[strategy]\npath = "plan.py:Plan"\nparams = {{ {params} }}\n'
        "[execution]\nfee_rate = 0.001\nslippage_bps = 0.0\n"
    )
    return path


def test_a_liquidation_below_the_minimum_notional_still_closes_the_position(
    tmp_path: Path,
) -> None:
    config = load_config(_config(tmp_path, 1_000.0, 4_500.0, "buy_at_first = 49"))
    result = run_backtest(config)
    # bought 49 at 100 (fee 4.9), funding at 95, 90, 85 (49 x close x 0.1 %), called at
    # 85 (equity 246.87 < 416.50), sold 49 at the next open, 85, fee 4.165
    cash = 1_000.0 - 4_900.0 - 4.9 - 49 * (95 + 90 + 85) * 0.001 + 49 * 85 - 4.165
    assert result.metrics["open_positions"] == 0
    assert result.metrics["final_equity"] == pytest.approx(cash, abs=1e-9)  # 242.705
    liquidation = result.orders[result.orders["strategy_id"] == "LIQ"]
    assert list(liquidation["status"]) == ["filled"]


def test_a_strategy_order_on_the_margin_calls_close_counts_the_liquidation(
    tmp_path: Path,
) -> None:
    params = "buy_at_first = 400, sell_at_fifth = 800"
    config = load_config(_config(tmp_path, 10_000.0, 0.0, params))
    result = run_backtest(config)
    orders = result.orders
    sell = orders[(orders["strategy_id"] != "LIQ") & (orders["side"] == "sell")]
    assert list(sell["status"]) == ["denied"]
    assert list(sell["check"]) == ["leverage"]
    # bought 400 at 100 (fee 40), funding at 95, 90, 85, 80, called at 80 (equity 1,820 <
    # 3,200), sold 400 at the next open, 78 (fee 31.20): flat on 988.80
    cash = 10_000.0 - 40_000.0 - 40.0 - 400 * (95 + 90 + 85 + 80) * 0.001 + 400 * 78 - 31.2
    assert result.metrics["open_positions"] == 0
    assert result.metrics["final_equity"] == pytest.approx(cash, abs=1e-9)  # 988.80
