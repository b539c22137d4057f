"""Reconciliation reads an account of more than one page of trades (audit F8).

The local exchange now answers ``myTrades`` as Binance does: 500 trades a page unless asked
for more, from ``startTime`` on the oldest 500. The node's window of trades
(`engine.runtime.live.reconcile.account_trades`) asks page after page, the first from its start,
each next one from the last trade id + 1 (``fromId``: paging by time repeated a page when
more than 500 trades shared a millisecond), and a new account's baseline reads every page
from its clock on (it read the 500 most recent); these tests give it more than a page and
count what it records. The outside orders are placed in-process on the exchange
(``venue.create``: the same matching as over REST, a thousand times faster than through
ccxt).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05);
100,000 USDT. Every fill is a market buy of 0.001 BTC at its bar's open, stamped with the
replay clock (so every fill of one bar has the same time, to the millisecond).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    ExchangeTrade,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
PAGE = 500  # Binance's myTrades page when no limit is sent (ccxt sends none)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 1e5})


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def start(local: Any, store: RunStore) -> OrderManager:
    """A node (re)starting: a new client and manager over the same store."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms)
    exchange.load()
    lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
    return OrderManager(exchange, LiveLedger(store, "acct"), lookup)


def buy_by_hand(local: Any, count: int) -> None:
    """Fill ``count`` outside market buys of 0.001 BTC in the bar in progress."""
    for _ in range(count):
        local.venue.create(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        )


def pages_read(node: OrderManager) -> list[int]:
    """Record the size of every page the node's ``my_trades`` window reads (from a time or,
    after the first, from a trade id)."""
    sizes: list[int] = []
    read: Callable[..., list[ExchangeTrade]] = node.exchange.my_trades

    def counted(
        symbol: str, since_ms: int | None = None, order: str | None = None, from_id: Any = None
    ) -> Any:
        page = read(symbol, since_ms, order, from_id)
        if (since_ms is not None or from_id is not None) and order is None:
            sizes.append(len(page))
        return page

    node.exchange.my_trades = counted  # type: ignore[method-assign]
    return sizes


def assert_every_fill_once(local: Any, store: RunStore, result: Any) -> None:
    fills = LiveLedger(store, "acct").fills()
    made = [str(t["id"]) for t in local.venue.trades]
    assert sorted(f.trade_id for f in fills) == sorted(made)  # each fill, once
    assert result.expected["BTC"] == pytest.approx(0.001 * len(made))
    assert result.actual == pytest.approx(result.expected)


def test_fills_over_more_than_a_page_are_each_recorded_once(local: Any, store: RunStore) -> None:
    reconcile(start(local, store), INSTRUMENTS)
    for _ in range(3):  # 750 outside fills, 250 in each of three bars
        local.advance(1)
        buy_by_hand(local, 250)
    for _ in range(2):  # a restart, then another: nothing read twice, nothing missed
        node = start(local, store)
        sizes = pages_read(node)
        result = reconcile(node, INSTRUMENTS)
        assert sizes[0] == PAGE  # the exchange cut the window: the node had to page
        assert len(sizes) >= 2
        assert_every_fill_once(local, store, result)
    assert len(LiveLedger(store, "acct").fills()) == 750


def test_more_than_a_page_of_fills_in_one_millisecond_are_each_recorded_once(
    local: Any, store: RunStore
) -> None:
    reconcile(start(local, store), INSTRUMENTS)
    local.advance(1)
    buy_by_hand(local, 601)  # one bar: one millisecond
    result = reconcile(start(local, store), INSTRUMENTS)
    assert_every_fill_once(local, store, result)


def test_a_new_account_after_more_than_a_page_of_fills_in_its_first_millisecond(
    local: Any, store: RunStore
) -> None:
    buy_by_hand(local, 600)  # before the node's account exists, in the bar it starts in
    result = reconcile(start(local, store), INSTRUMENTS)
    assert LiveLedger(store, "acct").baseline().wallet["BTC"] == pytest.approx(0.6)
    assert result.expected["BTC"] == pytest.approx(0.6) == result.actual["BTC"]
