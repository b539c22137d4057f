"""Modifications the node or the exchange refuse leave a trace, as refused orders do: a
rejected row in ``live_orders`` and a record for ``events.jsonl`` (audit F5's hunt).

A refused order is a rejected row under the client id it would have had plus an
``order_refused`` record (`engine.runtime.live.refusals`); a refused modification left
nothing: the strategy heard `OrderModifyRejected`, the store and the log said nothing (and
a refused in-place amendment of a perpetual left not even its reason on the order's row).
Now each is a rejected row (``replaces`` = the exchange order it was to modify, the terms
asked, the reason) and an ``order_modify_refused`` (the node's) or
``order_modify_rejected`` (the exchange's) record. Spot: 100 closed hourly BTC/USDT bars,
row 100 in progress (open 18818.05), 10,000 USDT; perpetual: the same bars on USDⓈ-M.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.model import OrderModifyRejected, OrderSide, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveStatus
from engine.runtime.live.refusals import MODIFY_NOT_MADE
from tests.contract.conftest import btc_rows
from tests.contract.test_live_perpetual_orders import Rig as PerpRig
from tests.contract.test_live_perpetual_orders import limit
from tests.contract.test_live_perpetual_orders import local as perp_local
from tests.contract.test_live_venue import Rig, request

__all__ = ["perp_local"]


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 10000.0})


def noted(venue: Any) -> list[tuple[str, dict[str, Any]]]:
    """Collect what the venue gives its log (``notify``)."""
    records: list[tuple[str, dict[str, Any]]] = []
    venue.notify = lambda kind, **data: records.append((kind, data))
    return records


def rows(manager: Any) -> list[tuple[str, LiveStatus, float, float | None, str | None, str]]:
    return [(r.order_id, r.status, r.quantity, r.limit_price, r.replaces, r.reason)
            for r in manager.ledger.orders()]  # fmt: skip


def test_a_modification_the_node_refuses_is_stored_and_logged(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig.venue)
    resting = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18000.0)
    rig.venue.submit(resting)
    rig.venue.modify("s-000001", None, None, 17000.0)  # a limit has no stop price
    assert rig.kinds() == ["OrderAccepted", "OrderModifyRejected"]
    why = "a limit order has no stop price to modify"
    assert rig.events[-1].reason == why
    first = rig.manager.ledger.orders()[0].client_id
    assert rows(rig.manager) == [
        ("s-000001", LiveStatus.OPEN, 0.01, 18000.0, None, ""),
        ("s-000001", LiveStatus.REJECTED, 0.01, 18000.0, first, MODIFY_NOT_MADE + why),
    ]
    trace = rig.manager.ledger.orders()[1]
    assert (trace.stop_price, trace.exchange_order_id) == (17000.0, None)
    assert log == [("order_modify_refused", {
        "order_id": "s-000001", "strategy_id": "s", "symbol": "BTC/USDT",
        "client_id": trace.client_id, "quantity": 0.01, "limit_price": 18000.0,
        "stop_price": 17000.0, "reason": why})]  # fmt: skip
    # the order itself is untouched: canceled later, it is canceled (not by the refusal)
    rig.venue.cancel("s-000001")
    assert rig.kinds()[-1] == "OrderCanceled"
    assert rig.events[-1].reason == "canceled"
    # a modification of an order not known: logged (no order: no row)
    rig.venue.modify("s-000009", 0.02, None, None)
    assert log[-1] == ("order_modify_refused", {
        "order_id": "s-000009", "strategy_id": "", "symbol": "", "client_id": None,
        "quantity": 0.02, "limit_price": None, "stop_price": None,
        "reason": "order is not working"})  # fmt: skip
    assert len(rig.manager.ledger.orders()) == 2


def test_a_modification_the_exchange_refuses_is_logged_with_its_row(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig.venue)
    post = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18700.0,
                   post_only=True)  # fmt: skip
    rig.venue.submit(post)
    # no last price known to the node: the exchange refuses the maker through the book
    rig.venue.modify("s-000001", None, 18900.0, None)
    assert rig.kinds() == ["OrderAccepted", "OrderCanceled"]
    first, new = rig.manager.ledger.orders()
    assert (new.status, new.replaces, new.limit_price) == (LiveStatus.REJECTED, first.client_id,
                                                           18900.0)  # fmt: skip
    assert new.reason == (
        "modification refused (the new order): Order would immediately match and take."
    )
    assert log == [("order_modify_rejected", {
        "order_id": "s-000001", "strategy_id": "s", "symbol": "BTC/USDT",
        "client_id": new.client_id, "quantity": 0.01, "limit_price": 18900.0,
        "stop_price": None, "reason": new.reason, "canceled": True})]  # fmt: skip


def test_a_perpetual_s_amendment_the_exchange_refuses_is_stored_and_logged(
    perp_local: Any, tmp_path: Path
) -> None:
    rig = PerpRig(perp_local, RunStore(f"sqlite:///{tmp_path / 'live.db'}"))
    log = noted(rig.venue)
    rig.venue.submit(limit(1, 18700.0))
    rig.venue.modify("s-000001", 100.0, None, None)  # 93,500 USDT of margin
    assert rig.kinds() == ["OrderAccepted", "OrderModifyRejected"]
    reason = rig.events[-1].reason
    assert "Margin is insufficient." in reason
    first, trace = rig.manager.ledger.orders()
    assert (first.status, first.quantity, first.amending) == (LiveStatus.OPEN, 0.01, None)
    assert (trace.status, trace.quantity, trace.limit_price, trace.replaces, trace.reason) == (
        LiveStatus.REJECTED,
        100.0,
        18700.0,
        first.client_id,
        MODIFY_NOT_MADE + reason,
    )
    assert log == [("order_modify_rejected", {
        "order_id": "s-000001", "strategy_id": "s", "symbol": "BTC/USDT",
        "client_id": trace.client_id, "quantity": 100.0, "limit_price": 18700.0,
        "stop_price": None, "reason": reason, "canceled": False})]  # fmt: skip
    assert rig.orders() == [(1, "LIMIT", "GTC", 18700.0, 0.01, "NEW")]  # as it was
    # a later modification is made, under the next link (the refused one's is taken)
    rig.venue.modify("s-000001", None, 18750.0, None)
    assert rig.kinds()[-1] == "OrderModified"
    assert rig.orders() == [(1, "LIMIT", "GTC", 18750.0, 0.01, "NEW")]


def test_a_modification_refused_before_the_venue_is_logged_once(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    log = noted(rig.venue)
    for kind, handler in rig.venue.own_events():  # as `Kernel.wire` subscribes them
        rig.bus.subscribe(kind, handler)
    resting = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18000.0)
    rig.venue.submit(resting)
    rig.venue.modify("s-000001", None, None, 17000.0)  # the venue's own: logged as refused
    # the execution engine answers a modification of an order it holds as not working
    # without the venue (its words: `ExecutionEngine.modify`)
    rig.bus.publish(OrderModifyRejected("s-000002", "s", "BTC/USDT", "order is not working",
                                        7, 7))  # fmt: skip
    assert [kind for kind, _ in log] == ["order_modify_refused", "order_modify_denied"]
    assert log[1][1] == {"order_id": "s-000002", "strategy_id": "s", "symbol": "BTC/USDT",
                         "reason": "order is not working"}  # fmt: skip
    assert len(rig.manager.ledger.orders()) == 2  # the order and its refused modification
