"""An order whose outcome is unknown is looked up at every bar, not only when the strategy
sends the next order (audit F4).

The audit's sell met a 503 (never processed); its row stayed ``unknown`` through 5 bar
closes, 103 s, past the 60 s after which the README says it is rejected as never placed:
the venue polled only orders the exchange had accepted. Replay state: 100 closed hourly
BTC/USDT bars, row 100 in progress (open 18818.05); 10,000 USDT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.venue import wall_clock_ms
from engine.model import OrderSide, OrderType
from engine.runtime.live import LiveStatus
from tests.contract.conftest import btc_rows
from tests.contract.test_live_venue import Rig, request


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 10000.0})


def clocked(local: Any, tmp_path: Path) -> tuple[Rig, list[int]]:
    """A venue rig whose order manager reads ``clock[0]`` as the time (ms)."""
    rig = Rig(local, tmp_path)
    clock = [wall_clock_ms()]
    rig.manager.now_ms = lambda: clock[0]
    return rig, clock


def test_an_order_never_placed_is_rejected_at_the_first_bar_past_the_settle_time(
    local: Any, tmp_path: Path
) -> None:
    rig, clock = clocked(local, tmp_path)
    local.inject("server_error", count=1, path="/api/v3/order", status=503)  # never processed
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    assert rig.kinds() == []  # unknown: nothing to tell yet
    assert rig.manager.working()[0].status is LiveStatus.UNKNOWN
    clock[0] += 30_000
    rig.venue.poll()  # a bar inside the window: looked up, still unknown
    assert rig.kinds() == []
    clock[0] += 31_000
    rig.venue.poll()  # the next bar: past the settle time, no new order needed
    assert rig.kinds() == ["OrderRejected"]
    assert "never placed: not found at the exchange 60 s after sending" in rig.events[0].reason
    assert rig.manager.working() == []
    assert not rig.venue.working
    assert local.venue.orders == {}


def test_an_order_found_at_a_later_bar_is_accepted_and_filled_then(
    local: Any, tmp_path: Path
) -> None:
    rig, _ = clocked(local, tmp_path)
    rig.manager.exchange.exchange.timeout = 400  # the answer is lost, the order is placed
    local.inject("not_found", queries=2)  # as many misses as the venue rig's two look-ups
    local.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    limit = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18810.0)
    rig.venue.submit(limit)
    assert rig.kinds() == []
    local.advance(1)  # row 100 trades through 18810: filled at the exchange, unseen here
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted", "OrderFilled"]
    assert (rig.events[1].quantity, rig.events[1].price) == (0.01, 18810.0)
    assert not rig.venue.working
