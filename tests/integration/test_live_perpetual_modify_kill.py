"""A live node on a perpetual SIGKILLed in the middle of a modification in place restarts
with exactly one working order, at the terms the exchange holds (issue 15).

A child process starts the node on the local exchange this process serves (USDⓈ-M, as
``kestrel live`` builds it: `start`), rests a post-only buy limit (GTX) at 18700 on row 99
and, on row 100, modifies it in place to 0.02 at 18750 (``PUT /fapi/v1/order``) — and kills
itself with SIGKILL either after the new terms were committed to the order's row
(``live_orders.amending``) and before the request left, or after the exchange modified the
order and before the answer was written back. No ``finally``, no flush: the store holds what
was committed. This process restarts the node on the same store (`restore`) and checks that
the exchange holds one order, the same one, at the right terms and that the kernel agrees:
the new terms (restore found them at the exchange: the row takes them, the adopted order
has them), or the old ones (the request never left: the row keeps ``amending`` while the
request could still arrive, then the kernel hears `OrderModifyRejected`, "never applied").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.algo import AlgoExchange
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import Credentials, open_trading_exchange, wall_clock_ms
from engine.adapters.local import LocalExchange
from engine.clock import SimClock
from engine.config import parse_config
from engine.feeds import load_bars
from engine.model import OrderModified, OrderModifyRejected, OrderStatus
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus, OrderManager
from engine.runtime.live.perpetuals import prepare_perpetuals
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.refusals import MODIFY_NOT_MADE
from engine.runtime.live.restore import absorb, check_agrees, restore
from engine.runtime.live.venue import LiveVenue, live_mode
from engine.runtime.node import TradingNode
from tests.contract.conftest import BTC, SECRET
from tests.contract.test_live_restart import ROWS, Node, Scripted, Step, bar
from tests.integration.conftest import REPO
from tests.integration.test_live_perpetual_parity import funding_file

INSTRUMENTS = {"BTC/USDT": BTC}

CHILD = """
import os, signal, sys
from pathlib import Path
from engine.persistence import RunStore
from tests.integration.test_live_perpetual_modify_kill import bar, start

url, db, funding, moment = sys.argv[1:5]
plan = [lambda ctx: ctx.buy("BTC/USDT", 0.01, limit_price=18700.0, post_only=True),
        lambda ctx: ctx.modify("s-000001", quantity=0.02, limit_price=18750.0)]
node = start(url, RunStore(f"sqlite:///{db}"), Path(funding), plan)
exchange = node.manager.exchange
send = exchange.amend

def kill(exchange_order_id, client_id, spec):
    if moment == "after_request":
        send(exchange_order_id, client_id, spec)
    os.kill(os.getpid(), signal.SIGKILL)

