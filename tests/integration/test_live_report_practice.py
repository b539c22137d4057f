"""``kestrel live-report`` and ``kestrel runs list/show`` over a real practice live run (issue
15): the node trades the SMA crossover on the in-process local exchange for 150 bars
(``--replay``), then the report's round trips, PnL and price chart are checked against the
stored fills and bars by plain arithmetic, and ``runs`` lists and shows the account.

The arithmetic, independent of the report's code: the node's fills (the local exchange
charges its fee in USDT) are walked in time order; a round trip runs from a fill that
leaves a flat position to the fill that makes it flat again, and its net PnL is its sells'
notional minus its buys' minus its fees. Every trade's net PnL, closed and open (marked at
the last close), sums to the change of equity over the run.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.integration.conftest import CliRunner, assert_one_line_error
from tests.integration.test_live_cli import KEY, SECRET, _args, _config

BARS = 150
ACCOUNT = "paper_btc"  # the run name of configs/paper_btc.toml


def _node_fills(db: Path) -> list[tuple[str, float, float, float]]:
    """Return the node's fills ``(side, quantity, price, fee)``, oldest first."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT f.side, f.quantity, f.price, f.fee FROM live_fills f JOIN live_orders o "
            "ON o.account = f.account AND o.client_id = f.client_id "
            "WHERE f.account = ? AND o.origin = 'node' ORDER BY f.ts_event, f.trade_id",
            (ACCOUNT,),
        ).fetchall()


def _round_trips(fills: list[tuple[str, float, float, float]]) -> tuple[list[float], int]:
    """Return the closed round trips' net PnL and the number of fills still open."""
    closed: list[float] = []
    position = pnl = 0.0
    opened = 0
    for side, quantity, price, fee in fills:
        sign = 1.0 if side == "buy" else -1.0
        position += sign * quantity
        pnl += -sign * quantity * price - fee
        opened += 1
        if abs(position) < 1e-12:
            closed.append(pnl)
            position = pnl = 0.0
            opened = 0
    return closed, opened


@pytest.fixture
def practice(kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the practice node for `BARS` bars; return its config."""
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    config = _config(tmp_path)
    result = kestrel(*_args(config, tmp_path, "--live", "--max-bars", str(BARS)))
    assert result.code == 0, result.err
    return config


def test_the_report_of_a_practice_run_has_its_round_trips_and_price_chart(
    kestrel: CliRunner, tmp_path: Path, practice: Path
) -> None:
    db, out = tmp_path / "k.db", tmp_path / "report"
    result = kestrel("live-report", str(practice), "--db", f"sqlite:///{db}", "--out", str(out))
    assert result.code == 0, result.err
    fills = _node_fills(db)
    closed, still_open = _round_trips(fills)
    assert len(closed) >= 2, "the SMA crossover trades in 150 hourly bars"
    with (out / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_trades"] == len(closed)
    assert metrics["open_positions"] == (1 if still_open else 0)
    assert [r["status"] for r in rows] == ["closed"] * len(closed) + ["open"] * bool(still_open)
    assert [float(r["net_pnl"]) for r in rows[: len(closed)]] == pytest.approx(closed, abs=1e-8)
    wins = [p for p in closed if p > 0]
    assert metrics["win_rate"] == pytest.approx(len(wins) / len(closed))
    assert metrics["fees_paid"] == pytest.approx(sum(f[3] for f in fills), abs=1e-8)
    # closed and open trades' PnL is the equity's change (no funding, no borrow fees)
    total = sum(float(r["net_pnl"]) for r in rows)
    assert total == pytest.approx(metrics["final_equity"] - 10_000.0, abs=1e-6)
    assert metrics["bars"] == BARS
    assert metrics["benchmark_total_return"] is not None  # buy & hold from the stored bars
    page = (out / "report.html").read_text()
    island = re.search(r'data-chart="chart-price0">(.*?)</script>', page, re.S)
    assert island is not None, "a price chart"
    traces = {t["name"]: t for t in json.loads(island.group(1))["data"]}
    assert len(traces["close"]["x"]) == BARS  # every bar the node handled
    buys = [f for f in fills if f[0] == "buy"]
    assert traces["buy fills"]["y"] == pytest.approx([f[2] for f in buys])


def test_runs_list_and_show_the_live_account(
    kestrel: CliRunner, tmp_path: Path, practice: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    listed = kestrel("runs", "list", "--db", url)
    assert listed.code == 0, listed.err
    line = next(line for line in listed.out.splitlines() if f"live-{ACCOUNT}" in line)
    assert "strategies.sma_cross:SmaCross" in line
    assert "BTC/USDT" in line
    assert f"{BARS:,}" in line
    trades = len(_round_trips(_node_fills(tmp_path / "k.db"))[0])
    kept = kestrel("runs", "list", "--db", url, "--where", f"trades=={trades}")
    assert kept.out.count(f"live-{ACCOUNT}") == 1
    none = kestrel("runs", "list", "--db", url, "--where", "trades>999")
    assert f"live-{ACCOUNT}" not in none.out
    shown = kestrel("runs", "show", f"live-{ACCOUNT}", "--db", url)
    assert shown.code == 0, shown.err
    assert f"live account: {ACCOUNT} (1 session(s))" in shown.out
    assert f"Live account live-{ACCOUNT}" in shown.out
    assert re.search(rf"trades\s+│?\s*{trades}\b", shown.out), shown.out
    assert f"kestrel live-report CONFIG --account {ACCOUNT}" in shown.out
    unknown = kestrel("runs", "show", "live-nobody", "--db", url)
    assert_one_line_error(unknown, "no live account 'nobody'", f"live-{ACCOUNT}")
