"""OCO pairs on a USDⓈ-M perpetual after a partial fill: the other leg is reduced to what is
left, as the backtest reduces it (`engine.runtime.live.pairs`), through ccxt against the
local exchange; and the edges of a stop's modification there (`engine.runtime.live.stopmove`,
`engine.runtime.live.modify`).

Replay state (`tests.contract.test_live_perpetual`): row 100 in progress (open 18818.05,
high 18932, low 18800); row 101: open 18863.90, high 18970, low 18840.69; a 10,000 USDT
futures wallet. Each pair test goes long 0.02 at 18818.05, then sends a sell stop
(``s-000002``) and a take-profit (``s-000003``) in one OCO group. Partial fills come from
the local exchange's ``partial`` fault: the next new order (a limit, or the order a stop
places when it triggers) fills half at first, the rest at the next matching bar.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.model import OrderSide, OrderType
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, OrderManager
from tests.contract.test_live_perpetual import INSTRUMENTS, local, position  # noqa: F401
from tests.contract.test_live_perpetual_stops import Rig
from tests.contract.test_live_venue import request


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


class Crash(Exception):  # noqa: N818 - a simulated process death, not an error kind
    """The node dies here."""


def pair(
    rig: Rig,
    local: Any,  # noqa: F811
    stop_at: float,
    target: float,
    partial: str,
    limit: float | None = None,
) -> None:
    """Long 0.02, then the pair (a stop-limit at ``limit`` if given); ``partial`` names the
    leg whose first fill is half."""
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))
    if partial == "target":  # the take-profit is the next new order (the stop waits aside)
        local.faults.partial(1, 0.5)
    kind = OrderType.STOP_LIMIT if limit else OrderType.STOP
    rig.submit_together(
        request(2, OrderSide.SELL, 0.02, order_type=kind, stop_price=stop_at, limit_price=limit,
                oco_group="g"),
        request(3, OrderSide.SELL, 0.02, order_type=OrderType.LIMIT, limit_price=target,
                oco_group="g"),
    )  # fmt: skip
    if partial == "stop":  # the order the stop places when it triggers
        local.faults.partial(1, 0.5)
    rig.events.clear()


def heard(rig: Rig) -> list[tuple[Any, ...]]:
    """The kernel's events: fills, modifications and cancels, with their figures."""
    out: list[tuple[Any, ...]] = []
    for e in rig.events:
        name = type(e).__name__
        if name == "OrderFilled":
            out.append(("filled", e.order_id, e.quantity, e.price, e.leaves_quantity))
        elif name == "OrderModified":
            out.append(("modified", e.order_id, e.quantity, e.limit_price, e.stop_price))
        elif name in ("OrderCanceled", "OrderModifyRejected"):
            out.append((name, e.order_id, e.reason))
        elif name not in ("OcoReady", "Together"):
            out.append((name, e.order_id))
    return out


def algos(local: Any) -> list[tuple[str, float, float, bool]]:  # noqa: F811
    """The exchange's algo orders: (status, trigger, quantity, reduce-only)."""
    return [(a.status, a.trigger_price, a.quantity, a.reduce_only)
            for a in local.venue.algos.orders.values()]  # fmt: skip


def limits(local: Any) -> list[tuple[int, str, float, float, float, bool]]:  # noqa: F811
    """The exchange's plain limits: (id, status, price, quantity, filled, reduce-only)."""
    return [(o.order_id, o.status, o.price, o.quantity, o.filled, o.reduce_only)
            for o in local.venue.orders.values() if o.type == "LIMIT"]  # fmt: skip


