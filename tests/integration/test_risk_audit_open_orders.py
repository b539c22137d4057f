"""``max_open_orders``: what counts toward it.

Symbol X (lot 1, flat bars at 100), cash 10,000, no fee. Decision (README, Risk): the
engine's own protective exits (``[risk.exits]``, strategy id ``<strategy>.exits``) are
neither counted nor denied by ``max_open_orders``; an order whose cancel was requested no
longer counts (the cancel is on its way: the venue ends it before anything else happens).
"""

from __future__ import annotations

from typing import Any

from engine import Context
from tests.integration.scripted_run import FLAT, denied, run

EXITS = {"stop_loss_pct": 5.0, "take_profit_pct": 10.0}


def _working(result: Any) -> list[tuple[str, float]]:
    return sorted((order.tag, order.quantity) for order in result.working_orders)


def test_replaced_exits_are_not_counted_while_their_cancels_are_on_the_way() -> None:
    # a second buy replaces the stop and take profit of 1 by ones of 2: the new take
    # profit was denied "3 orders are working, the maximum is 3" (the old pair counted)
    result = run(
        [FLAT] * 6,
        {1: [lambda ctx: ctx.buy("X", 1)], 3: [lambda ctx: ctx.buy("X", 1)]},
        risk={"max_open_orders": 3, "exits": EXITS},
    )
    assert denied(result) == []
    assert _working(result) == [("stop_loss", 2.0), ("take_profit", 2.0)]


def test_protective_exits_leave_the_strategy_its_open_orders() -> None:
    # max_open_orders = 2 with a stop and a take profit working: every further order of
    # the strategy was denied
    def two_limits(ctx: Context) -> None:
        ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=90.0)
        ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=89.0)

    def third(ctx: Context) -> None:
        ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=88.0)

    result = run(
        [FLAT] * 6,
        {1: [lambda ctx: ctx.buy("X", 1)], 3: [two_limits], 4: [third]},
        risk={"max_open_orders": 2, "exits": EXITS},
    )
    assert denied(result) == [("max_open_orders", "2 orders are working, the maximum is 2")]
    assert _working(result) == [("", 1.0), ("", 1.0), ("stop_loss", 1.0), ("take_profit", 1.0)]


def test_a_strategy_may_cancel_and_replace_at_the_maximum() -> None:
    ids: list[str] = []

    def two(ctx: Context) -> None:
        for price in (90.0, 89.0):
            ids.append(ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=price))

    def replace(ctx: Context) -> None:
        ctx.cancel(ids[0])
        ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=88.0)

    result = run([FLAT] * 5, {1: [two], 2: [replace]}, risk={"max_open_orders": 2})
    assert denied(result) == []
    assert sorted(o.limit_price or 0.0 for o in result.working_orders) == [88.0, 89.0]


def test_a_canceled_order_no_longer_counts_in_cash_or_exposure() -> None:
    # a limit buy of 90 at 95 replaced on the next bar by one at 96: the canceled order
    # was still reserved (cash 1,450 left) and counted as if filled (gross 17,280)
    ids: list[str] = []

    def place(ctx: Context) -> None:
        ids.append(ctx.submit_order("X", "buy", 90.0, order_type="limit", limit_price=95.0))

    def replace(ctx: Context) -> None:
        ctx.cancel(ids[0])
        ctx.submit_order("X", "buy", 90.0, order_type="limit", limit_price=96.0)

    cash = run([FLAT] * 4, {1: [place], 2: [replace]})
    margin = run(
        [FLAT] * 4,
        {1: [place], 2: [replace]},
        account={"leverage": 2.0},
        risk={"max_gross_exposure": 9_000.0},
    )
    for result in (cash, margin):
        assert denied(result) == []
        assert [o.limit_price for o in result.working_orders] == [96.0]
