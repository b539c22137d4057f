"""A spot account's quote cash spent outside the node: reconciliation refuses to trade on cash
the wallet no longer holds (the quote side of audit F2).

The node books ``[account] initial_cash`` plus its own fills; a buy made by hand on the same
account spends the wallet's quote, and the restart said "wallet matches" (the outside buy
is an external fill: explained by construction) while the node's next buy was cut or
rejected for want of the cash it booked. Replay state: 100 closed hourly BTC/USDT bars, row
100 in progress (open 18818.05); 10,000 USDT in the wallet; the fee 0.1 % in USDT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.errors import ExchangeFatalError
from engine.runtime.live.reconcile import reconcile
from tests.contract.test_live_holdings import INSTRUMENTS, local, start

__all__ = ["local"]  # the fixture, shared

OPEN = 18818.05  # the bar in progress: market orders fill here


def test_quote_spent_outside_the_node_refuses_the_restart_naming_both_quantities(
    local: Any, tmp_path: Path
) -> None:
    node = start(local, tmp_path)
    reconcile(node, INSTRUMENTS, initial_cash=5000.0)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.05))
    cash = 5000.0 - 0.05 * OPEN * 1.001  # what the node books after its buy
    hand = node.exchange.exchange  # the same account, by hand, while the node is down
    hand.create_order("BTC/USDT", "market", "buy", 0.4, None, {"clientOrderId": "by-hand"})
    free = 10000.0 - 0.45 * OPEN * 1.001
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, tmp_path), INSTRUMENTS, initial_cash=5000.0)
    message = str(refused.value)
    assert "\n" not in message
    assert (
        f"the node's cash is {cash:,.2f} USDT, the wallet has {free:,.2f} USDT free "
        f"(and 0.00 locked by the node's open orders; {cash - free:,.2f} less; "
        "outside trades in USDT: 1 (bought for 7,527.22, sold for 0.00))"
    ) in message
    assert "Refusing to trade" in message
    # sold back by hand: the cash is there again, the restart trades on
    hand.create_order("BTC/USDT", "market", "sell", 0.4, None, {"clientOrderId": "by-hand-2"})
    result = reconcile(start(local, tmp_path), INSTRUMENTS, initial_cash=5000.0)
    assert result.mismatches == []
    assert [(f.side, f.quantity) for f in result.outside] == [("sell", 0.4)]


def test_the_node_s_own_open_buy_keeps_its_locked_cash_its_own(local: Any, tmp_path: Path) -> None:
    node = start(local, tmp_path)
    reconcile(node, INSTRUMENTS, initial_cash=10000.0)  # all of the wallet
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "limit", 0.1, price=18000.0))
    free, total = node.exchange.balances()["USDT"]
    assert (free, total) == (8198.2, 10000.0)  # 1,800 and its fee locked by the node's order
    result = reconcile(start(local, tmp_path), INSTRUMENTS, initial_cash=10000.0)
    assert result.mismatches == []
    # an outside limit buy locks 900.90 of the node's cash: the wallet's free no longer covers it
    hand = node.exchange.exchange
    hand.create_order("BTC/USDT", "limit", "buy", 0.05, 18000.0, {"clientOrderId": "resting"})
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, tmp_path), INSTRUMENTS, initial_cash=10000.0)
    assert (
        "the node's cash is 10,000.00 USDT, the wallet has 7,297.30 USDT free "
        "(and 1,818.00 locked by the node's open orders; 884.70 less; "
        "outside trades in USDT: 0 (bought for 0.00, sold for 0.00))"
    ) in str(refused.value)
    # without the node's cash (a perpetuals account, or a caller that does not say): no check
    assert reconcile(start(local, tmp_path), INSTRUMENTS).mismatches == []
