"""A live node SIGKILLed in the middle of a modification (a cancel-replace) restarts with
exactly one working order (issue 15).

A child process starts the node on the local exchange this process serves (as ``kestrel
live`` starts it: `tests.contract.test_live_restart.start`), rests a buy limit at 18700 on
row 99 and, on row 100, moves it to 18750 — and kills itself with SIGKILL either after the
new order's row was committed and before the request left, or after the exchange replaced
the order and before the answer was written back. No ``finally``, no flush: the store holds
what was committed. This process then restarts the node on the same store and checks the
exchange and the kernel agree on one working order: the old one (the request never left; it
is rejected as never placed once it can no longer arrive) or the new one (found by its
client id, the old one found canceled).
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

from engine.model import OrderStatus
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from tests.contract.conftest import exchange_makers
from tests.contract.test_live_restart import ROWS, bar, start
from tests.integration.conftest import REPO

CHILD = """
import os, signal, sys
from types import SimpleNamespace
from engine.persistence import RunStore
from tests.contract.test_live_restart import bar, start

url, db, moment = sys.argv[1:4]
plan = [lambda ctx: ctx.buy("BTC/USDT", 0.01, limit_price=18700.0),
        lambda ctx: ctx.modify("s-000001", limit_price=18750.0)]
node = start(SimpleNamespace(urls={"http": url}), RunStore(f"sqlite:///{db}"), plan)
exchange = node.manager.exchange
send = exchange.cancel_replace

def kill(old, spec):
    if moment == "after_request":
        send(old, spec)
    os.kill(os.getpid(), signal.SIGKILL)

exchange.cancel_replace = kill
node.node.on_event(bar(99))
node.node.on_event(bar(100))
print("not killed")
"""


@pytest.fixture
def local() -> Iterator[Any]:
    """The restart tests' paused exchange: 100 closed hourly bars, row 100 in progress."""
    for make in exchange_makers():
        yield make(ROWS, paused=True, history=100)


def open_limits(local: Any) -> list[float]:
    return [o.price for o in local.venue.orders.values() if o.open]


@pytest.mark.parametrize("moment", ["before_request", "after_request"])
def test_a_node_killed_mid_modification_restarts_with_one_working_order(
    local: Any, tmp_path: Path, moment: str
) -> None:
    db = tmp_path / "live.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, local.urls["http"], str(db), moment],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    store = RunStore(f"sqlite:///{db}")
    node = start(local, store, [])
    price = 18700.0 if moment == "before_request" else 18750.0
    assert open_limits(local) == [price]  # exactly one working order at the exchange
    assert node.restored.adopted == ["s-000001"]
    order = node.orders()["s-000001"]
    assert (order.status, order.limit_price) == (OrderStatus.ACCEPTED, price)
    rows = node.manager.ledger.orders()
    if moment == "after_request":
        assert [r.status for r in rows] == [LiveStatus.CANCELED, LiveStatus.OPEN]
        return
    assert [r.status for r in rows] == [LiveStatus.OPEN, LiveStatus.UNKNOWN]
    node.manager.settle_ms = 0  # past the window in which the request could still arrive
    node.node.on_event(bar(100))
    assert [r.status for r in node.manager.ledger.orders()] == [
        LiveStatus.OPEN,
        LiveStatus.REJECTED,
    ]
    assert open_limits(local) == [18700.0]
    assert order.limit_price == 18700.0
