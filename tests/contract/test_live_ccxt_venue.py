"""The ccxt venue against the local exchange: rules, balances, orders by client id, the contract.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05).
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.adapters.ccxt.contract import Action
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    OrderCallFailed,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.errors import ExchangeInputError, ExchangeTransientError
from tests.contract.conftest import SECRET, btc_rows


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100)


def make_venue(local: Any, pauses: list[float] | None = None, **kw: Any) -> CcxtExchange:
    client = open_trading_exchange(
        "binance", Credentials("any-key", SECRET), sandbox=True, local_url=local.urls["http"], **kw
    )
    client.enableRateLimit = False
    sleeps = pauses if pauses is not None else []
    policy = RetryPolicy(attempts=4, backoff_s=0.01, sleep=sleeps.append)
    return CcxtExchange(client, policy, server_clock=wall_clock_ms)


def test_rules_become_instruments_and_balances_are_read(local: Any) -> None:
    venue = make_venue(local)
    btc = venue.instruments(["BTC/USDT"])["BTC/USDT"]
    assert (btc.tick_size, btc.lot_size, btc.min_quantity, btc.min_notional) == (
        0.01,
        0.00001,
        0.00001,
        10.0,
    )
    assert btc.quote_currency == "USDT"
    assert venue.balances() == {"USDT": (10000.0, 10000.0)}
    with pytest.raises(ExchangeInputError, match="does not list 'NOPE/USDT'"):
        venue.instruments(["NOPE/USDT"])


def test_ccxt_never_retries_an_order_itself(local: Any) -> None:
    venue = make_venue(local)
    assert venue.exchange.options["maxRetriesOnFailure"] == 0
    venue.exchange.options["maxRetriesOnFailure"] = 3  # a caller's mistake is undone
    assert CcxtExchange(venue.exchange).exchange.options["maxRetriesOnFailure"] == 0


def test_create_fetch_and_cancel_by_client_id(local: Any) -> None:
    venue = make_venue(local)
    venue.load()
    spec = OrderSpec("kst-1", "BTC/USDT", "buy", "limit", 0.01, 18000.0)
    created = venue.create(spec)
    assert (created.client_id, created.status, created.filled) == ("kst-1", "open", 0.0)
    assert venue.fetch("kst-1", "BTC/USDT").exchange_id == created.exchange_id
    assert [o.client_id for o in venue.open_orders("BTC/USDT")] == ["kst-1"]
    assert venue.cancel("kst-1", "BTC/USDT").status == "canceled"
    with pytest.raises(OrderCallFailed) as failed:
        venue.cancel("kst-1", "BTC/USDT")
    assert failed.value.verdict.action is Action.NOT_FOUND


def test_stops_are_sent_as_stop_loss_types_and_read_back_with_their_stop(local: Any) -> None:
    venue = make_venue(local)
    venue.load()
    stop = venue.create(OrderSpec("kst-s", "BTC/USDT", "buy", "market", 0.01, stop_price=19000.0))
    limit = OrderSpec("kst-sl", "BTC/USDT", "buy", "limit", 0.01, 19010.0, stop_price=19000.0)
    venue.create(limit)
    assert [(o.client_id, o.order_type, o.price, o.stop_price, o.status) for o in
            venue.open_orders("BTC/USDT")] == [
        ("kst-s", "market", None, 19000.0, "open"),
        ("kst-sl", "limit", 19010.0, 19000.0, "open"),
    ]  # fmt: skip
    assert stop.stop_price == 19000.0
    assert [o.type for o in local.venue.orders.values()] == ["STOP_LOSS", "STOP_LOSS_LIMIT"]
    assert venue.fetch("kst-sl", "BTC/USDT").stop_price == 19000.0
    assert venue.cancel("kst-s", "BTC/USDT").status == "canceled"


def test_market_fill_is_read_back_as_a_trade(local: Any) -> None:
    venue = make_venue(local)
    venue.load()
    order = venue.create(OrderSpec("kst-2", "BTC/USDT", "buy", "market", 0.01))
    assert (order.status, order.filled, order.average) == ("closed", 0.01, 18818.05)
    trades = venue.my_trades("BTC/USDT", exchange_order_id=order.exchange_id)
    assert [(t.quantity, t.price, t.fee_asset, t.maker) for t in trades] == [
        (0.01, 18818.05, "USDT", False)
    ]
    assert trades[0].fee == pytest.approx(0.1881805)


def test_a_read_waits_out_429_per_retry_after_then_succeeds(local: Any) -> None:
    pauses: list[float] = []
    venue = make_venue(local, pauses)
    local.inject("rate_limit", count=2, retry_after_s=3)
    assert venue.balances()["USDT"] == (10000.0, 10000.0)
    assert pauses == [3.0, 3.0]  # Retry-After, longer than the 0.01 s backoff


def test_a_read_gives_up_after_its_attempts_as_transient(local: Any) -> None:
    pauses: list[float] = []
    venue = make_venue(local, pauses)
    local.inject("server_error", count=10)
    with pytest.raises(ExchangeTransientError, match="ExchangeNotAvailable"):
        venue.balances()
    assert pauses == [0.01, 0.02, 0.04]
