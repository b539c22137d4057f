"""The CLI's SMA crossover on GOOG equals an independent loop, trade by trade, to the cent.

The reference below shares no code with the engine: pandas rolling means for the SMAs and
a plain Python loop for signals, sizing, fills and cash, following the documented rules:
- signal on bar t's close: fast SMA(10) crosses above / below slow SMA(30), strictly (the
  previous bar strictly below / above: a tie is neither, as SmaCross);
- buy all-in at bar t+1's open: quantity = floor(equity_t / (close_t × 1.001)), capped at
  fill time by what cash pays at the open, floor(cash / (open × 1.001)) (whole shares);
- sell the whole position at bar t+1's open; fee 0.1% of notional on every fill;
- final equity = cash + shares × last close.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import REPO, CliRunner

FEE = 0.001


def reference_run(path: Path, cash: float = 10_000.0) -> tuple[list[dict[str, object]], float]:
    prices = pd.read_csv(path, index_col=0, parse_dates=True)
    opens = prices["Open"].to_numpy()
    closes = prices["Close"].to_numpy()
    dates = [d.strftime("%Y-%m-%d") for d in prices.index]
    fast = prices["Close"].rolling(10).mean().to_numpy()
    slow = prices["Close"].rolling(30).mean().to_numpy()
    shares = 0
    pending: tuple[str, int] | None = None
    trades: list[dict[str, object]] = []
    for t in range(len(closes)):
        if pending is not None:
            side, quantity = pending
            price = opens[t]
            if side == "buy":
                quantity = min(quantity, math.floor(cash / (price * (1 + FEE))))
                if quantity > 0:
                    cash -= quantity * price + FEE * quantity * price
                    shares = quantity
                    trades.append({"entry": dates[t], "entry_price": price, "quantity": quantity})
            else:
                cash += quantity * price - FEE * quantity * price
                shares = 0
                trades[-1].update(exit=dates[t], exit_price=price)
            pending = None
        if t < 30:
            continue
        crossed_up = fast[t] > slow[t] and fast[t - 1] < slow[t - 1]
        crossed_down = fast[t] < slow[t] and fast[t - 1] > slow[t - 1]
        if crossed_up and shares == 0:
            pending = ("buy", math.floor(cash / (closes[t] * (1 + FEE))))
        elif crossed_down and shares > 0:
            pending = ("sell", shares)
    return trades, cash + shares * closes[-1]


def test_goog_sma_cross_matches_independent_loop(kestrel: CliRunner, tmp_path: Path) -> None:
    expected_trades, expected_equity = reference_run(REPO / "data" / "GOOG.csv")
    closed = [t for t in expected_trades if "exit" in t]
    assert len(closed) > 20  # the comparison must mean something

    result = kestrel("backtest", "configs/sma_cross_goog.toml", "--out", str(tmp_path), "--no-db")
    assert result.code == 0, result.err

    with (tmp_path / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    got = [row for row in rows if row["status"] == "closed"]
    assert len(got) == len(closed)
    # the position still held at the end follows, marked to the last close
    held = [t for t in expected_trades if "exit" not in t]
    marked = [row for row in rows if row["status"] == "open"]
    assert len(marked) == len(held) == 1
    last_close = float(pd.read_csv(REPO / "data" / "GOOG.csv")["Close"].iloc[-1])
    assert marked[0]["entry_time"][:10] == held[0]["entry"]
    assert float(marked[0]["quantity"]) == held[0]["quantity"]
    assert float(marked[0]["exit_price"]) == last_close
    unrealized = float(held[0]["quantity"]) * (last_close - float(held[0]["entry_price"]))
    assert float(marked[0]["unrealized_pnl"]) == pytest.approx(unrealized, abs=1e-6)
    for mine, theirs in zip(got, closed, strict=True):
        assert mine["entry_time"][:10] == theirs["entry"]
        assert mine["exit_time"][:10] == theirs["exit"]
        assert float(mine["quantity"]) == theirs["quantity"]
        assert float(mine["entry_price"]) == pytest.approx(theirs["entry_price"], abs=1e-9)
        assert float(mine["exit_price"]) == pytest.approx(theirs["exit_price"], abs=1e-9)

    metrics = pd.read_json(tmp_path / "metrics.json", typ="series")
    assert round(float(metrics["final_equity"]), 2) == round(expected_equity, 2)
    equity = pd.read_csv(tmp_path / "equity.csv")
    assert equity["equity"].iloc[-1] == pytest.approx(expected_equity, abs=0.005)
