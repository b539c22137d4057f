"""Post-only (GTX) limits and modifications in place on USDⓈ-M perpetuals, through ccxt
against the local exchange (issue 15).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05, low
18800, high 18932); the node last saw row 99 close at 18818.85; a 10,000 USDT futures
wallet, fee 0.04 % (maker and taker). Row 101 opens at 18863.90 (low 18840.69).
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
from engine.adapters.local.futures import GTX_REJECTED
from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import OrderRequested, OrderSide, OrderType, TimeInForce
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus, OrderManager
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.refusals import MODIFY_NOT_MADE
from engine.runtime.live.venue import LiveVenue
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
LAST_CLOSE = 18818.85  # row 99's close: the last price the node saw


@pytest.fixture
def local() -> Any:
    from engine.adapters.local import LocalExchange
    from engine.feeds import load_bars

    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange([frame], INSTRUMENTS, secret=SECRET, paused=True, history=100,
                             fee_rate=0.0004, perpetual=True)  # fmt: skip
    exchange.start()
    yield exchange
    exchange.stop()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def start(local: Any, store: RunStore, settle_ms: int = 60_000) -> OrderManager:
    """A node (re)starting: a new client (1 s timeout) and manager over the same store."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
        perpetual=True, timeout_ms=1000,
    )  # fmt: skip
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms,
                            perpetuals=["BTC/USDT"])  # fmt: skip
    exchange.load()
    lookup = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda _: None)
    return OrderManager(exchange, LiveLedger(store, "acct"), lookup, settle_ms=settle_ms)


class Rig:
    """A live venue on a perpetual, its events, and the exchange's orders."""

    def __init__(self, local: Any, store: RunStore, settle_ms: int = 60_000) -> None:
        self.local = local
        self.manager = start(local, store, settle_ms)
        reconcile(self.manager, INSTRUMENTS)
        self.events: list[Any] = []
        bus = EventBus()
        bus.subscribe_all(self.events.append)
        self.venue = LiveVenue(bus, SimClock(5), self.manager, INSTRUMENTS,
                               {"BTC/USDT": LAST_CLOSE})  # fmt: skip

    def kinds(self) -> list[str]:
        kinds = [type(e).__name__ for e in self.events]
        self.events_seen = len(self.events)
        return kinds

    def orders(self) -> list[tuple[int, str, str, float, float, str]]:
        return [(o.order_id, o.type, o.time_in_force, o.price, o.quantity, o.status)
                for o in self.local.venue.orders.values()]  # fmt: skip

    def row(self) -> Any:
        """The order's one exchange order (not a refused modification's trace row)."""
        rows = [o for o in self.manager.ledger.orders() if not o.reason.startswith(MODIFY_NOT_MADE)]
        assert len(rows) == 1
        return rows[0]


def limit(number: int, price: float, post_only: bool = False, **extra: Any) -> OrderRequested:
    return OrderRequested(
        f"s-{number:06d}", "s", "BTC/USDT", OrderSide.BUY, 0.01, OrderType.LIMIT, price, None,
        TimeInForce.GTC, 1, 1, post_only=post_only, **extra,
    )  # fmt: skip


# -- post-only -----------------------------------------------------------------------------


def test_a_post_only_limit_rests_as_gtx_and_fills_as_a_maker(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18810.0, post_only=True))
    assert rig.kinds() == ["OrderAccepted"]
    assert rig.orders() == [(1, "LIMIT", "GTX", 18810.0, 0.01, "NEW")]
    assert rig.row().post_only is True
    local.advance(1)  # row 100's low 18800 trades through 18810
    rig.venue.poll()
    fill = rig.events[-1]
    assert (type(fill).__name__, fill.price, fill.quantity, fill.liquidity) == (
        "OrderFilled", 18810.0, 0.01, "maker",
    )  # fmt: skip
    assert fill.fee == pytest.approx(0.01 * 18810.0 * 0.0004)  # 0.07524 USDT
    assert local.venue.trades[-1]["maker"] is True  # USDⓈ-M's field, read by ccxt
    assert float(local.venue.positions["BTC/USDT"].amount) == pytest.approx(0.01)


