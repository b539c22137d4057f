"""The kill switch leaves dust: a position below the exchange's minimums is not sent for sale
(the exchange would refuse it, -1013), and one line says how much is left and why.

The switch sold every node position floored to the lot and checked only the minimum
quantity: 0.0004 BTC (worth 7.53 USDT, the minimum notional 10) went out as a market sell
and met -1013 NOTIONAL, a rejected kill order in the store and a refusal in the log for an
order the node knew was doomed. Replay state: 100 closed hourly BTC/USDT bars, row 100 in
progress (open 18818.05, the book's best bid 18818.04); 10,000 USDT; fee 0.1 % in USDT.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.errors import ExchangeFatalError
from engine.persistence import RunStore
from engine.runtime.live.kill import flatten_and_halt, node_positions
from engine.runtime.live.reconcile import reconcile
from tests.contract.test_live_reconcile import INSTRUMENTS, local, start, store

__all__ = ["local", "store"]  # the fixtures, shared


def test_dust_below_the_minimum_notional_is_left_with_one_line(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.001))
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.0006))
    assert node_positions(node.ledger, INSTRUMENTS) == {"BTC/USDT": pytest.approx(0.0004)}
    sent = len(local.venue.orders)
    lines: list[str] = []
    updates = flatten_and_halt(node, INSTRUMENTS, lines.append)
    assert updates == []
    assert len(local.venue.orders) == sent  # no doomed order sent
    assert [o.strategy_id for o in node.ledger.orders()] == ["s", "s"]  # no kill row
    assert lines == [
        "kill switch: 0.0004 BTC of BTC/USDT left unsold (dust): 0.0004 BTC sellable worth "
        "7.53 USDT at the best bid 18818.04, below the minimum notional 10; nothing sent "
        "(the exchange would refuse the sale, -1013)"
    ]
    with pytest.raises(ExchangeFatalError, match="halted: stopped by the kill switch"):
        node.submit("s-000003", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))


def test_dust_of_what_the_wallet_still_has_is_left_with_one_line(
    local: Any, store: RunStore
) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.002))
    hand = node.exchange.exchange  # most of the node's coins sold by hand
    hand.create_order("BTC/USDT", "market", "sell", 0.00199, None, {"clientOrderId": "hand"})
    lines: list[str] = []
    updates = flatten_and_halt(node, INSTRUMENTS, lines.append)
    assert updates == []  # the 0.00001 BTC the wallet has free: 0.19 USDT
    assert lines == [
        "kill switch: 0.002 BTC of BTC/USDT left unsold (dust): 0.00001 BTC sellable (the "
        "wallet's free BTC) worth 0.19 USDT at the best bid 18818.04, below the minimum "
        "notional 10; nothing sent (the exchange would refuse the sale, -1013)"
    ]


def test_a_sellable_position_is_sold_and_no_dust_line(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.001))
    lines: list[str] = []
    updates = flatten_and_halt(node, INSTRUMENTS, lines.append)
    assert [(u.kind, u.order.order_id) for u in updates] == [
        ("accepted", "kill-1"),
        ("filled", "kill-1"),
    ]
    assert lines == []