def test_a_take_profit_filled_in_part_moves_the_stop_to_what_is_left(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    pair(rig, local, 18700.0, 18900.0, partial="target")
    local.advance(1)  # row 100's high 18932: the take-profit fills 0.01 of 0.02
    rig.venue.poll()
    assert heard(rig) == [
        ("filled", "s-000003", 0.01, 18900.0, 0.01),
        ("modified", "s-000002", 0.01, None, 18700.0),  # the backtest's OrderModified
    ]
    assert algos(local) == [("CANCELED", 18700.0, 0.02, True), ("NEW", 18700.0, 0.01, True)]
    rows = [r for r in rig.manager.ledger.orders() if r.order_id == "s-000002"]
    assert [(r.status.value, r.quantity) for r in rows] == [("canceled", 0.02), ("open", 0.01)]
    assert rows[1].list_id == rows[0].list_id  # still a leg of its pair
    assert position(local) == pytest.approx(0.01)
    rig.events.clear()
    local.advance(1)  # row 101's high 18970: the rest of the take-profit
    rig.venue.poll()
    assert heard(rig) == [
        ("filled", "s-000003", 0.01, 18900.0, 0.0),
        ("OrderCanceled", "s-000002", "oco: the other leg filled"),
    ]
    assert [a[0] for a in algos(local)] == ["CANCELED", "CANCELED"]
    assert position(local) == 0.0
    assert not rig.venue.working


def test_a_stop_filled_in_part_amends_the_take_profit_in_place(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """A stop-limit (stop 18810, limit 18850): row 100's low triggers it at its close, its
    limit rests; row 101's open 18863.90 fills half of it, and, when row 101 closes, the
    rest at that open (the bar traded through the limit from its open)."""
    rig = Rig(local, store)
    pair(rig, local, 18810.0, 19500.0, partial="stop", limit=18850.0)
    (before,) = limits(local)
    local.advance(1)
    rig.venue.poll()
    assert heard(rig) == [
        ("filled", "s-000002", 0.01, 18863.9, 0.01),
        ("modified", "s-000003", 0.01, 19500.0, None),
    ]
    target = next(o for o in limits(local) if o[0] == before[0])
    assert target == (before[0], "NEW", 19500.0, 0.01, 0.0, True)  # the same order, in place
    assert position(local) == pytest.approx(0.01)
    rig.events.clear()
    local.advance(1)  # row 101 closes: the rest of the stop's limit
    rig.venue.poll()
    assert heard(rig) == [
        ("filled", "s-000002", 0.01, 18863.9, 0.0),
        ("OrderCanceled", "s-000003", "oco: the other leg filled"),
    ]
    assert next(o for o in limits(local) if o[0] == before[0])[1] == "CANCELED"
    assert position(local) == 0.0
    assert not rig.venue.working


def test_a_crash_between_the_stops_cancel_and_its_new_order_is_finished_by_a_restart(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    pair(rig, local, 18700.0, 18900.0, partial="target")
    local.advance(1)
    exchange = rig.manager.exchange

    def dying(spec: Any) -> Any:
        raise Crash

    create = exchange.create
    exchange.create = dying  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.venue.poll()  # the fill read, the stop canceled, then the node dies
    exchange.create = create  # type: ignore[method-assign]
    assert [a[0] for a in algos(local)] == ["CANCELED"]  # unprotected until the restart
    rows = [r for r in LiveLedger(store, "acct").orders() if r.order_id == "s-000002"]
    assert [(r.status.value, r.quantity) for r in rows] == [("canceled", 0.02), ("sending", 0.01)]
    # past the request's recvWindow (settle_ms 0): it can no longer arrive, so it is sent
    again = OrderManager(exchange, LiveLedger(store, "acct"), settle_ms=0)
    updates = again.refresh_open()
    assert [(u.kind, u.order.quantity) for u in updates] == [("accepted", 0.01)]
    assert algos(local) == [("CANCELED", 18700.0, 0.02, True), ("NEW", 18700.0, 0.01, True)]
    assert again.refresh_open() == []  # settled: nothing reduced twice
    local.advance(1)  # the rest of the take-profit fills: the moved stop is canceled
    assert sorted(u.kind for u in again.refresh_open()) == ["expired", "filled"]
    assert [a[0] for a in algos(local)] == ["CANCELED", "CANCELED"]
    assert position(local) == 0.0


def test_a_crash_after_the_take_profits_amendment_reached_the_exchange_is_settled_on_restart(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    pair(rig, local, 18810.0, 19500.0, partial="stop", limit=18850.0)
    local.advance(1)
    exchange = rig.manager.exchange
    amend = exchange.amend

    def dying(*args: Any) -> Any:
        amend(*args)  # it reached the exchange; the answer is lost with the process
        raise Crash

    exchange.amend = dying  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.venue.poll()
    exchange.amend = amend  # type: ignore[method-assign]
    target = next(r for r in LiveLedger(store, "acct").orders() if r.order_id == "s-000003")
    assert target.amending is not None  # committed first
    assert target.quantity == 0.02
    again = OrderManager(exchange, LiveLedger(store, "acct"))
    updates = again.refresh_open()
    assert [(u.kind, u.order.order_id, u.order.quantity) for u in updates] == [
        ("amended", "s-000003", 0.01)]  # fmt: skip
    assert [(s, p, q) for _, s, p, q, _, _ in limits(local) if p == 19500.0] == [
        ("NEW", 19500.0, 0.01)]  # fmt: skip
    assert again.refresh_open() == []


# -- the edges of a stop's modification (issue 15) ------------------------------------------


def test_a_fill_racing_a_stops_move_that_partly_fills_the_old_order_moves_what_is_left(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """The node finds the stop-limit untriggered and sends the move (to stop 18790, limit
    18780); before its cancel arrives row 100 triggers the stop and row 101's open fills
    half of its limit. The cancel ends the other half; the new stop is for what is left."""
    rig = stop_limit_rig(local, store)
    local.faults.partial(1, 0.5)  # the order the stop places when it triggers
    exchange = rig.manager.exchange
    cancel = exchange.cancel

    def late(client_id: str, symbol: str) -> Any:
        local.advance(1)  # the race: the market moves between the look and the cancel
        return cancel(client_id, symbol)

    exchange.cancel = late  # type: ignore[method-assign]
    rig.venue.modify("s-000002", None, 18780.0, 18790.0)
    exchange.cancel = cancel  # type: ignore[method-assign]
    assert heard(rig) == [
        ("filled", "s-000002", 0.01, 18863.9, 0.01),
        ("modified", "s-000002", 0.02, 18780.0, 18790.0),  # the kernel's whole quantity
    ]
    assert algos(local) == [("TRIGGERED", 18810.0, 0.02, True), ("NEW", 18790.0, 0.01, True)]
    rows = [r for r in rig.manager.ledger.orders() if r.order_id == "s-000002"]
    assert [(r.status.value, r.quantity, r.filled_quantity) for r in rows] == [
        ("canceled", 0.02, 0.01), ("open", 0.01, 0.0)]  # fmt: skip
    assert position(local) == pytest.approx(0.01)  # one stop, for what is held


def stop_limit_rig(local: Any, store: RunStore, limit: float = 18850.0) -> Rig:  # noqa: F811
    """Long 0.02 with a sell stop-limit ``s-000002`` (stop 18810, ``limit``)."""
    rig = Rig(local, store)
    rig.venue.submit(request(1, OrderSide.BUY, 0.02))
    rig.venue.submit(request(2, OrderSide.SELL, 0.02, order_type=OrderType.STOP_LIMIT,
                             stop_price=18810.0, limit_price=limit))  # fmt: skip
    rig.events.clear()
    return rig


def test_a_triggered_stop_limit_resting_as_its_limit_is_amended_in_place_when_modified(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    """The backtest keeps a triggered stop-limit triggered (a limit) when it is modified;
    live amends the limit the exchange placed, in place, rather than placing a new stop."""
    rig = stop_limit_rig(local, store, limit=18900.0)
    local.advance(1)  # row 100's low 18800 triggers it at its close; row 101 opens 18863.90
    (placed,) = [o for o in local.venue.orders.values() if o.type == "LIMIT"]
    rig.events.clear()
    rig.venue.modify("s-000002", None, 18990.0, 18780.0)  # above row 101's high 18970
    assert heard(rig)[-1] == ("modified", "s-000002", 0.02, 18990.0, 18780.0)
    assert [a[0] for a in algos(local)] == ["TRIGGERED"]  # no new stop
    assert limits(local) == [(placed.order_id, "NEW", 18990.0, 0.02, 0.0, True)]
    local.advance(1)
    rig.venue.poll()
    assert position(local) == pytest.approx(0.02)  # a limit at 18990: not reached