exchange.amend = kill
node.node.on_event(bar(99))
node.node.on_event(bar(100))
print("not killed")
"""


def start(url: str, store: RunStore, funding: Path, plan: list[Step]) -> Node:
    """Start (or restart) a node on the perpetual as ``kestrel live`` does, without the bar
    loop: the swap client, `AlgoExchange`, leverage set, `restore`, `reconcile`."""
    client = open_trading_exchange("binance", Credentials("k", SECRET), sandbox=True,
                                   local_url=url, perpetual=True)  # fmt: skip
    client.enableRateLimit = False
    exchange = AlgoExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms,
                            perpetuals=["BTC/USDT"])  # fmt: skip
    config = parse_config(
        {
            "run": {"name": "acct"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT", "leverage": 3},
            "data": [{"path": "unused.csv", "symbol": "BTC/USDT", "timeframe": "1h",
                      "funding": str(funding)}],
            "instruments": [{"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001,
                             "min_quantity": 0.00001, "min_notional": 10.0}],
            "strategy": {"path": "unused:Unused", "id": "s"},
            "execution": {"fee_rate": 0.0004},
        }
    )  # fmt: skip
    prepare_perpetuals(exchange, config)
    lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
    manager = OrderManager(exchange, LiveLedger(store, "acct"), lookup)
    strategy = Scripted(plan)
    heard: list[Any] = []
    node = TradingNode(config, clock=SimClock(bar(99).ts_event), strategy=strategy,
                       mode=live_mode(manager))  # fmt: skip
    node.kernel.bus.subscribe(OrderModified, heard.append)
    node.kernel.bus.subscribe(OrderModifyRejected, heard.append)
    strategy.heard = heard  # type: ignore[attr-defined]
    restored = restore(node, manager, INSTRUMENTS)
    result = reconcile(manager, INSTRUMENTS)
    manager.session = manager.ledger.begin_session()
    venue = node.kernel.venue
    assert isinstance(venue, LiveVenue)
    node.deliver(lambda: venue.report(result.updates))
    absorb(node, result.updates, INSTRUMENTS)
    check_agrees(node, manager, INSTRUMENTS)
    return Node(node, manager, strategy, restored)


@pytest.fixture
def local() -> Iterator[LocalExchange]:
    """A paused USDⓈ-M exchange: 100 closed hourly bars, row 100 in progress (open
    18818.05, low 18800: a buy limit at 18700 or 18750 rests)."""
    frame = load_bars(ROWS, symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange([frame], INSTRUMENTS, secret=SECRET, paused=True, history=100,
                             fee_rate=0.0004, perpetual=True)  # fmt: skip
    exchange.start()
    yield exchange
    exchange.stop()


def open_orders(local: LocalExchange) -> list[tuple[int, str, float, float]]:
    return [(o.order_id, o.time_in_force, o.quantity, o.price)
            for o in local.venue.orders.values() if o.open]  # fmt: skip


@pytest.mark.parametrize("moment", ["before_request", "after_request"])
def test_a_perpetual_node_killed_mid_modification_restarts_with_one_order_at_the_right_terms(
    local: LocalExchange, tmp_path: Path, moment: str
) -> None:
    db = tmp_path / "live.db"
    funding = funding_file(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, local.urls["http"], str(db), str(funding), moment],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    store = RunStore(f"sqlite:///{db}")
    (row,) = LiveLedger(store, "acct").orders()
    assert row.amending is not None  # the new terms were committed before the request
    assert (row.quantity, row.limit_price) == (0.01, 18700.0)  # the row's terms: the old
    node = start(local.urls["http"], store, funding, [])
    heard = node.strategy.heard  # type: ignore[attr-defined]
    assert node.restored.adopted == ["s-000001"]
    order = node.orders()["s-000001"]
    (row,) = node.manager.ledger.orders()
    if moment == "after_request":  # found at the exchange at the new terms
        assert open_orders(local) == [(1, "GTX", 0.02, 18750.0)]  # one order, the same
        assert (row.status, row.quantity, row.limit_price, row.amending) == (
            LiveStatus.OPEN, 0.02, 18750.0, None,
        )  # fmt: skip
        assert (order.status, order.quantity, order.limit_price) == (
            OrderStatus.ACCEPTED, 0.02, 18750.0,
        )  # fmt: skip
        assert heard == []
        return
    # the request never left: the exchange still shows the old terms, which may yet change
    assert open_orders(local) == [(1, "GTX", 0.01, 18700.0)]
    assert row.amending is not None
    assert row.status is LiveStatus.OPEN
    assert (order.status, order.quantity, order.limit_price) == (
        OrderStatus.ACCEPTED, 0.01, 18700.0,
    )  # fmt: skip
    node.manager.settle_ms = 0  # past the window in which the request could still arrive
    node.node.on_event(bar(100))
    (rejected,) = heard
    assert isinstance(rejected, OrderModifyRejected)
    assert rejected.order_id == "s-000001"
    assert rejected.reason.startswith("never applied: the exchange still shows the old terms")
    row, trace = node.manager.ledger.orders()  # and the refused modification's trace
    assert (trace.status, trace.quantity, trace.limit_price, trace.replaces) == (
        LiveStatus.REJECTED, 0.02, 18750.0, row.client_id,
    )  # fmt: skip
    assert trace.reason == MODIFY_NOT_MADE + rejected.reason
    assert (row.status, row.quantity, row.limit_price, row.amending) == (
        LiveStatus.OPEN, 0.01, 18700.0, None,
    )  # fmt: skip
    assert open_orders(local) == [(1, "GTX", 0.01, 18700.0)]
    assert (order.status, order.quantity, order.limit_price) == (
        OrderStatus.ACCEPTED, 0.01, 18700.0,
    )  # fmt: skip
