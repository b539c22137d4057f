"""``kestrel live`` trading a USDⓈ-M perpetual, through the CLI against the local exchange
(issue 15: positions for derivatives; the command itself, not only the node in-process).

The local exchange runs in this process, paused, replaying BTC/USDT hours as a perpetual
with 8-hourly funding (+0.01 %, -0.005 %, alternating), and the node is a ``kestrel live``
subprocess pointed at it (``--exchange-url``). The test moves the exchange one bar at a
time and waits for the node's ``event`` record of that bar before the next: the node decides
on each bar before the exchange moves on, so its market orders fill at the next bar's open,
where a backtest fills them. `LongShort` (0.1 BTC long after a rising bar, short after a
falling one, flat from the second-to-last bar) at ``[account] leverage = 3``.

* Parity: the backtest of the same config over the bars the node traded has the stored
  fills (side, quantity, price, fee), and the node's last equity row its cash and equity;
  the exchange's margin balance is that equity, its wallet 10,000 + realized PnL − fees +
  funding, its position the backtest's (flat), every close went out reduce-only, the
  exchange holds leverage 3, the fills came on the futures user-data stream and the bars on
  its kline websocket, and the funding the node booked is the exchange's payments.
* SIGKILL: the node is killed right after the exchange moved (a bar in hand), while idle
  between bars, and while it starts; each restart's portfolio (cash + position at the
  exchange's price) is the exchange's margin balance — funding paid before the kill
  included — and at the end every exchange order is stored once, client ids unique, and the
  stored position is the exchange's. The exchange pays three times the config's rates here:
  the node's final cash is the exchange's wallet less the position's cost, so it booked the
  exchange's funding, not its file's.
* ``kestrel live-report`` reports the perpetual account: its trades are the round trips of
  the stored fills.
* ``--replay`` of the config: the in-process exchange replays perpetuals; an SMA crossover
  warms up from the swap klines and trades.
* ``kestrel live-kill``: the node closes its position with a reduce-only market order and
  halts (exit 0).
* Bad input: hedge mode, isolated margin, a symbol with no linear perpetual (coin-margined),
  a missing funding file: one line, exit 2.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine import load_config, run_backtest
from engine.adapters.local import LocalExchange
from engine.feeds import BarFrame, load_bars
from engine.model import OrderSide
from engine.persistence import RunStore
from engine.portfolio.accounts import load_funding_rates
from engine.runtime.live import LiveLedger
from engine.runtime.live.kill import node_positions
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.perp_config import perpetual_config
from tests.integration.test_live_perpetual_parity import funding_file
from tests.integration.test_live_restart_cli import _records as records

SYMBOL = "BTC/USDT"
SECRET = "perp-secret-3f1a"
END = "2020-12-06"  # 120 hourly bars
HISTORY = 24  # bars closed before the node starts (the backtest starts after them)
ACCOUNT = "perp"


def write_config(tmp_path: Path, funding: Path, frame: BarFrame, **extra: str) -> Path:
    """Write the live config (the backtest's too, over the bars the node trades)."""
    flat_from = int(frame.ts_close_ns[-2])
    return perpetual_config(
        tmp_path / "perp.toml",
        name=ACCOUNT,
        start=pd.Timestamp(int(frame.ts_open_ns[HISTORY]), tz="UTC").isoformat(),
        end=END,
        funding=funding,
        strategy="tests.integration.long_short:LongShort",
        strategy_id="ls",
        params=f"quantity = 0.1, flat_from_ns = {flat_from}",
        account_extra=extra.get("account", ""),
    )


def perpetual_exchange(frame: BarFrame, funding: Path) -> LocalExchange:
    local = LocalExchange(
        [frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=HISTORY, fee_rate=0.0004,
        perpetual=True, funding={SYMBOL: load_funding_rates(funding)},
    )  # fmt: skip
    local.start()
    return local


def wait(condition: Callable[[], bool], what: str, node: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90.0
    while time.monotonic() < deadline:
        if condition():
            return
        if node.poll() is not None:
            pytest.fail(f"the node ended while waiting for {what}: {node.stderr.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


class Node:
    """One ``kestrel live`` subprocess on the test's exchange."""

    def __init__(self, config: Path, local: LocalExchange, tmp_path: Path) -> None:
        self.log = tmp_path / "log"
        env = {**os.environ, "KESTREL_API_KEY": "perp-key", "KESTREL_API_SECRET": SECRET,
               "PYTHONPATH": str(REPO)}  # fmt: skip
        env.pop("KESTREL_DB_URL", None)
        command = [sys.executable, "-m", "engine.cli", "live", str(config), "--live",
                   "--exchange-url", local.urls["http"], "--db",
                   f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(self.log)]  # fmt: skip
        self.starts = len(records(self.log, "start"))
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.local = local

    def started(self) -> dict[str, Any]:
        """Wait for this node's start record and its websockets; return the record."""
        wait(lambda: len(records(self.log, "start")) > self.starts, "the start", self.process)
        wait(lambda: self.local.listening(("btcusdt@kline_1h",), user=True), "the websockets",
             self.process)  # fmt: skip
        return records(self.log, "start")[-1]

    def handled(self, close_ns: int) -> bool:
        stamp = pd.Timestamp(close_ns, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        return any(r["ts"] == stamp for r in records(self.log, "event"))

    def step(self, close_ns: int) -> None:
        """Close the bar closing at ``close_ns``; wait until the node has handled it."""
        self.local.advance(1)
        wait(lambda: self.handled(close_ns), f"the bar closing at {close_ns}", self.process)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err.decode()
        return out.decode()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


def node_fills(db: Path, account: str = ACCOUNT) -> list[tuple[str, float, float, float]]:
    """Return the node's stored fills ``(side, quantity, price, fee)``, oldest first."""
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), account)
    own = {o.client_id for o in ledger.orders(origin="node")}
    fills = sorted((f for f in ledger.fills() if f.client_id in own),
                   key=lambda f: (f.ts_event, int(f.trade_id)))  # fmt: skip
    return [(f.side, f.quantity, f.price, f.fee) for f in fills]


def last_equity(db: Path) -> tuple[float, float]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT cash, equity FROM live_equity WHERE account = ? ORDER BY ts_ns DESC LIMIT 1",
            (ACCOUNT,),
        ).fetchone()
    return float(row[0]), float(row[1])


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The bars, the config and the exchange, which pays the config's funding rates times
    ``request.param`` (default 1: the backtest's)."""
    funding = funding_file(tmp_path)
    paid = funding
    factor = float(getattr(request, "param", 1.0))
    if factor != 1.0:
        rates = pd.read_csv(funding)
        rates["rate"] *= factor
        paid = tmp_path / "exchange_funding.csv"
        rates.to_csv(paid, index=False)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    local = perpetual_exchange(frame, paid)
    yield frame, write_config(tmp_path, funding, frame), local
    local.stop()


@pytest.mark.slow
def test_a_perpetual_traded_by_kestrel_live_ends_with_the_backtests_figures(
    rig: Any, tmp_path: Path, kestrel: CliRunner
) -> None:
    frame, config, local = rig
    node = Node(config, local, tmp_path)
    start = node.started()
    assert (start["perpetuals"], start["leverage"]) == ([SYMBOL], 3)
    for index in range(HISTORY, len(frame) - 1):  # the exchange never closes its last bar
        node.step(int(frame.ts_close_ns[index]))
    out = node.stop()
    assert "stopped" in out
    backtest = run_backtest(load_config(config))
    expected = backtest.recorder.fills
    assert len(expected) >= 40
    assert {f.side for f in expected} == {OrderSide.BUY, OrderSide.SELL}
    assert backtest.portfolio.cash_flows != 0.0  # funding was paid and received
    stored = node_fills(tmp_path / "k.db")
    assert [(side, quantity) for side, quantity, _, _ in stored] == [
        (f.side.value, f.quantity) for f in expected
    ]
    for (_, _, price, fee), want in zip(stored, expected, strict=True):
        assert price == pytest.approx(want.price, abs=1e-9)
        assert fee == pytest.approx(want.fee, abs=1e-8)
    cash, equity = last_equity(tmp_path / "k.db")
    portfolio = backtest.portfolio
    assert cash == pytest.approx(portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(portfolio.equity, abs=1e-6)
    usdt = local.venue.account_json()["assets"][0]  # type: ignore[attr-defined]
    assert float(usdt["marginBalance"]) == pytest.approx(portfolio.equity, abs=1e-6)
    position = portfolio.positions[SYMBOL]
    wallet = 10_000.0 + position.realized_pnl - position.fees + portfolio.cash_flows
    assert float(usdt["walletBalance"]) == pytest.approx(wallet, abs=1e-6)
    assert local.venue.positions[SYMBOL].amount == position.quantity == 0.0  # type: ignore[attr-defined]
    assert local.venue.leverage[SYMBOL] == 3  # type: ignore[attr-defined]
    reduce = [o.reduce_only for o in local.venue.orders.values()]
    assert reduce == [False, True] * (len(expected) // 2)
    stop = records(tmp_path / "log", "stop")[-1]
    # the funding the node booked is the exchange's record, and the backtest's figure
    income = local.venue.income  # type: ignore[attr-defined]
    assert stop["funding_payments"] == len(income) >= 3
    assert stop["funding_booked"] == pytest.approx(portfolio.cash_flows, abs=1e-9)
    assert stop["user_stream"]["reports"] >= len(expected)  # the futures stream carried them
    assert stop["feed"]["stream_bars"] >= 1  # and the kline websocket the bars
    # the report of the perpetual account: its trades are the stored round trips
    report = tmp_path / "report"
    result = kestrel("live-report", str(config), "--db", f"sqlite:///{tmp_path / 'k.db'}",
                     "--out", str(report))  # fmt: skip
    assert result.code == 0, result.err
    with (report / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    assert len(trades) == len(expected) // 2
    assert [t["side"] for t in trades] == [
        "long" if f.side is OrderSide.BUY else "short" for f in expected[::2]
    ]
    net = sum(float(t["net_pnl"]) for t in trades)
    assert net == pytest.approx(sum(
        (-1.0 if side == "buy" else 1.0) * quantity * price - fee
        for side, quantity, price, fee in stored
    ), abs=1e-6)  # fmt: skip
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["final_equity"] == pytest.approx(portfolio.equity, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("rig", [3.0], indirect=True)  # the exchange's funding is not the file's
def test_a_perpetual_node_killed_three_times_loses_and_doubles_nothing(
    rig: Any, tmp_path: Path
) -> None:
    frame, config, local = rig
    ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), ACCOUNT)
    # kill: right after the exchange moved (the bar in hand), idle after a bar, while starting
    kills = {HISTORY + 20: "moved", HISTORY + 40: "idle", HISTORY + 60: "starting"}
    node = Node(config, local, tmp_path)
    node.started()
    restarts = []
    for index in range(HISTORY, len(frame) - 1):
        close_ns = int(frame.ts_close_ns[index])
        moment = kills.get(index)
        if moment == "moved":
            local.advance(1)
            node.kill()
        elif moment == "starting":
            node.kill()
            node = Node(config, local, tmp_path)
            time.sleep(0.3)  # somewhere in its warm-up, restore or reconciliation
            node.kill()
            local.advance(1)
        else:
            node.step(close_ns)
            if moment == "idle":
                node.kill()
        if moment is None:
            continue
        node = Node(config, local, tmp_path)
        restarts.append(node.started())
        restarted_ms = local.replay.now_ms
        # the exchange has not moved since: the restored portfolio is the exchange's account
        account = local.venue.account_json()  # type: ignore[attr-defined]
        held = local.venue.positions[SYMBOL].amount  # type: ignore[attr-defined]
        mark = local.venue.mark(SYMBOL)  # type: ignore[attr-defined]
        assert restarts[-1]["positions"][SYMBOL] == pytest.approx(held, abs=1e-12)
        equity = restarts[-1]["cash"] + held * mark
        assert equity == pytest.approx(float(account["totalMarginBalance"]), abs=1e-6)
    node.stop()
    # the node booked the exchange's funding, not its file's (three times as much): its cash
    # is the exchange's wallet less the position's cost (C0 - sum of signed notionals - fees
    # + funding = W0 + realized - fees + funding - position x entry, C0 = W0)
    usdt = local.venue.account_json()["assets"][0]  # type: ignore[attr-defined]
    position = local.venue.positions[SYMBOL]  # type: ignore[attr-defined]
    income = local.venue.income  # type: ignore[attr-defined]
    assert [r for r in income if r["time"] > restarted_ms], "funding paid after the last start"
    cash, _ = last_equity(tmp_path / "k.db")
    expected = float(usdt["walletBalance"]) - position.amount * position.entry_price
    assert cash == pytest.approx(expected, abs=1e-6)
    assert len(restarts) == 3
    assert any(r["positions"][SYMBOL] != 0.0 for r in restarts), "a position was restored"
    assert any(r["restored_funding"] != 0.0 for r in restarts), (
        "funding came back from the exchange"
    )
    at_exchange = list(local.venue.orders.values())
    stored = {o.client_id: o for o in ledger.orders(origin=None)}
    sent = [o.client_id for o in at_exchange]
    assert len(sent) == len(set(sent)) == len(ledger.orders(origin="node"))
    assert all(client_id in stored for client_id in sent)
    for order in at_exchange:
        assert stored[order.client_id].filled_quantity == pytest.approx(order.filled)
    fills = [f for f in ledger.fills() if f.client_id != "baseline"]
    assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in local.venue.trades)
    held = local.venue.positions[SYMBOL].amount  # type: ignore[attr-defined]
    assert node_positions(ledger, {SYMBOL: BTC})[SYMBOL] == pytest.approx(held, abs=1e-12)


def test_hedge_mode_isolated_margin_coin_margined_and_no_funding_file_are_one_line_each(
    rig: Any, tmp_path: Path, kestrel: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config, local = rig
    monkeypatch.setenv("KESTREL_API_KEY", "perp-key")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    common = ["--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log")]
    text = config.read_text()
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace(str(tmp_path / "funding.csv"), str(tmp_path / "nope.csv")))
    result = kestrel("live", str(missing), "--live", "--replay", str(missing), *common)
    assert_one_line_error(result, "nope.csv")
    inverse = tmp_path / "inverse.toml"  # BTC/USD: no BTC/USD:USD linear swap is listed
    inverse.write_text(text.replace(f'"{SYMBOL}"', '"BTC/USD"').replace('"USDT"', '"USD"'))
    result = kestrel("live", str(inverse), "--live", "--exchange-url", local.urls["http"], *common)
    assert_one_line_error(result, "no linear perpetual BTC/USD:USD", "coin-margined")
    local.venue.isolated.add(SYMBOL)  # type: ignore[attr-defined]
    result = kestrel("live", str(config), "--live", "--exchange-url", local.urls["http"], *common)
    assert_one_line_error(result, "isolated margin mode", "cross margin")
    local.venue.isolated.clear()  # type: ignore[attr-defined]
    local.venue.dual_side = True  # type: ignore[attr-defined]
    result = kestrel("live", str(config), "--live", "--exchange-url", local.urls["http"], *common)
    assert_one_line_error(result, "hedge mode", "one-way")


def test_a_practice_run_on_perpetuals_warms_up_from_the_swap_klines(
    rig: Any, tmp_path: Path, kestrel: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--replay`` of the perpetual config: the in-process exchange replays perpetuals with
    the config's funding; an SMA crossover that goes short warms up from the swap market's
    klines and trades."""
    _, config, _ = rig
    monkeypatch.setenv("KESTREL_API_KEY", "perp-key")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    text = config.read_text().replace(
        'path = "tests.integration.long_short:LongShort"',
        'path = "strategies.sma_cross:SmaCross"',
    )
    text = text.split("params = {")[0] + (
        "params = { fast = 3, slow = 6, target_percent = 0.5, allow_short = true }\n"
        + "\n[execution]"
        + text.split("[execution]")[1]
    )
    config.write_text(text)
    log = tmp_path / "log"
    result = kestrel("live", str(config), "--live", "--replay", str(config), "--speed", "max",
                     "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(log),
                     "--max-bars", "40")  # fmt: skip
    assert result.code == 0, result.err
    (start,) = records(log, "start")
    assert (start["perpetuals"], start["leverage"]) == ([SYMBOL], 3)
    assert start["warmup_bars"] == {SYMBOL: 6}  # SMA(6): lookback 5 + 1, from /fapi klines
    assert len(records(log, "event")) == 40
    sides = {side for side, _, _, _ in node_fills(tmp_path / "k.db")}
    assert sides == {"buy", "sell"}


@pytest.mark.slow
def test_live_kill_closes_the_perpetual_position_reduce_only_and_halts(
    rig: Any, tmp_path: Path, kestrel: CliRunner
) -> None:
    frame, config, local = rig
    node = Node(config, local, tmp_path)
    node.started()
    index = HISTORY
    while not local.venue.positions[SYMBOL].amount:  # type: ignore[attr-defined]
        node.step(int(frame.ts_close_ns[index]))
        index += 1
    held = local.venue.positions[SYMBOL].amount  # type: ignore[attr-defined]
    result = kestrel("live-kill", ACCOUNT, "--log-dir", str(node.log))
    assert result.code == 0, result.err
    out, err = node.process.communicate(timeout=60)
    assert node.process.returncode == 0, err.decode()
    assert "killed" in out.decode()
    assert local.venue.positions[SYMBOL].amount == 0.0  # type: ignore[attr-defined]
    closing = list(local.venue.orders.values())[-1]
    assert (closing.reduce_only, closing.side) == (True, "SELL" if held > 0 else "BUY")
    assert closing.filled == pytest.approx(abs(held))