def test_a_post_only_limit_the_exchange_price_is_through_is_refused_with_5022(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    # under the last close 18818.85 (the node sends it), above the exchange's 18818.05
    rig.venue.submit(limit(1, 18818.5, post_only=True))
    assert rig.kinds() == ["OrderRejected"]
    assert "OrderNotFillable" in rig.events[0].reason
    assert GTX_REJECTED in rig.events[0].reason
    assert rig.orders() == []  # not recorded in the order book
    assert rig.row().status is LiveStatus.REJECTED


def test_a_post_only_limit_the_last_close_is_through_is_rejected_by_the_node(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18820.0, post_only=True))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason == (  # the backtest's words
        "post-only limit 18820 would take liquidity at the last price 18818.8"
    )
    assert rig.orders() == []  # never sent; stored as refused (audit F5)
    (row,) = rig.manager.ledger.orders()
    assert (row.status, row.reason, row.exchange_order_id) == (
        LiveStatus.REJECTED, rig.events[0].reason, None,
    )  # fmt: skip


def test_a_post_only_ioc_is_refused_as_on_spot(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0, post_only=True)._replace(time_in_force=TimeInForce.IOC))
    assert rig.events[0].reason == "a post-only order rests: it cannot be ioc"


# -- modifications in place ----------------------------------------------------------------


def test_a_resting_limit_is_modified_in_place_and_fills_at_its_new_terms(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0, post_only=True))
    rig.venue.modify("s-000001", 0.02, 18810.0, None)
    assert rig.kinds() == ["OrderAccepted", "OrderModified"]
    modified = rig.events[1]
    assert (modified.quantity, modified.limit_price) == (0.02, 18810.0)
    assert rig.orders() == [(1, "LIMIT", "GTX", 18810.0, 0.02, "NEW")]  # same order
    row = rig.row()
    assert (row.quantity, row.limit_price, row.amending) == (0.02, 18810.0, None)
    local.advance(1)  # row 100's low 18800 trades through 18810
    rig.venue.poll()
    fill = rig.events[-1]
    assert (fill.quantity, fill.price, fill.liquidity, fill.leaves_quantity) == (
        0.02, 18810.0, "maker", 0.0,
    )  # fmt: skip


def test_the_exchange_answers_a_modification_as_binance_does(local: Any, store: RunStore) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0))
    row = rig.row()
    same = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18700.0)
    updates = rig.manager.amend(row, same)
    assert [u.kind for u in updates] == ["amend_rejected"]
    assert "OperationRejected" in updates[0].order.reason  # -5027, not a node stop
    assert "No need to modify the order." in updates[0].order.reason
    assert rig.row().amending is None
    too_big = OrderSpec("", "BTC/USDT", "buy", "limit", 100.0, 18700.0)  # 93,500 USDT margin
    updates = rig.manager.amend(rig.row(), too_big)
    assert [u.kind for u in updates] == ["amend_rejected"]
    assert "InsufficientFunds" in updates[0].order.reason
    assert "Margin is insufficient." in updates[0].order.reason
    assert rig.orders() == [(1, "LIMIT", "GTC", 18700.0, 0.01, "NEW")]  # as it was


def test_a_modification_of_an_order_filled_meanwhile_reports_the_fill(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18810.0))
    stale = rig.row()
    local.advance(1)  # it fills at the exchange; the node has not looked yet
    moved = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18805.0)
    updates = rig.manager.amend(stale, moved)
    assert [u.kind for u in updates] == ["filled"]  # -2013: looked up, its truth
    assert rig.row().status is LiveStatus.FILLED
    assert rig.row().amending is None


def test_a_modification_of_an_order_the_exchange_does_not_know_is_refused(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0))
    ghost = rig.row().but(client_id="kst-ghost", order_id="s-000002", exchange_order_id="999")
    rig.manager.ledger.insert(ghost)  # an order the exchange never had
    updates = rig.manager.amend(ghost, OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18750.0))
    assert updates[-1].kind == "amend_rejected"
    assert "OrderNotFound" in updates[-1].order.reason
    assert rig.orders() == [(1, "LIMIT", "GTC", 18700.0, 0.01, "NEW")]


def test_a_modification_that_times_out_after_the_exchange_did_it_is_found_by_its_terms(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0))
    local.inject("timeout", count=1, path="/fapi/v1/order", delay_s=1.5, after=1)  # the PUT
    rig.venue.modify("s-000001", None, 18750.0, None)
    assert rig.kinds() == ["OrderAccepted", "OrderModified"]
    assert rig.events[1].limit_price == 18750.0
    assert rig.orders() == [(1, "LIMIT", "GTC", 18750.0, 0.01, "NEW")]  # sent once
    assert rig.row().amending is None


