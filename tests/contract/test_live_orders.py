"""The live order manager against the local exchange with fault injection (issue 15).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05; it then
trades 18800..18932); every order is 0.01 or 0.02 BTC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.errors import ExchangeFatalError, ExchangeInputError
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus, OrderManager, client_order_id
from tests.contract.conftest import SECRET, btc_rows

BUY = OrderSpec("", "BTC/USDT", "buy", "market", 0.01)


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


class Rig:
    """A manager on a fresh store, its sleeps recorded instead of slept."""

    def __init__(self, local: Any, store: RunStore, secret: str = SECRET, **kw: Any) -> None:
        client = open_trading_exchange(
            "binance", Credentials("any-key", secret), sandbox=True,
            local_url=local.urls["http"], timeout_ms=400,
        )  # fmt: skip
        client.enableRateLimit = False
        self.pauses: list[float] = []
        policy = RetryPolicy(attempts=4, backoff_s=0.01, sleep=self.pauses.append)
        self.exchange = CcxtExchange(client, policy, server_clock=wall_clock_ms)
        self.exchange.load()
        self.ledger = LiveLedger(store, "acct")
        lookup = RetryPolicy(attempts=5, backoff_s=0.05, sleep=self.pauses.append)
        self.manager = OrderManager(self.exchange, self.ledger, lookup, **kw)

    def kinds(self, updates: list[Any]) -> list[str]:
        return [u.kind for u in updates]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def exchange_orders(local: Any) -> list[Any]:
    return list(local.venue.orders.values())


def test_client_ids_are_deterministic_and_binance_shaped() -> None:
    first = client_order_id("acct", "s-000001")
    assert first == client_order_id("acct", "s-000001")
    assert first != client_order_id("acct", "s-000002")
    assert first != client_order_id("other", "s-000001")
    assert first != client_order_id("acct", "s-000001", session=2)
    assert first.startswith("kst-")
    assert len(first) == 24


def test_a_market_buy_is_recorded_before_sending_and_filled(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    seen: list[Any] = []
    original = rig.exchange.create

    def spy(spec: OrderSpec) -> Any:
        seen.append(rig.ledger.get(spec.client_id))  # what the store held as it was sent
        return original(spec)

    rig.exchange.create = spy  # type: ignore[method-assign]
    updates = rig.manager.submit("s-000001", "s", BUY)
    assert seen[0].status is LiveStatus.SENDING
    assert rig.kinds(updates) == ["accepted", "filled"]
    fill = updates[1].fill
    assert (fill.quantity, fill.price, fill.fee_asset) == (0.01, 18818.05, "USDT")
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    assert [o.client_id for o in exchange_orders(local)] == [record.client_id]


def test_a_create_that_times_out_after_acceptance_is_found_and_adopted_once(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    local.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    updates = rig.manager.submit("s-000001", "s", BUY)
    assert rig.kinds(updates) == ["accepted", "filled"]
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    assert len(exchange_orders(local)) == 1  # exactly one order exists
    # The same decision again (a restarted node replays it): read back, never re-sent.
    assert rig.manager.submit("s-000001", "s", BUY) == []
    assert len(exchange_orders(local)) == 1


def test_not_found_for_the_first_queries_is_not_marked_lost(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    local.inject("not_found", queries=3)
    local.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    updates = rig.manager.submit("s-000001", "s", BUY)
    assert rig.kinds(updates) == ["accepted", "filled"]
    assert rig.pauses == [0.05, 0.1, 0.2]  # three misses, looked up again with backoff
    assert len(exchange_orders(local)) == 1


def test_an_order_missing_longer_than_the_look_ups_stays_unknown_and_holds_new_orders(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    local.inject("not_found", queries=5)  # as many misses as the five look-ups
    local.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    assert rig.manager.submit("s-000001", "s", BUY) == []
    first = client_order_id("acct", "s-000001")
    assert rig.ledger.get(first).status is LiveStatus.UNKNOWN
    # The next order first looks the unknown one up again: found now, then the new one goes.
    updates = rig.manager.submit("s-000002", "s", BUY)
    assert [(u.kind, u.order.order_id) for u in updates] == [
        ("accepted", "s-000001"),
        ("filled", "s-000001"),
        ("accepted", "s-000002"),
        ("filled", "s-000002"),
    ]
    assert len(exchange_orders(local)) == 2


def test_a_new_order_is_refused_while_an_outcome_is_unknown(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    local.inject("not_found", queries=20)
    local.inject("timeout", count=1, path="/api/v3/order", delay_s=1.5)
    rig.manager.submit("s-000001", "s", BUY)
    updates = rig.manager.submit("s-000002", "s", BUY)
    assert rig.kinds(updates) == ["rejected"]
    assert "s-000001's outcome at the exchange is still unknown" in updates[0].order.reason
    assert len(exchange_orders(local)) == 1  # the second was never sent


def test_an_order_never_found_after_the_settle_time_is_rejected_as_never_placed(
    local: Any, store: RunStore
) -> None:
    clock = [1_000_000]
    rig = Rig(local, store, now_ms=lambda: clock[0], settle_ms=60_000)
    local.inject("server_error", count=1, path="/api/v3/order", status=503)  # never processed
    assert rig.manager.submit("s-000001", "s", BUY) == []
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert record.status is LiveStatus.UNKNOWN
    assert exchange_orders(local) == []
    clock[0] += 59_000
    assert rig.manager.resolve_unknown() == []  # inside the window: still unknown
    clock[0] += 2_000
    updates = rig.manager.resolve_unknown()
    assert rig.kinds(updates) == ["rejected"]
    assert "never placed" in updates[0].order.reason


def test_duplicate_order_sent_is_looked_up_and_adopted(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    client_id = client_order_id("acct", "s-000001")
    # The exchange has the order, open, the store does not (the row was lost). Binance
    # refuses a client id only while an order holding it is open: once filled or canceled
    # the id is free and a second order would be placed.
    resting = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18000.0)
    rig.exchange.exchange.create_order(
        "BTC/USDT", "limit", "buy", 0.01, 18000.0, {"clientOrderId": client_id}
    )
    updates = rig.manager.submit("s-000001", "s", resting)
    assert rig.kinds(updates) == ["accepted"]
    assert len(exchange_orders(local)) == 1


def test_cancel_racing_a_full_fill_ends_filled(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    spec = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18810.0)
    assert rig.kinds(rig.manager.submit("s-000001", "s", spec)) == ["accepted"]
    local.advance(1)  # the bar trades through 18810: filled at the exchange, unseen here
    updates = rig.manager.cancel("s-000001")
    assert rig.kinds(updates) == ["filled"]
    assert (updates[0].fill.quantity, updates[0].fill.price) == (0.01, 18810.0)
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    assert sum(f.quantity for f in rig.ledger.fills()) == 0.01


def test_cancel_racing_a_partial_fill_ends_canceled_with_the_part(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    local.inject("partial", count=1, fraction=0.25)
    spec = OrderSpec("", "BTC/USDT", "buy", "limit", 0.02, 18810.0)
    rig.manager.submit("s-000001", "s", spec)
    local.advance(1)  # a quarter fills at 18810
    updates = rig.manager.cancel("s-000001")
    assert rig.kinds(updates) == ["filled", "canceled"]
    assert updates[0].fill.quantity == 0.005
    record = rig.ledger.get(client_order_id("acct", "s-000001"))
    assert (record.status, record.filled_quantity) == (LiveStatus.CANCELED, 0.005)
    assert local.venue.free["BTC"] == pytest.approx(0.005)  # position equals the wallet


def test_insufficient_funds_is_a_rejection_the_strategy_hears(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    updates = rig.manager.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 1.0))
    assert rig.kinds(updates) == ["rejected"]
    assert "InsufficientFunds" in updates[0].order.reason
    assert rig.manager.halted == ""


def test_429_on_create_waits_retry_after_and_succeeds(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    local.inject("rate_limit", count=1, retry_after_s=2, path="/api/v3/order")
    updates = rig.manager.submit("s-000001", "s", BUY)
    assert rig.kinds(updates) == ["accepted", "filled"]
    assert rig.pauses == [2.0]
    assert len(exchange_orders(local)) == 1


def test_418_halts_trading(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    local.inject("ban", count=1, path="/api/v3/order")
    with pytest.raises(ExchangeFatalError, match="418"):
        rig.manager.submit("s-000001", "s", BUY)
    assert rig.pauses == []  # not retried
    assert "418" in rig.manager.halted
    with pytest.raises(ExchangeFatalError, match="live trading is halted"):
        rig.manager.submit("s-000002", "s", BUY)
    assert exchange_orders(local) == []


def test_an_authentication_error_stops_with_a_clear_line(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.exchange.exchange.secret = "not-the-secret"
    with pytest.raises(ExchangeInputError, match="AuthenticationError") as stopped:
        rig.manager.submit("s-000001", "s", BUY)
    assert "\n" not in str(stopped.value)
    assert rig.manager.halted


def test_invalid_nonce_resyncs_the_clock_and_retries_once(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.exchange.exchange.options["timeDifference"] = 120_000  # our clock 2 min behind
    updates = rig.manager.submit("s-000001", "s", BUY)
    assert rig.kinds(updates) == ["accepted", "filled"]
    assert rig.exchange.resyncs == 1
    assert abs(rig.exchange.exchange.options["timeDifference"]) < 1_000


def test_a_second_invalid_nonce_stops(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.exchange.server_clock = lambda: wall_clock_ms() - 120_000  # a clock that stays wrong
    rig.exchange.exchange.options["timeDifference"] = 120_000
    with pytest.raises(ExchangeFatalError, match="InvalidNonce"):
        rig.manager.submit("s-000001", "s", BUY)
    assert rig.exchange.resyncs == 1
