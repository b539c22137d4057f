"""``kestrel live-report``: a live account's stored curve as equity.csv, metrics.json and the
report page, across sessions, with the backtest's metric code (issue 15).

The account is written through `LiveLedger` as a node would: a baseline, one filled buy,
equity rows from two sessions with a gap between them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.cli_live import config_text
from engine.config import load_config
from engine.persistence import RunStore
from engine.report.data import FillRow
from engine.report.metrics import compute_metrics
from engine.runtime.live import LiveFill, LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.ledger import Baseline, EquityRow
from tests.integration.conftest import CliRunner, assert_one_line_error
from tests.integration.test_live_crash import CONFIG

HOUR = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000  # 2023-11-14T22:13:20Z
ROWS = [
    EquityRow(T0 + 1 * HOUR, 1, 10_000.0, 10_000.0, 0.0),
    EquityRow(T0 + 2 * HOUR, 1, 6_995.5, 10_010.5, 3_015.0),
    EquityRow(T0 + 3 * HOUR, 1, 6_995.5, 9_980.25, 2_984.75),
    EquityRow(T0 + 7 * HOUR, 2, 6_995.5, 10_100.0, 3_104.5),  # down for 3 hours
    EquityRow(T0 + 8 * HOUR, 2, 6_995.5, 10_120.125, 3_124.625),
]


def _account(db: Path, rows: list[EquityRow]) -> LiveLedger:
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), "rep")
    ledger.create_account(Baseline("binance", T0 // 1_000_000, {"USDT": 10_000.0}), [])
    ledger.insert(LiveOrder("kst-1", "sma-1", "sma", "BTC/USDT", "buy", "market", 0.1, None,
                            "GTC", LiveStatus.FILLED, filled_quantity=0.1, average_price=30_000.0,
                            ts_created=T0 // 1_000_000, ts_last=T0 // 1_000_000))  # fmt: skip
    ledger.add_fills([LiveFill("t-1", "kst-1", "1", "BTC/USDT", "buy", 0.1, 30_000.0, 4.5,
                               "USDT", "taker", (T0 + HOUR) // 1_000_000)])  # fmt: skip
    for row in rows:
        ledger.checkpoint("sma", equity=row)
    return ledger


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rep.toml"
    path.write_text(CONFIG.replace('name = "crash"', 'name = "rep"'))
    return path


def test_the_report_holds_every_sessions_rows_and_the_backtests_metrics(
    kestrel: CliRunner, tmp_path: Path, config: Path
) -> None:
    db, out = tmp_path / "k.db", tmp_path / "out"
    _account(db, ROWS)
    result = kestrel("live-report", str(config), "--db", f"sqlite:///{db}", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"live report of account rep: {out / 'report.html'}"
    assert (out / "equity.csv").read_text() == (
        "ts_event,cash,equity,gross_exposure\n"
        "2023-11-14T23:13:20Z,10000.0,10000.0,0.0\n"
        "2023-11-15T00:13:20Z,6995.5,10010.5,3015.0\n"
        "2023-11-15T01:13:20Z,6995.5,9980.25,2984.75\n"
        "2023-11-15T05:13:20Z,6995.5,10100.0,3104.5\n"
        "2023-11-15T06:13:20Z,6995.5,10120.125,3124.625\n"
    )
    metrics = json.loads((out / "metrics.json").read_text())
    expected = compute_metrics(
        initial_cash=10_000.0,
        start_ns=T0,  # the account's creation (its baseline)
        ts=np.array([r.ts_ns for r in ROWS]),
        equity=np.array([r.equity for r in ROWS]),
        gross_exposure=np.array([r.gross_exposure for r in ROWS]),
        trades=[],
        fees_paid=4.5,
        fills=[FillRow("t-1", "sma-1", "BTC/USDT", "buy", 0.1, 30_000.0, 4.5, T0 + HOUR)],
    )
    assert metrics == json.loads(json.dumps(expected))
    assert (metrics["final_equity"], metrics["bars"], metrics["fees_paid"]) == (10_120.125, 5, 4.5)
    assert metrics["total_return"] == pytest.approx(0.0120125, rel=1e-12)
    # the buy is still open, and no bar is stored to mark it at (written without live_bars)
    assert (metrics["num_trades"], metrics["open_positions"]) == (0, 0)
    assert (
        "open position in BTC/USDT left out of open_positions" in (out / "report.html").read_text()
    )
    page = (out / "report.html").read_text()
    assert "live account rep: 5 bars from the store (live_equity) over 2 session(s)" in page
    island = re.search(r'data-chart="chart-equity">(.*?)</script>', page, re.S)
    assert island is not None
    trace = json.loads(island.group(1))["data"][0]
    assert trace["y"] == np.round([r.equity for r in ROWS], 2).tolist()  # the chart's cents
    assert trace["x"] == [r.ts_ns // 1_000_000 for r in ROWS]
    # a second run replaces its own files
    again = kestrel("live-report", str(config), "--db", f"sqlite:///{db}", "--out", str(out))
    assert again.code == 0, again.err


def test_bad_input_is_one_line(kestrel: CliRunner, tmp_path: Path, config: Path) -> None:
    db = tmp_path / "k.db"
    url = f"sqlite:///{db}"
    missing = kestrel("live-report", str(config), "--db", url, "--account", "nobody",
                      "--out", str(tmp_path / "a"))  # fmt: skip
    assert_one_line_error(missing, f"no run store at {db}")  # a report never creates one
    assert not db.exists()
    _account(db, [])
    unknown = kestrel("live-report", str(config), "--db", url, "--account", "nobody",
                      "--out", str(tmp_path / "a"))  # fmt: skip
    assert_one_line_error(unknown, "no live account 'nobody' in the store")
    empty = kestrel("live-report", str(config), "--db", url, "--out", str(tmp_path / "b"))
    assert_one_line_error(empty, "live account 'rep' has no equity rows yet")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = kestrel("live-report", str(config), "--db", url, "--out", str(foreign))
    assert_one_line_error(refused, "holds files Kestrel did not write there (notes.txt)")
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_an_account_without_a_stored_config_is_listed_with_what_is_known(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """An account no session has started since schema 11: its bars and last equity, no more."""
    db = tmp_path / "k.db"
    _account(db, ROWS)
    url = f"sqlite:///{db}"
    listed = kestrel("runs", "list", "--db", url)
    assert listed.code == 0, listed.err
    line = next(line for line in listed.out.splitlines() if "live-rep" in line)
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells[4:] == ["5", "—", "—", "—", "—"]  # bars, return, sharpe, max dd, trades
    shown = kestrel("runs", "show", "live-rep", "--db", url)
    assert shown.code == 0, shown.err
    assert "bars: 5  (metrics once a session of this Kestrel has run" in shown.out
    assert "kestrel live-report CONFIG --account rep" in shown.out
    deleted = kestrel("runs", "delete", "live-rep", "--db", url, "--yes")
    assert_one_line_error(deleted, "no run 'live-rep'", "a live account is not a run")


@pytest.mark.parametrize(
    ("edit", "parts"),
    [
        (("initial_cash = 10000.0", "initial_cash = 20000.0"), "account"),
        (('symbol = "BTC/USDT"', 'symbol = "ETH/USDT"'), "instruments"),
    ],
    ids=["initial_cash", "symbol"],
)
def test_a_config_other_than_the_accounts_is_refused(
    kestrel: CliRunner, tmp_path: Path, config: Path, edit: tuple[str, str], parts: str
) -> None:
    """The report took the starting cash from whatever config it was given: an account that
    gained 0.47 % read -49.76 % with a 20,000 config, exit 0, while its equity.csv began at
    10,000 (an audit). The parts a live account keeps for life must be its stored ones."""
    db, out = tmp_path / "k.db", tmp_path / "out"
    ledger = _account(db, ROWS)
    ledger.begin_session(config_text(load_config(config)))  # as `kestrel live` stores it
    assert edit[0] in config.read_text()
    other = tmp_path / "other.toml"
    other.write_text(config.read_text().replace(*edit))
    refused = kestrel("live-report", str(other), "--db", f"sqlite:///{db}", "--out", str(out))
    assert_one_line_error(refused, "live account 'rep' runs with another config", parts)
    assert not out.exists()
    same = kestrel("live-report", str(config), "--db", f"sqlite:///{db}", "--out", str(out))
    assert same.code == 0, same.err
    assert json.loads((out / "metrics.json").read_text())["initial_cash"] == 10_000.0


def test_parameters_changed_between_sessions_do_not_block_the_report(
    kestrel: CliRunner, tmp_path: Path, config: Path
) -> None:
    """A live restart takes new parameters (`kestrel live` compares strategy, instruments and
    [account] only): the report of such an account takes either config, with equal figures."""
    db = tmp_path / "k.db"
    ledger = _account(db, ROWS)
    ledger.begin_session(config_text(load_config(config)))
    other = tmp_path / "other.toml"
    other.write_text(config.read_text().replace("fast = 2", "fast = 3"))
    figures = []
    for name, path in (("a", config), ("b", other)):
        result = kestrel("live-report", str(path), "--db", f"sqlite:///{db}", "--out",
                         str(tmp_path / name))  # fmt: skip
        assert result.code == 0, result.err
        figures.append((tmp_path / name / "metrics.json").read_text())
    assert figures[0] == figures[1]
