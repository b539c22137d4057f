"""A restarted live node resumes its strategy's account and orders (issue 15).

Each "start" builds what ``kestrel live`` builds: a manager over the same store, a node with
the live venue, `restore`, `reconcile`, the reconciliation's updates published, then
`check_agrees`. A scripted strategy places the orders. The local exchange is paused:
100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05, low 18800, so a buy
limit at 18810 rests until ``advance`` closes row 100); 10,000 USDT; fee 0.1% in USDT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import CcxtExchange, Credentials, open_trading_exchange
from engine.adapters.ccxt.venue import wall_clock_ms as wall
from engine.clock import SimClock
from engine.config import parse_config
from engine.model import Bar, OrderFilled, OrderSide, OrderStatus, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveOrder, LiveStatus, OrderManager
from engine.runtime.live.ledger import StoredTrail
from engine.runtime.live.reconcile import reconcile
from engine.runtime.live.restore import Restored, absorb, check_agrees, restore
from engine.runtime.live.venue import LiveVenue, live_mode
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy
from tests.contract.conftest import BTC, SECRET, btc_rows

INSTRUMENTS = {"BTC/USDT": BTC}
ROWS = btc_rows(300)
HOUR_NS = 3_600_000_000_000
Step = Callable[[Context], None]


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(ROWS, paused=True, history=100)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def bar(row: int) -> Bar:
    """Row ``row`` of the replay as the closed bar the feed would deliver."""
    r = ROWS.iloc[row]
    close = int(r["timestamp"]) * 1_000_000 + HOUR_NS
    return Bar("BTC/USDT", close, close, float(r["open"]), float(r["high"]), float(r["low"]),
               float(r["close"]), float(r["volume"]), HOUR_NS)  # fmt: skip


class Scripted(Strategy):
    """Runs one step of its plan per bar; remembers the fills it heard."""

    def __init__(self, plan: list[Step]) -> None:
        super().__init__()
        self.plan = plan
        self.fills: list[OrderFilled] = []
        self.placed: list[str] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if self.plan:
            self.plan.pop(0)(ctx)

    def on_order_filled(self, ctx: Context, event: OrderFilled) -> None:
        self.fills.append(event)


def rest(quantity: float = 0.01, price: float = 18810.0) -> Step:
    def step(ctx: Context) -> None:
        ctx.buy("BTC/USDT", quantity, limit_price=price)

    return step


@dataclass
class Node:
    node: TradingNode
    manager: OrderManager
    strategy: Scripted
    restored: Restored

    @property
    def venue(self) -> LiveVenue:
        venue = self.node.kernel.venue
        assert isinstance(venue, LiveVenue)
        return venue

    def orders(self) -> dict[str, Any]:
        return self.node.kernel.execution.orders


def start(
    local: Any,
    store: RunStore,
    plan: list[Step],
    strategy_id: str = "s",
    risk: dict[str, Any] | None = None,
) -> Node:
    """Start (or restart) the node as ``kestrel live`` does, without the bar loop."""
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
    )
    client.enableRateLimit = False
    exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall)
    exchange.load()
    lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
    manager = OrderManager(exchange, LiveLedger(store, "acct"), lookup)
    config = parse_config(
        {
            "run": {"name": "acct"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": "unused.csv", "symbol": "BTC/USDT", "timeframe": "1h"}],
            "instruments": [{"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001,
                             "min_quantity": 0.00001, "min_notional": 10.0}],
            "strategy": {"path": "unused:Unused", "id": strategy_id},
            "execution": {"fee_rate": 0.001},
            **({"risk": risk} if risk else {}),
        }
    )  # fmt: skip
    strategy = Scripted(plan)
    node = TradingNode(config, clock=SimClock(bar(99).ts_event), strategy=strategy,
                       mode=live_mode(manager))  # fmt: skip
    restored = restore(node, manager, INSTRUMENTS)
    result = reconcile(manager, INSTRUMENTS)
    manager.session = manager.ledger.begin_session()
    venue = node.kernel.venue
    assert isinstance(venue, LiveVenue)
    node.deliver(lambda: venue.report(result.updates))
    absorb(node, result.updates, INSTRUMENTS)
    check_agrees(node, manager, INSTRUMENTS)
    return Node(node, manager, strategy, restored)


def wallet(local: Any, asset: str) -> float:
    return float(local.venue.free.get(asset, 0.0) + local.venue.locked.get(asset, 0.0))


def test_an_open_order_is_adopted_and_its_later_fill_applies_once(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest()])
    first.node.on_event(bar(99))
    assert first.venue.working == {"s-000001"}
    # the node dies; the order rests at the exchange
    second = start(local, store, [])
    assert second.restored.adopted == ["s-000001"]
    order = second.orders()["s-000001"]
    assert (order.status, order.quantity, order.limit_price) == (
        OrderStatus.ACCEPTED,
        0.01,
        18810.0,
    )
    assert [o.order_id for o in second.node.kernel.execution.open_orders("s")] == ["s-000001"]
    local.advance(1)  # row 100 closes: its low 18800 fills the limit at 18810
    second.node.on_event(bar(100))
    assert [(f.order_id, f.quantity, f.price) for f in second.strategy.fills] == [
        ("s-000001", 0.01, 18810.0)
    ]
    assert order.status is OrderStatus.FILLED
    second.node.on_event(bar(101))  # a later poll does not count it again
    assert len(second.strategy.fills) == 1
    portfolio = second.node.kernel.portfolio
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01)
    assert portfolio.cash == pytest.approx(10_000.0 - 188.1 - 0.1881)
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(wallet(local, "BTC"))


def test_a_fill_while_down_reaches_the_adopted_order_and_the_strategy_once(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest()])
    first.node.on_event(bar(99))
    local.advance(1)  # fills while no node runs
    second = start(local, store, [])
    assert second.restored.adopted == ["s-000001"]
    assert second.restored.fills == 0  # not recorded before the restart: reconciliation's
    assert [(f.order_id, f.quantity) for f in second.strategy.fills] == [("s-000001", 0.01)]
    assert second.orders()["s-000001"].status is OrderStatus.FILLED
    assert not second.venue.working
    portfolio = second.node.kernel.portfolio
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(wallet(local, "BTC"))
    assert portfolio.cash - 10_000.0 == pytest.approx(wallet(local, "USDT") - 10_000.0)
    # a third start replays that fill from the store: same account, nothing adopted
    third = start(local, store, [])
    assert (third.restored.fills, third.restored.adopted) == (1, [])
    assert third.strategy.fills == []
    assert third.node.kernel.portfolio.cash == pytest.approx(portfolio.cash)
    assert third.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01)


def test_a_partial_fill_while_down_then_a_cancel_of_the_adopted_order(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest(0.02)])
    local.inject("partial", count=1, fraction=0.25)
    first.node.on_event(bar(99))
    local.advance(1)  # 0.005 of 0.02 fills while down
    second = start(local, store, [lambda ctx: ctx.cancel("s-000001")])
    order = second.orders()["s-000001"]
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 0.005)
    assert [f.quantity for f in second.strategy.fills] == [0.005]
    second.node.on_event(bar(100))  # the strategy cancels the rest: it reaches the exchange
    assert order.status is OrderStatus.CANCELED
    record = second.manager.ledger.get(first.manager.client_id("s-000001"))  # session 1
    assert (record.status, record.filled_quantity) == (LiveStatus.CANCELED, 0.005)
    assert [o.status for o in local.venue.orders.values()] == ["CANCELED"]
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.005)
    assert wallet(local, "BTC") == pytest.approx(0.005)


def test_a_partially_filled_order_is_restored_with_its_recorded_fill(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest(0.02)])
    local.inject("partial", count=1, fraction=0.25)
    first.node.on_event(bar(99))
    local.advance(1)
    first.node.on_event(bar(100))  # the partial fill is seen and recorded while up
    assert [f.quantity for f in first.strategy.fills] == [0.005]
    second = start(local, store, [])
    assert (second.restored.fills, second.restored.adopted) == (1, ["s-000001"])
    order = second.orders()["s-000001"]
    assert (order.status, order.filled_quantity, order.leaves_quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        0.005,
        pytest.approx(0.015),
    )
    assert order.average_fill_price == 18810.0
    assert second.strategy.fills == []  # history: not heard again
    assert second.venue.working == {"s-000001"}
    assert second.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(0.005)


def test_an_order_of_another_strategy_is_canceled_with_a_reason(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [rest()], strategy_id="old")
    first.node.on_event(bar(99))
    client_id = first.manager.client_id("old-000001")  # session 1
    second = start(local, store, [], strategy_id="s")
    assert second.restored.canceled == [client_id]
    assert second.restored.adopted == []
    record = second.manager.ledger.get(client_id)
    assert record.status is LiveStatus.CANCELED
    assert record.reason == "canceled on restart: placed by strategy 'old', this node runs 's'"
    assert [o.status for o in local.venue.orders.values()] == ["CANCELED"]
    assert second.orders() == {}
    assert wallet(local, "USDT") == pytest.approx(10_000.0)  # the lock is released


def test_order_numbering_continues_and_no_client_id_is_reused(local: Any, store: RunStore) -> None:
    first = start(local, store, [rest(0.01, 18000.0), rest(0.01, 18100.0)])
    first.node.on_event(bar(99))
    first.node.on_event(bar(100))
    second = start(local, store, [rest(0.01, 18200.0)])
    assert second.restored.last_order == 2
    assert second.restored.adopted == ["s-000001", "s-000002"]
    second.node.on_event(bar(101))
    assert sorted(second.orders()) == ["s-000001", "s-000002", "s-000003"]
    rows = second.manager.ledger.orders()
    assert [r.order_id for r in rows] == ["s-000001", "s-000002", "s-000003"]
    client_ids = [o.client_id for o in local.venue.orders.values()]
    assert len(client_ids) == len(set(client_ids)) == 3
    assert sorted(client_ids) == sorted(r.client_id for r in rows)


def test_the_restored_portfolio_equals_the_exchange_after_buys_and_a_sell(
    local: Any, store: RunStore
) -> None:
    def sell(ctx: Context) -> None:
        ctx.sell("BTC/USDT", 0.004)

    first = start(local, store, [lambda ctx: ctx.buy("BTC/USDT", 0.01), sell])
    first.node.on_event(bar(99))  # a market buy: fills at once at 18818.05
    first.node.on_event(bar(100))
    local.advance(1)
    second = start(local, store, [lambda ctx: ctx.buy("BTC/USDT", 0.002)])
    portfolio = second.node.kernel.portfolio
    assert second.restored.fills == 2
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.006)
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(wallet(local, "BTC"))
    assert portfolio.cash == pytest.approx(wallet(local, "USDT"))  # the wallet began at 10,000
    second.node.on_event(bar(101))
    third = start(local, store, [])
    assert third.restored.fills == 3
    assert third.node.kernel.portfolio.cash == pytest.approx(wallet(local, "USDT"))
    assert third.node.kernel.portfolio.position_quantity("BTC/USDT") == pytest.approx(
        wallet(local, "BTC")
    )
    assert third.node.kernel.portfolio.fees_paid == pytest.approx(
        sum(f.fee for f in third.manager.ledger.fills() if f.client_id != "baseline")
    )


def test_another_strategys_order_found_filled_after_the_restart_counts_in_the_portfolio(
    local: Any, store: RunStore
) -> None:
    first = start(local, store, [], strategy_id="old")
    client_id = first.manager.client_id("old-000001")
    # the row is written, the exchange fills the order, the node dies before the answer
    first.manager.ledger.insert(
        LiveOrder(client_id, "old-000001", "old", "BTC/USDT", "buy", "market", 0.01, None,
                  "GTC", LiveStatus.SENDING, ts_created=wall(), ts_last=0)
    )  # fmt: skip
    local.inject("not_found", queries=3)  # the restart's cancel cannot find it yet
    first.manager.exchange.exchange.create_order(
        "BTC/USDT", "market", "buy", 0.01, None, {"clientOrderId": client_id}
    )
    second = start(local, store, [], strategy_id="s")  # reconciliation then finds it filled
    assert second.restored.canceled == []
    record = second.manager.ledger.get(client_id)
    assert (record.status, record.filled_quantity) == (LiveStatus.FILLED, 0.01)
    assert record.reason == (
        "a cancel on restart found it unknown: placed by strategy 'old', this node runs 's'"
    )
    assert second.strategy.fills == []  # not the strategy's order
    portfolio = second.node.kernel.portfolio
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.01)
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(wallet(local, "BTC"))
    assert portfolio.cash == pytest.approx(wallet(local, "USDT"))


def test_an_untriggered_stop_is_adopted_as_a_stop_and_triggers_after_the_restart(
    local: Any, store: RunStore
) -> None:
    def enter_with_a_stop(ctx: Context) -> None:
        ctx.buy("BTC/USDT", 0.01)  # fills at row 100's open, 18818.05
        ctx.sell("BTC/USDT", 0.01, stop_price=18810.0)

    first = start(local, store, [enter_with_a_stop])
    first.node.on_event(bar(99))
    assert first.venue.working == {"s-000002"}
    assert local.venue.orders[2].type == "STOP_LOSS"
    # the node dies; the stop waits at the exchange
    second = start(local, store, [])
    assert second.restored.adopted == ["s-000002"]
    order = second.orders()["s-000002"]
    assert (order.order_type, order.stop_price, order.status, order.quantity) == (
        OrderType.STOP,
        18810.0,
        OrderStatus.ACCEPTED,
        0.01,
    )
    assert second.venue.working == {"s-000002"}
    local.advance(1)  # row 100 closes: its low 18800 triggers the stop at 18810
    second.node.on_event(bar(100))
    assert [(f.order_id, f.side, f.quantity, f.price) for f in second.strategy.fills] == [
        ("s-000002", OrderSide.SELL, 0.01, 18810.0)
    ]
    assert order.status is OrderStatus.FILLED
    portfolio = second.node.kernel.portfolio
    assert portfolio.position_quantity("BTC/USDT") == pytest.approx(0.0)
    assert portfolio.cash == pytest.approx(10_000.0 - 188.1805 * 1.001 + 188.1 * 0.999)
    assert portfolio.cash == pytest.approx(wallet(local, "USDT"))


def test_numbering_skips_a_trailing_stop_killed_before_its_first_link_was_written(
    local: Any, store: RunStore
) -> None:
    # `kestrel live` saves a trailing stop's row (its order id) before its first link's
    # order row; killed in between, the id is taken though no order row has it
    first = start(local, store, [rest(0.01, 18000.0)])
    first.node.on_event(bar(99))
    orphan = StoredTrail("s-000002", 0.5, "percent", 18800.0, 18706.0, 0, "kst-unsent", "",
                         "working")  # fmt: skip
    first.manager.ledger.save_trail(orphan)
    second = start(local, store, [rest(0.01, 18200.0)])
    assert second.restored.last_order == 2
    second.node.on_event(bar(100))
    assert sorted(second.orders()) == ["s-000001", "s-000003"]


def buy(quantity: float = 0.01) -> Step:
    def step(ctx: Context) -> None:
        ctx.buy("BTC/USDT", quantity)

    return step


def test_the_engine_exits_and_flatten_orders_number_on_after_a_restart(
    local: Any, store: RunStore
) -> None:
    # found by the perpetual crash test: after a restart the [risk.exits] stop of a new
    # position was s-X000001 again, the id of the first session's (canceled) stop, so the
    # store held two orders under one engine id (a restart merges their fills)
    risk = {"exits": {"stop_loss_pct": 5.0}}
    first = start(local, store, [buy()], risk=risk)
    first.node.on_event(bar(99))
    local.advance_to_close()
    first.node.on_event(bar(100))
    first_ids = [r.order_id for r in first.manager.ledger.orders()]
    assert first_ids == ["s-000001", "s-X000001"]
    flatten = first.manager.ledger.orders()[0].but(
        client_id="kst-flatten-before", order_id="risk-flatten-000004", strategy_id="risk"
    )
    first.manager.ledger.insert_many(
        [flatten]
    )  # as a guard's flatten of an earlier session left it
    second = start(local, store, [buy()], risk=risk)
    assert (second.restored.last_order, second.restored.last_exit) == (1, 1)
    assert second.restored.last_flatten == 4
    second.node.on_event(bar(101))
    local.advance_to_close()
    second.node.on_event(bar(102))
    rows = second.manager.ledger.orders()
    by_id = {r.order_id: [o.client_id for o in rows if o.order_id == r.order_id] for r in rows}
    assert all(len(clients) == 1 for clients in by_id.values()), by_id
    assert sorted(by_id) == [
        "risk-flatten-000004", "s-000001", "s-000002", "s-X000001", "s-X000002"
    ]  # fmt: skip
