"""Orders the node refuses or cuts before sending leave a trace: a row in ``live_orders``
and a record for ``events.jsonl`` (audit F5).

The audit's strategy heard ``OrderRejected`` for S1-000005/6 ("insufficient cash …, the
wallet has 0.00 USDT free") and nothing else was left: no row, no log line; a restart then
numbered its next order S1-000005 again. A backtest's orders.csv and paper's events.jsonl
keep every order. Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress
(open 18818.05); 10,000 USDT; the exchange's fee 0.1 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.model import OrderSide, OrderType
from engine.runtime.live import LiveStatus
from tests.contract.conftest import btc_rows
from tests.contract.test_live_venue import Rig, request


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 10000.0})


def noted(rig: Rig) -> list[tuple[str, dict[str, Any]]]:
    """Collect what the venue gives its log (``notify``)."""
    records: list[tuple[str, dict[str, Any]]] = []
    rig.venue.notify = lambda kind, **data: records.append((kind, data))
    return records


def test_a_refusal_before_sending_is_stored_and_logged(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig)
    rig.venue.submit(request(1, OrderSide.SELL, 0.01))  # no BTC
    local.venue.free["USDT"] = 0.0
    rig.venue.submit(request(2, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT,
                             limit_price=18000.0))  # fmt: skip
    assert rig.kinds() == ["OrderRejected", "OrderRejected"]
    rows = rig.manager.ledger.orders()
    assert [(r.order_id, r.side, r.order_type, r.quantity, r.limit_price, r.status)
            for r in rows] == [
        ("s-000001", "sell", "market", 0.01, None, LiveStatus.REJECTED),
        ("s-000002", "buy", "limit", 0.01, 18000.0, LiveStatus.REJECTED),
    ]  # fmt: skip
    assert [r.reason for r in rows] == [e.reason for e in rig.events]
    assert rows[0].reason == "the wallet holds no BTC to sell"
    assert all(r.exchange_order_id is None for r in rows)
    assert [(kind, data["order_id"]) for kind, data in log] == [
        ("order_refused", "s-000001"),
        ("order_refused", "s-000002"),
    ]
    assert log[1][1]["reason"].startswith("insufficient cash: 0.01 BTC/USDT at 18000")
    assert local.venue.orders == {}


def test_an_order_of_a_kind_not_sent_is_stored(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    on_close = request(1, OrderSide.BUY, 0.01, order_type=OrderType.MARKET_ON_CLOSE)
    rig.venue.submit(on_close)
    rows = rig.manager.ledger.orders()
    assert [(r.order_id, r.status) for r in rows] == [("s-000001", LiveStatus.REJECTED)]
    assert "not market_on_close" in rows[0].reason


def test_a_cut_is_stored_with_the_sent_order_and_logged(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig)
    rig.venue.submit(request(1, OrderSide.BUY, 0.6))  # 11,290.83 > 10,000: cut to 0.53087
    assert rig.kinds() == ["OrderModified", "OrderAccepted", "OrderFilled"]
    (row,) = rig.manager.ledger.orders()
    assert (row.quantity, row.status) == (0.53087, LiveStatus.FILLED)
    assert row.reason == (
        "cut from 0.6 to 0.53087 before sending: the wallet has 10000.00 USDT free"
    )
    assert log == [("order_cut", {"order_id": "s-000001", "strategy_id": "s",
                                  "symbol": "BTC/USDT", "quantity": 0.6, "sent": 0.53087,
                                  "reason": row.reason})]  # fmt: skip


def test_a_buy_cut_below_the_minimum_notional_is_refused_not_sent(
    local: Any, tmp_path: Path
) -> None:
    # audit F6: with 0.30 USDT free the buy was cut to 1e-05 BTC (0.19 USDT), sent, and
    # refused by the exchange (-1013 NOTIONAL); the node knows min_notional = 10
    rig = Rig(local, tmp_path)
    local.venue.free["USDT"] = 0.30
    rig.venue.submit(request(1, OrderSide.BUY, 0.05))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason == (
        "the wallet has 0.30 USDT free: cut to 1e-05, worth 0.19 USDT at 18818.05, below "
        "the minimum notional 10 of BTC/USDT; nothing sent"
    )
    assert local.venue.orders == {}
    assert [r.status for r in rig.manager.ledger.orders()] == [LiveStatus.REJECTED]


def test_a_sell_cut_below_the_minimum_notional_is_refused_not_sent(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path)
    local.venue.free["BTC"] = 0.0004  # 7.53 USDT of coins: below the minimum notional
    rig.venue.prices = {"BTC/USDT": 18818.05}
    rig.venue.submit(request(1, OrderSide.SELL, 0.05))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason == (
        "the wallet has 0.0004 BTC free: cut to 0.0004, worth 7.53 USDT at 18818.05, below "
        "the minimum notional 10 of BTC/USDT; nothing sent"
    )
    assert local.venue.orders == {}


def test_a_rejection_by_the_exchange_is_logged(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig)
    local.inject("reject", count=1)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    assert rig.kinds() == ["OrderRejected"]
    assert [(kind, data["order_id"]) for kind, data in log] == [("order_rejected", "s-000001")]
    assert "-2010" in log[0][1]["reason"] or "rejected" in log[0][1]["reason"].lower()
