"""A position still open at the end: marked to the last close in the summary, trades.csv,
metrics and the report, and kept out of the closed-trade statistics.

Hand arithmetic of the main scenario (symbol X, lot 1, fee 0.1%, cash 10,000; daily bars
(open, close): (100, 100), (100, 105), (110, 105), (100, 95), (95, 90); orders on bars 0,
1 and 2 fill at the next open):
- trade 1: buy 10 at 100 (fee 1.0), sell 10 at 110 (fee 1.1): gross 100, net 97.9 — a
  winner, so the win rate of closed trades is 100%;
- trade 2 (open): buy 10 at 100 (fee 1.0), marked at the last close 90 at the last bar's
  close time: unrealized 10 × (90 − 100) = −100, net −100 − 1.0 = −101.0, return
  −101 / 1,000 = −10.1%;
- cash 10,000 − 1,001 + 1,098.9 − 1,001 = 9,096.9; equity 9,096.9 + 10 × 90 = 9,996.9
  = 10,000 + 97.9 − 101.0.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar
from engine.report.compare import compare_rows, run_series_from_dir
from engine.report.data import ReportData
from tests.integration.conftest import CliRunner

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY
BARS = [(100.0, 100.0), (100.0, 105.0), (110.0, 105.0), (100.0, 95.0), (95.0, 90.0)]

STRATEGY = """
from engine.strategy import Strategy


class BuySellBuy(Strategy):
    bar_index = -1

    def on_bar(self, ctx, bar):
        self.bar_index += 1
        if self.bar_index in (0, 2):
            ctx.buy("X", 10)
        elif self.bar_index == 1:
            ctx.sell("X", 10)
