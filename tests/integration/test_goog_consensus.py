"""GOOG SMA(10/30) all-in at the fill price: the five reference engines' figures, to the cent.

backtesting.py, backtrader, vectorbt, NautilusTrader and zipline agree on GOOG SMA(10/30),
long-only, all-in, whole shares, 100,000 cash: 32 closed trades, 676 shares held at the
end and final equity 545,599.2965 with a 0.1% fee; 722 shares and 582,079.55 without fees.
``configs/sma_cross_goog_consensus.toml`` (``execution.target_sizing = "fill"``) must give
them. The reference loop below imports nothing from the engine: pandas rolling means, then
plain Python — as backtesting.py sizes ``buy()`` (all-in): on the cross at bar t's close
(strict: the previous bar strictly below / above), buy at bar t+1's open
``floor(cash / (open × (1 + fee)))`` shares; sell everything at the open after a cross
down; final equity = cash + shares × last close.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from engine.report.artifacts import ARTIFACT_FILES
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = "configs/sma_cross_goog_consensus.toml"


def reference_run(fee: float, cash: float = 100_000.0) -> tuple[list[dict[str, object]], float]:
    """Return the round trips (the last one may be open) and the final equity."""
    prices = pd.read_csv(REPO / "data" / "GOOG.csv", index_col=0, parse_dates=True)
    opens = prices["Open"].to_numpy()
    closes = prices["Close"].to_numpy()
    dates = [d.strftime("%Y-%m-%d") for d in prices.index]
    fast = prices["Close"].rolling(10).mean().to_numpy()
    slow = prices["Close"].rolling(30).mean().to_numpy()
    shares = 0
    pending = ""
    trades: list[dict[str, object]] = []
    for t in range(len(closes)):
        if pending == "buy":
            shares = math.floor(cash / (opens[t] * (1 + fee)))
            cash -= shares * opens[t] * (1 + fee)
            trades.append({"entry": dates[t], "entry_price": opens[t], "quantity": shares})
        elif pending == "sell":
            cash += shares * opens[t] * (1 - fee)
            shares = 0
            trades[-1].update(exit=dates[t], exit_price=opens[t])
        pending = ""
        if t < 30:
            continue
        if fast[t] > slow[t] and fast[t - 1] < slow[t - 1] and shares == 0:
            pending = "buy"
        elif fast[t] < slow[t] and fast[t - 1] > slow[t - 1] and shares > 0:
            pending = "sell"
    return trades, cash + shares * closes[-1]


@pytest.mark.parametrize(
    ("fee", "held", "consensus"), [(0.001, 676, 545_599.2965), (0.0, 722, 582_079.55)]
)
def test_goog_consensus_all_in_at_the_fill_price(
    kestrel: CliRunner, tmp_path: Path, fee: float, held: int, consensus: float
) -> None:
    trades, equity = reference_run(fee)
    closed = [t for t in trades if "exit" in t]
    # the loop reproduces the five engines' figures
    assert len(closed) == 32
    assert trades[-1]["quantity"] == held
    assert "exit" not in trades[-1]
    assert round(equity, 4) == consensus

    result = kestrel(
        "backtest", CONFIG, "--out", str(tmp_path), "--no-db",
        "--set", f"execution.fee_rate={fee}",
    )  # fmt: skip
    assert result.code == 0, result.err
    with (tmp_path / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    got = [row for row in rows if row.get("status", "closed") == "closed"]
    assert len(got) == 32
    for mine, theirs in zip(got, closed, strict=True):
        assert mine["entry_time"][:10] == theirs["entry"]
        assert mine["exit_time"][:10] == theirs["exit"]
        assert float(mine["quantity"]) == theirs["quantity"]
        assert float(mine["entry_price"]) == pytest.approx(theirs["entry_price"], abs=1e-9)
        assert float(mine["exit_price"]) == pytest.approx(theirs["exit_price"], abs=1e-9)
    with (tmp_path / "fills.csv").open() as handle:
        fills = list(csv.DictReader(handle))
    assert len(fills) == 65  # 32 round trips and the open buy
    assert fills[-1]["side"] == "buy"
    assert float(fills[-1]["quantity"]) == held
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["final_equity"] == pytest.approx(equity, abs=0.005)
    assert round(metrics["final_equity"], 2) == round(consensus, 2)
    final = pd.read_csv(tmp_path / "equity.csv")["equity"].iloc[-1]
    assert final == pytest.approx(equity, abs=0.005)


def test_sizing_at_the_close_differs_on_the_same_data(kestrel: CliRunner, tmp_path: Path) -> None:
    # The default (target_sizing = "close") sizes at the signal's close and trims at the
    # open: 544,674.61 (the figure), so the setting is what makes the difference.
    result = kestrel(
        "backtest", CONFIG, "--out", str(tmp_path), "--no-db",
        "--set", "execution.target_sizing=close",
    )  # fmt: skip
    assert result.code == 0, result.err
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert round(metrics["final_equity"], 2) == 544_674.61


def test_consensus_run_is_deterministic(kestrel: CliRunner, tmp_path: Path) -> None:
    for folder in ("a", "b"):
        result = kestrel("backtest", CONFIG, "--out", str(tmp_path / folder), "--no-db")
        assert result.code == 0, result.err
    for name in ARTIFACT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_misspelt_sizing_setting_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(
        "backtest", CONFIG, "--out", str(tmp_path), "--no-db",
        "--set", "execution.target_sizing=fil",
    )  # fmt: skip
    assert_one_line_error(result, "target_sizing", "did you mean 'fill'")
