"""A perpetuals account reconciles its money: the futures wallet against the store, and the
node's share of funding (issue 15: "refuse to trade on a mismatch it cannot explain").

Replay state: 100 closed hourly BTC/USDT bars from 2020-12-01, row 100 in progress (open
18818.05); a 10,000 USDT futures wallet; funding every 8 hours (+0.01 %), the next at
2020-12-05 08:00, paid at the close of the bar closing then (4 steps on). Each "restart" is
a new manager on the same store.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.adapters.ccxt.venue import OrderSpec
from engine.errors import ExchangeFatalError
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.portfolio.accounts import FundingRates
from engine.runtime.live import LiveLedger
from engine.runtime.live.perpcash import FundingShare
from engine.runtime.live.perpetuals import funding_paid
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import SECRET, btc_rows
from tests.contract.test_live_perpetual import INSTRUMENTS, start

RATE = 0.0001


@pytest.fixture
def local() -> Any:
    from engine.adapters.local import LocalExchange

    times = pd.date_range("2020-12-05 08:00", periods=20, freq="8h", tz="UTC")
    rates = FundingRates(times.as_unit("ns").asi8.astype(np.int64), np.full(20, RATE))
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange([frame], INSTRUMENTS, secret=SECRET, paused=True, history=100,
                             fee_rate=0.0004, perpetual=True,
                             funding={"BTC/USDT": rates})  # fmt: skip
    exchange.start()
    yield exchange
    exchange.stop()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def wallet(local: Any) -> float:
    return float(local.venue.free["USDT"])


def adjust(local: Any, amount: float) -> None:
    """Move ``amount`` USDT in or out of the wallet by hand (the admin route)."""
    body = json.dumps({"asset": "USDT", "amount": amount}).encode()
    url = local.urls["http"] + "/_admin/adjust"
    with urllib.request.urlopen(urllib.request.Request(url, body, method="POST")) as answer:
        assert json.loads(answer.read())["free"] == pytest.approx(wallet(local))


def test_a_wallet_changed_by_hand_refuses_with_both_figures(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.05))
    result = reconcile(start(local, store), INSTRUMENTS)  # a fill and its fee: explained
    assert result.actual["wallet USDT"] == pytest.approx(wallet(local), abs=1e-8)
    assert result.expected["wallet USDT"] == pytest.approx(10_000 - 0.05 * 18818.05 * 0.0004)
    found = wallet(local) - 250.0
    adjust(local, -250.0)  # a transfer out, by hand
    orders = len(local.venue.orders)
    with pytest.raises(ExchangeFatalError) as refused:
        reconcile(start(local, store), INSTRUMENTS)
    message = str(refused.value)
    assert (
        f"USDT futures wallet: the exchange holds {found:.8f}, the store expects "
        f"{found + 250:.8f} (difference -250.00000000" in message
    )
    assert "Refusing to trade" in message
    assert "\n" not in message
    assert len(local.venue.orders) == orders  # nothing sent


def test_rounding_is_tolerated_and_a_cent_is_not(local: Any, store: RunStore) -> None:
    reconcile(start(local, store), INSTRUMENTS)
    adjust(local, 1e-6)  # below the tolerance (1e-6 of 10,000: 0.01)
    assert reconcile(start(local, store), INSTRUMENTS).mismatches == []
    adjust(local, 0.02)
    with pytest.raises(ExchangeFatalError, match=r"difference \+0\.02000100"):
        reconcile(start(local, store), INSTRUMENTS)


def test_a_fill_and_funding_while_down_are_explained(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.05))
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "buy", "limit", 0.02, 18805.0))
    local.advance(8)  # down: the buy fills (realizing PnL), funding is paid at 08:00
    assert local.venue.positions["BTC/USDT"].amount == pytest.approx(-0.03)
    paid = funding_paid(node.exchange, "BTC/USDT", 0, node.exchange.server_time_ms())
    assert len(paid) == 1
    assert paid[0].amount > 0  # a short receives a positive rate
    result = reconcile(start(local, store), INSTRUMENTS)
    assert result.adopted  # the fill while down, booked before the wallet is compared
    assert result.actual["wallet USDT"] == pytest.approx(wallet(local), abs=1e-8)
    assert result.expected["wallet USDT"] == pytest.approx(wallet(local), abs=1e-6)
    assert wallet(local) != pytest.approx(10_000 - 0.07 * 18818.05 * 0.0004, abs=1e-3)


def test_funding_on_the_baseline_position_is_not_the_nodes(local: Any, store: RunStore) -> None:
    hand = start(local, store).exchange
    hand.create(OrderSpec("by-hand", "BTC/USDT", "sell", "market", 0.03))  # before the node
    node = start(local, store)
    reconcile(node, INSTRUMENTS)  # the baseline: a short of 0.03 the node did not open
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.02))
    local.advance(8)  # funding on the exchange's short of 0.05
    paid = funding_paid(node.exchange, "BTC/USDT", 0, node.exchange.server_time_ms())
    (payment,) = paid
    share = FundingShare(node.ledger, {"BTC/USDT": "BTC/USDT:USDT"})
    (mine,) = share([payment])
    assert mine.amount == pytest.approx(payment.amount * 0.02 / 0.05)
    # the node buys back more than its own short: the baseline's short is closed at its
    # entry price, and all of the payment explains the wallet
    node.submit("s-000002", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.04))
    result = reconcile(start(local, store), INSTRUMENTS)
    assert result.expected["wallet USDT"] == pytest.approx(wallet(local), abs=1e-6)
    assert result.actual["position BTC/USDT"] == pytest.approx(-0.01)


def test_a_node_alone_on_the_account_gets_every_payment(local: Any, store: RunStore) -> None:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "sell", "market", 0.05))
    local.advance(8)
    paid = funding_paid(node.exchange, "BTC/USDT", 0, node.exchange.server_time_ms())
    (payment,) = paid
    (mine,) = FundingShare(LiveLedger(store, "acct"), {"BTC/USDT": "BTC/USDT:USDT"})([payment])
    assert mine == payment


def test_a_restart_books_only_its_share_of_funding_on_a_baseline_position(
    local: Any, store: RunStore, tmp_path: Path
) -> None:
    from engine.clock import SimClock
    from engine.runtime.live.restore import restore
    from engine.runtime.live.venue import live_mode
    from engine.runtime.node import TradingNode
    from tests.integration.test_live_perpetual_parity import (
        funding_file,
        long_short,
        perpetual_config,
    )

    hand = start(local, store).exchange
    hand.create(OrderSpec("by-hand", "BTC/USDT", "sell", "market", 0.03))  # before the node
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    node.submit("ls-000001", "ls", OrderSpec("", "BTC/USDT", "sell", "market", 0.02))
    local.advance(8)  # funding on the exchange's short of 0.05, then a restart
    (payment,) = funding_paid(node.exchange, "BTC/USDT", 0, node.exchange.server_time_ms())
    manager = start(local, store)
    clock = SimClock(local.replay.now_ms * 1_000_000)
    config = perpetual_config(funding_file(tmp_path))
    restarted = TradingNode(config, clock=clock, strategy=long_short(0), mode=live_mode(manager))
    restored = restore(restarted, manager, INSTRUMENTS)
    assert restored.positions == {"BTC/USDT": pytest.approx(-0.02)}
    assert restored.funding == pytest.approx(payment.amount * 0.02 / 0.05)  # not all of it
