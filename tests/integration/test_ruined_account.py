"""A run whose equity goes below zero says so: metrics.json, the CLI summary, the report.

The audit's run: short 15× the equity of BTC/USDT on the second hour of the sample data
and hold; BTC rises and the account ends at −17,628.61 (total return −276.29 %), which
Kestrel scored Sharpe +0.39, Omega 1.13, best day +328.98 % and turnover −34.02/yr.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]
STRATEGY = """
from engine.model import Bar
from engine.strategy import Context, Strategy


class Blowup(Strategy):
    def on_start(self, ctx: Context) -> None:
        self.n = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.n += 1
        if self.n == 2:
            ctx.sell(bar.symbol, round(15 * 10000 / bar.close, 5))
        elif self.n == 500:
            ctx.close_position(bar.symbol)
"""
CONFIG = """
[account]
initial_cash = 10000.0
currency = "USDT"
leverage = 20.0
allow_short = true

[[data]]
path = "{data}"
symbol = "BTC/USDT"

[[instruments]]
symbol = "BTC/USDT"
tick_size = 0.01
lot_size = 0.00001

[strategy]
path = "{strategy}:Blowup"

[execution]
fee_rate = 0.001
slippage_bps = 1.0
"""


def test_equity_below_zero_is_flagged_and_its_ratios_left_empty(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "blowup.py").write_text(STRATEGY)
    config = tmp_path / "blow.toml"
    data = REPO / "data/binance_BTC_USDT_1h_20201201_20210717.csv"
    config.write_text(CONFIG.format(data=data, strategy=tmp_path / "blowup.py"))
    out = tmp_path / "run"
    result = kestrel("backtest", str(config), "--out", str(out), "--no-db")
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["total_return"] < -1.0
    assert metrics["max_drawdown"] < -1.0  # a loss of more than the peak
    went = metrics["equity_went_non_positive_at"]
    assert isinstance(went, int)
    for key in ("sharpe", "sortino", "omega", "probabilistic_sharpe", "turnover", "best_day"):
        assert metrics[key] is None, key
    equity = [line.split(",") for line in (out / "equity.csv").read_text().splitlines()[1:]]
    first = next(row[0] for row in equity if float(row[2]) <= 0)
    row = next(line for line in result.out.splitlines() if "equity ≤ 0 from" in line)
    assert first[:16].replace("T", " ") in row
    assert "Equity reached zero or below at " + first in (out / "report.html").read_text()
