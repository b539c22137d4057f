"""The user-data stream's REST cross-check reads every page of the session's trades (the
audit's F8, on the stream's side).

The cross-check (`engine.runtime.live.stream.UserDataMonitor._missing`) asked ``myTrades``
for one page from the session's time: more than 500 trades in one millisecond (every fill
of one taker order has its time) left all but the first 500 unchecked — a trade the stream
never carried was never found, and the next look started at that same millisecond and read
the same first page again. Now it pages by trade id (``fromId``) as reconciliation does
(`engine.runtime.live.reconcile.account_trades`), and the session's start reads every
page of what the exchange already shows. Replay state as the reconciliation paging tests:
100 closed hourly BTC/USDT bars, row 100 in progress; 100,000 USDT; market buys of 0.001
BTC by hand, all in the bar's millisecond.
"""

from __future__ import annotations

from typing import Any

from engine.persistence import RunStore
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.stream import UserDataMonitor
from tests.contract.test_live_reconcile_paging import (
    INSTRUMENTS,
    buy_by_hand,
    local,
    start,
    store,
)
from tests.contract.test_live_user_stream import user_stream

__all__ = ["local", "store"]  # the fixtures, shared


def monitor(local: Any, store: RunStore) -> UserDataMonitor:
    node = start(local, store)
    reconcile(node, INSTRUMENTS)
    return UserDataMonitor(user_stream(local), node, INSTRUMENTS, lambda _: None,
                           lambda kind, **data: None)  # fmt: skip


def test_a_trade_past_the_first_page_of_one_millisecond_is_found_missing(
    local: Any, store: RunStore
) -> None:
    watch = monitor(local, store)
    local.advance(1)
    watch._begin(watch.manager.exchange.server_time_ms())
    buy_by_hand(local, 601)  # one bar: one millisecond
    made = [str(t["id"]) for t in local.venue.trades]
    assert len(made) == 601
    watch._delivered.update(made[:-1])  # the stream carried all but the last
    assert watch._missing() == {f"trade {made[-1]}"}
    watch._delivered.add(made[-1])
    assert watch._missing() == set()


def test_the_session_start_knows_every_page_the_exchange_already_shows(
    local: Any, store: RunStore
) -> None:
    watch = monitor(local, store)
    local.advance(1)
    since = watch.manager.exchange.server_time_ms()
    buy_by_hand(local, 601)  # before the session began: not the stream's to carry
    watch._begin(since)
    assert {str(t["id"]) for t in local.venue.trades} <= watch._before
    assert watch._missing() == set()