"""


def write_run_files(folder: Path) -> Path:
    lines = ["timestamp,open,high,low,close,volume"]
    for k, (o, c) in enumerate(BARS):
        lines.append(f"{(T0 + k * DAY) // 10**6},{o},{max(o, c) + 1},{min(o, c) - 1},{c},1000000")
    (folder / "x.csv").write_text("\n".join(lines) + "\n")
    (folder / "buy_sell_buy.py").write_text(STRATEGY)
    config = folder / "run.toml"
    config.write_text(
        f'[run]\nname = "open_at_end"\n[account]\ninitial_cash = 10000.0\n'
        f'[[data]]\npath = "{folder / "x.csv"}"\nsymbol = "X"\n'
        f'[[instruments]]\nsymbol = "X"\nlot_size = 1.0\n'
        f'[strategy]\npath = "{folder / "buy_sell_buy.py"}:BuySellBuy"\n'
        "[execution]\nfee_rate = 0.001\n"
    )
    return config


def test_open_losing_position_is_shown_everywhere(kestrel: CliRunner, tmp_path: Path) -> None:
    config = write_run_files(tmp_path)
    out = tmp_path / "out"
    result = kestrel("backtest", str(config), "--out", str(out), "--no-db")
    assert result.code == 0, result.err
    # summary: the closed-trade win rate, and the open position right beside it
    assert re.search(r"win rate\s*│\s*100\.00%", result.out)
    assert re.search(r"open at end\s*│\s*1 \(unrealized -100\.00\)", result.out)

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_trades"] == 1
    assert metrics["win_rate"] == 1.0
    assert metrics["open_positions"] == 1
    assert metrics["unrealized_pnl"] == pytest.approx(-100.0, abs=1e-9)
    assert metrics["final_equity"] == pytest.approx(9_996.9, abs=1e-9)  # the mark is in it

    with (out / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows] == ["closed", "open"]
    closed, still_open = rows
    assert float(closed["net_pnl"]) == pytest.approx(97.9, abs=1e-9)
    assert float(closed["unrealized_pnl"]) == 0.0
    assert still_open["trade_id"] == "2"
    assert still_open["entry_time"] == "2020-09-16T00:00:00Z"  # bar 3's open
    assert still_open["exit_time"] == "2020-09-18T00:00:00Z"  # bar 4 closes a day after it opens
    assert float(still_open["quantity"]) == 10.0
    assert float(still_open["entry_price"]) == 100.0
    assert float(still_open["exit_price"]) == 90.0
    assert float(still_open["unrealized_pnl"]) == pytest.approx(-100.0, abs=1e-9)
    assert float(still_open["gross_pnl"]) == pytest.approx(-100.0, abs=1e-9)
    assert float(still_open["fees"]) == pytest.approx(1.0, abs=1e-9)
    assert float(still_open["net_pnl"]) == pytest.approx(-101.0, abs=1e-9)
    assert float(still_open["return_pct"]) == pytest.approx(-10.1, abs=1e-9)
    total = sum(float(row["net_pnl"]) for row in rows)
    assert 10_000 + total == pytest.approx(metrics["final_equity"], abs=1e-9)

    # the report's trades table lists it, flagged open
    page = (out / "report.html").read_text()
    island = re.search(r'id="trades-data">(.*?)</script>', page, re.S)
    assert island is not None
    table = json.loads(island.group(1))
    status = table["columns"].index("status")
    net = table["columns"].index("net PnL")
    assert [(r[status], r[net]) for r in table["rows"]] == [("closed", 97.9), ("open", -101.0)]
    assert "1 position(s) still open at the end" in page
    # ... and so does a report rebuilt from the artifacts
    data = ReportData.from_dir(out)
    assert len(data.trades) == 1
    assert [t.net_pnl for t in data.open_trades] == [pytest.approx(-101.0, abs=1e-9)]
    data.compute()
    assert data.metrics["open_positions"] == 1
    assert data.metrics["win_rate"] == 1.0
    # `runs compare` shows it beside the trade statistics
    rows = dict(compare_rows([run_series_from_dir(out)]))
    assert rows["open at end"] == ["1"]
    assert rows["unrealized PnL at end"] == ["-100.00"]


class Scripted(Strategy):
    def __init__(self, actions: dict[int, Any]) -> None:
        super().__init__()
        self.actions = actions
        self.bar_index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bar_index += 1
        if self.bar_index in self.actions:
            self.actions[self.bar_index](ctx)


def run(bars: list[tuple[float, float]], actions: dict[int, Any]) -> Any:
    opens, closes = (np.array(column) for column in zip(*bars, strict=True))
    n = len(bars)
    high, low = np.maximum(opens, closes) + 1, np.minimum(opens, closes) - 1
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, opens, high, low, closes, np.full(n, 1e6))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "allow_short": True},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0},
        }
    )
    return run_backtest(config, frames=[frame], strategy=Scripted(actions))


def test_open_short_is_marked_against_it() -> None:
    # sell 10 at open 100; last close 120: unrealized −10 × (120 − 100) = −200
    result = run([(100, 100), (100, 110), (115, 120)], {0: lambda c: c.sell("X", 10)})
    (trade,) = result.open_trades
    assert (trade.side, trade.is_open, trade.exit_price) == ("short", True, 120.0)
    assert trade.unrealized_pnl == pytest.approx(-200.0)
    assert trade.net_pnl == pytest.approx(-200.0)
    assert result.metrics["num_trades"] == 0
    assert result.metrics["win_rate"] is None
    assert result.metrics["unrealized_pnl"] == pytest.approx(-200.0)
    assert result.metrics["final_equity"] == pytest.approx(9_800.0)


def test_partly_closed_position_splits_realized_and_unrealized() -> None:
    # buy 10 at 100, sell 4 at 110 (realized 40), last close 90: unrealized 6 × −10 = −60;
    # the open row's gross PnL is realized + unrealized = −20, exit price the mean of the
    # exits, (4 × 110 + 6 × 90) / 10 = 98
    result = run(
        [(100, 100), (100, 105), (110, 100), (95, 90)],
        {0: lambda c: c.buy("X", 10), 1: lambda c: c.sell("X", 4)},
    )
    (trade,) = result.open_trades
    assert trade.unrealized_pnl == pytest.approx(-60.0)
    assert trade.gross_pnl == pytest.approx(-20.0)
    assert trade.exit_price == pytest.approx(98.0)
    assert result.metrics["final_equity"] == pytest.approx(10_000 - 20.0)
    # the recorder's own open trade is untouched by the marking
    assert result.recorder.open_trades["X"].exit_quantity == 4.0


def test_flat_at_the_end_has_no_open_rows() -> None:
    result = run(
        [(100, 100), (100, 105), (110, 100)],
        {0: lambda c: c.buy("X", 10), 1: lambda c: c.sell("X", 10)},
    )
    assert result.open_trades == []
    assert result.metrics["open_positions"] == 0
    assert result.metrics["unrealized_pnl"] == 0.0


def test_open_position_in_a_foreign_currency_is_marked_at_the_rate_at_the_end(
    tmp_path: Path,
) -> None:
    # USD account, X quoted in EUR. Rate bars close at T0 + j days with 1.1, 1.2, ..., 1.5:
    # buy 10 at open 100 of bar 1 (rate 1.2): cost 1,200 USD. Last close 110 at T0 + 4
    # days, rate then 1.5: unrealized 10 × (110 × 1.5 − 120) = 450; equity 10,450.
    rates = [1.1, 1.2, 1.3, 1.4, 1.5]
    lines = ["timestamp,open,high,low,close"]
    for j, rate in enumerate(rates):
        lines.append(f"{(T0 - DAY + j * DAY) // 10**6},{rate},{rate},{rate},{rate}")
    (tmp_path / "eur.csv").write_text("\n".join(lines) + "\n")
    bars = [(100.0, 100.0), (100.0, 105.0), (105.0, 108.0), (108.0, 110.0)]
    opens, closes = (np.array(column) for column in zip(*bars, strict=True))
    frame = BarFrame(
        "X", DAY, T0 + np.arange(4) * DAY, opens, opens + 5, opens - 5, closes, np.full(4, 1e6)
    )
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USD"},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0, "quote_currency": "EUR"}],
            "fx": [{"currency": "EUR", "path": str(tmp_path / "eur.csv")}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0},
        }
    )
    result = run_backtest(config, frames=[frame], strategy=Scripted({0: lambda c: c.buy("X", 10)}))
    (trade,) = result.open_trades
    assert trade.exit_price == 110.0  # quote currency
    assert trade.unrealized_pnl == pytest.approx(450.0)
    assert trade.net_pnl == pytest.approx(450.0)  # account currency, FX revaluation included
    assert result.metrics["final_equity"] == pytest.approx(10_450.0)
    assert result.metrics["unrealized_pnl"] == pytest.approx(450.0)