def test_a_modification_lost_to_a_5xx_is_never_resent_and_never_applied_after_settling(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0))
    local.inject("server_error", count=1, path="/fapi/v1/order", after=1)  # the PUT
    rig.venue.modify("s-000001", None, 18750.0, None)
    assert rig.kinds() == ["OrderAccepted"]  # no answer yet: it may still arrive
    assert '"price": 18750.0' in (rig.row().amending or "")
    rig.venue.modify("s-000001", None, 18760.0, None)  # never two in flight
    assert rig.kinds()[-1] == "OrderModifyRejected"
    assert "still unknown" in rig.events[-1].reason
    rig.manager.settle_ms = 0  # past the request's recvWindow: it can no longer arrive
    rig.venue.poll()
    assert rig.kinds()[-1] == "OrderModifyRejected"
    assert rig.events[-1].reason.startswith("never applied")
    assert rig.orders() == [(1, "LIMIT", "GTC", 18700.0, 0.01, "NEW")]  # one, as it was
    assert rig.row().amending is None


class Crash(Exception):  # noqa: N818 - a simulated process death, not an error kind
    """The node dies here."""


@pytest.mark.parametrize("moment", ["before_request", "after_exchange_did_it"])
def test_a_restart_in_the_middle_of_a_modification_settles_it_by_the_orders_terms(
    local: Any, store: RunStore, moment: str
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0))
    exchange = rig.manager.exchange
    send = exchange.amend

    def crash(exchange_order_id: str, client_id: str, spec: OrderSpec) -> Any:
        if moment == "after_exchange_did_it":
            send(exchange_order_id, client_id, spec)
        raise Crash

    exchange.amend = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.venue.modify("s-000001", None, 18750.0, None)
    assert rig.row().amending is not None  # committed before the request
    restarted = start(local, store, settle_ms=0)
    updates = restarted.refresh_open()
    if moment == "before_request":
        assert [u.kind for u in updates] == ["amend_rejected"]
        assert updates[0].order.reason.startswith("never applied")
        price = 18700.0
    else:
        assert [u.kind for u in updates] == ["amended"]
        price = 18750.0
    assert rig.orders() == [(1, "LIMIT", "GTC", price, 0.01, "NEW")]  # exactly one
    row = rig.row()
    assert (row.limit_price, row.amending, row.status) == (price, None, LiveStatus.OPEN)


def test_a_post_only_limit_moved_through_the_last_price_is_refused_by_the_node(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0, post_only=True))
    rig.venue.modify("s-000001", None, 18900.0, None)
    assert rig.kinds() == ["OrderAccepted", "OrderModifyRejected"]
    assert rig.events[1].reason == (
        "post-only limit 18900 would take liquidity at the last price 18818.8"
    )
    assert rig.orders() == [(1, "LIMIT", "GTX", 18700.0, 0.01, "NEW")]


def test_a_gtx_order_the_exchange_price_is_through_after_a_modification_is_canceled(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0, post_only=True))
    row = rig.row()
    # under the last close the node saw, above the exchange's price: Binance cancels it
    updates = rig.manager.amend(row, OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18818.5))
    assert [u.kind for u in updates] == ["amend_canceled"]  # OrderCanceled, saying why
    assert updates[0].order.reason.startswith("canceled by the exchange: its modification")
    assert rig.orders() == [(1, "LIMIT", "GTX", 18700.0, 0.01, "CANCELED")]


def test_the_strategy_hears_why_binance_canceled_a_gtx_order_its_modification_moved(
    local: Any, store: RunStore
) -> None:
    rig = Rig(local, store)
    rig.venue.submit(limit(1, 18700.0, post_only=True))
    # under the last close the node saw (18818.85), above the exchange's price (18818.05)
    rig.venue.modify("s-000001", None, 18818.5, None)
    assert rig.kinds() == ["OrderAccepted", "OrderCanceled"]
    reason = rig.events[1].reason
    assert reason.startswith("canceled by the exchange: its modification to 0.01 at 18818.5 ")
    assert "would take (OrderNotFillable:" in reason
    assert GTX_REJECTED in reason
    assert rig.row().status is LiveStatus.CANCELED
    assert rig.row().reason == reason
    assert rig.row().amending is None
    assert rig.venue.working == set()
    rig.venue.modify("s-000001", None, 18700.0, None)  # it no longer works
    assert rig.events[-1].reason == "order is not working"
