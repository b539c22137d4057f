"""What ``kestrel live`` refuses at start about the wallet, through the command (audit F1, F2).

* F1: a new account whose ``[account] initial_cash`` exceeds the wallet's free quote is
  refused in one line, exit 2, nothing written (the audit's wallet held 1,000 USDT, the node
  booked 10,000 and said -0.18 % while the wallet lost 1.77 %).
* F2: coins the node bought, sold by hand while it was down, refuse the restart in one line,
  exit 5; an outside trade that leaves the node's coins alone is counted in the start line
  and listed in the start record (``outside_trades``; the audit's record said
  ``"external": []`` though it had recorded an outside fill).

The local exchange runs in this process, paused 24 bars into the BTC/USDT sample; the
restart test's node is a ``kestrel live`` subprocess stepped one bar at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import BarFrame, load_bars
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.conftest import CliRunner, assert_one_line_error
from tests.integration.test_live_crash import CONFIG as CRASH_CONFIG
from tests.integration.test_live_external_fills import _client
from tests.integration.test_live_perpetual_cli import SECRET, Node

SYMBOL = "BTC/USDT"
HISTORY = 24
ACCOUNT = "checks"

STRATEGY = '''
from engine.model import Bar
from engine.strategy import Context, Strategy


class BuyOnce(Strategy):
    """Buys 0.05 BTC at its first bar flat, then holds (restart-safe: it reads the position)."""

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if ctx.position(bar.symbol) == 0 and not ctx.open_orders(bar.symbol):
            ctx.buy(bar.symbol, 0.05)
'''

CONFIG = (
    CRASH_CONFIG.replace('name = "crash"', f'name = "{ACCOUNT}"')
    .replace('mode = "live"', 'mode = "live"\nwarmup_bars = 0')
    .replace("strategies.sma_cross:SmaCross", "buy_once.py:BuyOnce")
    .replace("params = { fast = 2, slow = 4, target_percent = 0.3 }", "")
)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[BarFrame, Path, LocalExchange]]:
    (tmp_path / "buy_once.py").write_text(STRATEGY)
    config = tmp_path / "checks.toml"
    config.write_text(CONFIG)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end="2020-12-06")
    local = LocalExchange([frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=HISTORY,
                          balances={"USDT": 1000.0})  # fmt: skip
    local.start()
    yield frame, config, local
    local.stop()


def test_a_new_account_booking_more_cash_than_the_wallet_has_is_refused(
    rig: tuple[BarFrame, Path, LocalExchange],
    tmp_path: Path,
    kestrel: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, config, local = rig
    monkeypatch.setenv("KESTREL_API_KEY", "any")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    db = tmp_path / "k.db"
    args = ["live", str(config), "--live", "--exchange-url", local.urls["http"],
            "--db", f"sqlite:///{db}", "--log-dir", str(tmp_path / "log")]  # fmt: skip
    result = kestrel(*args)
    assert_one_line_error(
        result,
        "live account 'checks' is new: [account] initial_cash is 10,000.00 USDT",
        "the wallet has 1,000.00 USDT free",
        "lower account.initial_cash to at most 1,000.00 or fund the wallet",
    )
    if db.exists():  # nothing written: the same --account starts once the config is fixed
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM live_accounts").fetchone() == (0,)


@pytest.mark.slow
def test_coins_sold_by_hand_refuse_the_restart_and_outside_trades_are_reported(
    rig: tuple[BarFrame, Path, LocalExchange], tmp_path: Path
) -> None:
    frame, config, local = rig
    # 40 of the wallet's 1,000 USDT are not the node's: the outside buy below spends them
    # (one that spent the node's cash would refuse the restart too: the next test)
    config.write_text(CONFIG.replace("initial_cash = 10000.0", "initial_cash = 960.0"))
    node = Node(config, local, tmp_path)
    start = node.started()
    assert start["outside_trades"] == []
    node.step(int(frame.ts_close_ns[HISTORY]))  # decides the buy
    node.step(int(frame.ts_close_ns[HISTORY + 1]))  # bought 0.05 at this bar's open
    node.stop()
    hand = _client(local).exchange
    bought = hand.create_order(SYMBOL, "market", "buy", 0.002, None, {"clientOrderId": "hand"})

    second = Node(config, local, tmp_path)  # an outside buy: counted, the node trades on
    start = second.started()
    assert [(t["client_id"], t["side"], t["quantity"]) for t in start["outside_trades"]] == [
        (f"external-{bought['id']}", "buy", 0.002),
    ]
    out = second.stop()
    assert "1 outside trade(s) recorded" in out

    hand.create_order(SYMBOL, "market", "sell", 0.03, None, {"clientOrderId": "hand-2"})
    third = Node(config, local, tmp_path)
    _, err = third.process.communicate(timeout=90)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert third.process.returncode == 5, err.decode()
    assert len(lines) == 1, lines
    assert "the node's own fills hold 0.05000000 BTC, the wallet holds 0.02200000 BTC" in lines[0]
    assert "outside trades of BTC: 2 (sold 0.03000000, bought 0.00200000)" in lines[0]


@pytest.mark.slow
def test_cash_spent_by_hand_refuses_the_restart_in_one_line(
    rig: tuple[BarFrame, Path, LocalExchange], tmp_path: Path
) -> None:
    _, config, local = rig
    config.write_text(CONFIG.replace("initial_cash = 10000.0", "initial_cash = 1000.0"))
    node = Node(config, local, tmp_path)
    assert node.started()["cash"] == 1000.0  # all of the wallet's 1,000 USDT
    node.stop()
    hand = _client(local).exchange  # buys BTC with the node's cash while it is down
    bought = hand.create_order(SYMBOL, "market", "buy", 0.02, None, {"clientOrderId": "hand"})
    spent = float(bought["cost"])
    free = float(local.venue.free["USDT"])
    assert free < 1000.0 - spent + 1e-9

    second = Node(config, local, tmp_path)
    _, err = second.process.communicate(timeout=90)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert second.process.returncode == 5, err.decode()
    assert len(lines) == 1, lines
    assert (
        f"the node's cash is 1,000.00 USDT, the wallet has {free:,.2f} USDT free (and 0.00 "
        f"locked by the node's open orders; {1000.0 - free:,.2f} less; outside trades in "
        f"USDT: 1 (bought for {spent:,.2f}, sold for 0.00))"
    ) in lines[0]
    assert "Refusing to trade" in lines[0]
