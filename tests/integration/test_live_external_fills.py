"""Fills of orders placed outside the node (by hand on the exchange) while ``kestrel live``
runs are recorded once, by trade id, by a reconciliation the stream's report of the trade
sets off, whatever their time relative to the node's own fills; the restart trades on
(audit F3: it refused with exit 5).

The local exchange runs in this process, paused 24 bars into the BTC/USDT sample, and the
node is a ``kestrel live`` subprocess stepped one bar at a time. Its strategy trades on
most bars and decides from the bar's close hour only, so it does the same after a restart.
Two orders are placed by hand: a limit buy of 0.01 at 18,400 before the node starts (the
node marks it external; row 28's low 18,330 fills it at 18,400) and, once the node has
bought at row 32's open (19,124.49), a market buy of 0.002, which fills at that open too and
is never seen open. The node sells 0.04 at row 33's open, after both: its last fill is
newer than either outside fill (the reconciliation used to read trades only from there).

Hand-computed, at the local exchange's fee of 0.1 % in USDT: the limit costs
0.01 x 18,400 x 1.001 = 184.184 USDT (fee 0.184), the market buy 0.002 x 19,124.49 x
1.001 = 38.28722898 (fee 0.03824898): the wallet holds 0.012 BTC and 222.47122898 USDT
less than the node's own fills explain, and the store must explain exactly that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.adapters.local import LocalExchange
from engine.feeds import BarFrame, load_bars
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus, OrderManager
from engine.runtime.live.kill import node_positions
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.stream import OUTSIDE_TRADE
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.test_live_crash import CONFIG as CRASH_CONFIG
from tests.integration.test_live_perpetual_cli import SECRET, Node, records

SYMBOL = "BTC/USDT"
INSTRUMENTS = {SYMBOL: BTC}
HISTORY = 24  # bars closed before the node starts
ACCOUNT = "outside"

STRATEGY = '''
from engine.model import Bar
from engine.strategy import Context, Strategy


class Churn(Strategy):
    """Trades on most bars, decided from the bar's close hour only (restart-safe)."""

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        hour = (bar.ts_event // 3_600_000_000_000) % 4
        if hour == 0:
            ctx.buy(bar.symbol, 0.05)
        elif hour == 1:
            ctx.sell(bar.symbol, 0.04)
        elif hour == 2:
            ctx.buy(bar.symbol, 0.03, limit_price=round(bar.close * 0.998, 2))
        elif ctx.position(bar.symbol) > 0.05:
            ctx.sell(bar.symbol, 0.03, limit_price=round(bar.close * 1.002, 2))
'''

CONFIG = (
    CRASH_CONFIG.replace('name = "crash"', f'name = "{ACCOUNT}"')
    .replace('mode = "live"', 'mode = "live"\nwarmup_bars = 0')
    .replace("strategies.sma_cross:SmaCross", "churn.py:Churn")
    .replace("params = { fast = 2, slow = 4, target_percent = 0.3 }", "")
    # the hand's limit locks 184.184 of the 10,000 USDT before the start: a new account's
    # cash must be free in the wallet (audit F1: `engine.runtime.live.holdings`); the two
    # outside buys spend 222.47 of the 300 that are not the node's (had they spent the
    # node's cash, the reconciliation would refuse: `holdings.short_cash`)
    .replace("initial_cash = 10000.0", "initial_cash = 9700.0")
)


def _client(local: LocalExchange) -> CcxtExchange:
    """A REST client of the exchange's account: the hand on the web page, and the checks."""
    client = open_trading_exchange(
        "binance", Credentials("hand", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.1), wall_clock_ms)
    exchange.load()
    return exchange


def _wallet(local: LocalExchange, asset: str) -> float:
    return float(local.venue.free.get(asset, 0.0) + local.venue.locked.get(asset, 0.0))


def _cash_flow(ledger: LiveLedger) -> float:
    """Return the USDT the node's own fills moved (sells in, buys out, fees out)."""
    own = {o.client_id for o in ledger.orders(origin="node")}
    return sum(
        (1.0 if f.side == "sell" else -1.0) * f.quantity * f.price - f.fee
        for f in ledger.fills()
        if f.client_id in own
    )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[BarFrame, Path, LocalExchange]]:
    (tmp_path / "churn.py").write_text(STRATEGY)
    config = tmp_path / "outside.toml"
    config.write_text(CONFIG)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end="2020-12-06")
    local = LocalExchange([frame], INSTRUMENTS, secret=SECRET, paused=True, history=HISTORY)
    local.start()
    yield frame, config, local
    local.stop()


@pytest.mark.slow
def test_outside_fills_while_the_node_runs_are_recorded_once_and_the_restart_trades(
    rig: tuple[BarFrame, Path, LocalExchange], tmp_path: Path
) -> None:
    frame, config, local = rig
    hand = _client(local)
    by_hand = hand.exchange.create_order(
        SYMBOL, "limit", "buy", 0.01, 18400.0, {"clientOrderId": "by-hand"}
    )
    node = Node(config, local, tmp_path)
    start = node.started()
    assert start["external"] == ["by-hand"]
    for index in range(HISTORY, 32):  # rows 24-31 close; row 28's low fills the limit
        node.step(int(frame.ts_close_ns[index]))
    # the node bought 0.05 at row 32's open (19,124.49); the hand buys 0.002 there too
    market = hand.exchange.create_order(
        SYMBOL, "market", "buy", 0.002, None, {"clientOrderId": "by-hand-2"}
    )
    for index in (32, 33):  # the node sells 0.04 at row 33's open, then rests a limit buy
        node.step(int(frame.ts_close_ns[index]))
    node.stop()

    ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), ACCOUNT)
    own = {o.client_id for o in ledger.orders(origin="node")}
    last_own = max(f.ts_event for f in ledger.fills() if f.client_id in own)
    outside_ms = [t["time"] for t in local.venue.trades if str(t["orderId"]) in
                  (by_hand["id"], market["id"])]  # fmt: skip
    assert outside_ms == [1606885200000, 1606896000000]  # rows 28's close and 32's open
    assert last_own == 1606899600000 > max(outside_ms)  # the node's sale at row 33's open
    # recorded while the node ran: the user-data stream's report of an outside trade sets off
    # a reconciliation then (they waited for the next start or reconnect)
    recorded = [f.client_id for f in ledger.fills() if f.client_id not in own | {"baseline"}]
    assert recorded == ["by-hand", f"external-{market['id']}"]
    reconciled = [r["after"] for r in records(tmp_path / "log", "reconciled")]
    assert reconciled.count(OUTSIDE_TRADE) == 2  # one per outside trade

    # The restart reconciles (it refused with exit 5) and trades on.
    second = Node(config, local, tmp_path)
    start = second.started()
    assert start["session"] == 2
    for index in (34, 35):
        second.step(int(frame.ts_close_ns[index]))
    second.stop()

    own = {o.client_id for o in ledger.orders(origin="node")}  # the second session's too
    outside = [f for f in ledger.fills() if f.client_id not in own | {"baseline"}]
    assert [(f.client_id, f.side, f.quantity, f.price, f.fee_asset) for f in outside] == [
        ("by-hand", "buy", 0.01, 18400.0, "USDT"),
        (f"external-{market['id']}", "buy", 0.002, 19124.49, "USDT"),
    ]
    assert [f.fee for f in outside] == pytest.approx([0.184, 0.03824898], abs=1e-9)
    row = ledger.get("by-hand")
    assert row is not None
    assert (row.origin, row.status, row.filled_quantity, row.average_price) == (
        "external", LiveStatus.FILLED, 0.01, 18400.0,
    )  # fmt: skip
    # every exchange trade is stored once; the wallet is the node's fills plus the outside ones
    stored = [f.trade_id for f in ledger.fills() if f.client_id != "baseline"]
    assert sorted(stored) == sorted(str(t["id"]) for t in local.venue.trades)
    assert len(stored) == len(set(stored))
    assert _wallet(local, "BTC") == pytest.approx(
        node_positions(ledger, INSTRUMENTS)[SYMBOL] + 0.012, abs=1e-9
    )
    assert _wallet(local, "USDT") == pytest.approx(
        10_000.0 + _cash_flow(ledger) - 184.184 - 38.28722898, abs=1e-6
    )

    # A third start, and a fourth, record nothing twice.
    before = ledger.fills()
    for _ in range(2):
        later = OrderManager(_client(local), ledger, now_ms=lambda: wall_clock_ms() + 120_000)
        result = reconcile(later, INSTRUMENTS)
        assert result.mismatches == []
        assert result.expected == pytest.approx(result.actual, abs=1e-6)
        assert result.actual["BTC"] == pytest.approx(_wallet(local, "BTC"), abs=1e-9)
    assert ledger.fills() == before
