"""Risk limits the audit found not enforced, end to end through a backtest.

Two symbols: A at 100, B at 50 (flat bars unless given), lot 0.01, no fee. Orders placed
at bar k's close fill at bar k+1's open.
"""

from __future__ import annotations

import pytest

from engine import Context
from tests.integration.risk_audit_run import denials, filled, run2

FLAT_A = [(100.0, 101.0, 99.0, 100.0)] * 6
FLAT_B = [(50.0, 51.0, 49.0, 50.0)] * 6


def _both(ctx: Context) -> None:
    # 30 A x 100 = 3,000 then 60 B x 50 = 3,000, both placed at the same close
    ctx.buy("A", 30)
    ctx.buy("B", 60)


@pytest.mark.parametrize(
    ("risk", "check", "reason"),
    [
        (
            {"max_gross_exposure": 5_000.0},
            "max_gross_exposure",
            "gross exposure would be 6000.00, above the maximum 5000.00",
        ),
        (
            {"max_net_exposure": 5_000.0},
            "max_net_exposure",
            "net exposure would be 6000.00, beyond the maximum +/-5000.00",
        ),
        (
            {"max_leverage": 0.5},
            "max_leverage",
            "leverage would be 0.600 (gross 6000.00 / equity 10000.00), above the maximum 0.5",
        ),
    ],
)
def test_exposure_limits_count_working_orders_of_other_symbols(
    risk: dict[str, float], check: str, reason: str
) -> None:
    result = run2(
        {"A": FLAT_A, "B": FLAT_B}, {("A", 1): [_both]}, account={"leverage": 2.0}, risk=risk
    )
    assert filled(result, "A") == 30.0
    assert filled(result, "B") == 0.0  # was 60: gross/net 6,000, leverage 0.6
    assert denials(result) == [(check, reason)]


def test_exposure_limits_still_pass_within_the_limit() -> None:
    risk = {"max_gross_exposure": 6_000.0, "max_net_exposure": 6_000.0, "max_leverage": 0.6}
    result = run2(
        {"A": FLAT_A, "B": FLAT_B}, {("A", 1): [_both]}, account={"leverage": 2.0}, risk=risk
    )
    assert (filled(result, "A"), filled(result, "B")) == (30.0, 60.0)
    assert denials(result) == []


def test_oco_entries_count_in_the_expected_position() -> None:
    # three limit buys of 1 A, each in its own OCO group: all three could fill
    def entries(ctx: Context) -> None:
        for group, price in (("g1", 99.5), ("g2", 99.4), ("g3", 99.3)):
            ctx.submit_order(
                "A", "buy", 1.0, order_type="limit", limit_price=price, oco_group=group
            )

    result = run2({"A": FLAT_A}, {("A", 1): [entries]}, risk={"max_position_quantity": 1.0})
    assert filled(result, "A") == 1.0  # was 3.0
    assert denials(result) == [
        ("max_position_quantity", "A position would be 2 (from 1), beyond the maximum 1"),
        ("max_position_quantity", "A position would be 2 (from 1), beyond the maximum 1"),
    ]


def test_an_oco_group_counts_once_its_largest_member() -> None:
    # a buy of 1 at two prices, one OCO group: at most one fills
    def entries(ctx: Context) -> None:
        ctx.submit_order("A", "buy", 1.0, order_type="limit", limit_price=99.5, oco_group="g")
        ctx.submit_order("A", "buy", 1.0, order_type="limit", limit_price=99.4, oco_group="g")

    result = run2({"A": FLAT_A}, {("A", 1): [entries]}, risk={"max_position_quantity": 1.0})
    assert filled(result, "A") == 1.0
    assert denials(result) == []


def test_an_exit_that_may_never_fill_makes_no_room_for_an_entry() -> None:
    # long 9, a limit sell of 9 at 150 (never reached), then a buy of 10 under
    # max_position_quantity 10: the sell counted as filled (9 - 9 + 10 = 10) and the
    # position went to 19
    actions = {
        ("A", 1): [lambda ctx: ctx.buy("A", 9)],
        ("A", 2): [
            lambda ctx: ctx.submit_order("A", "sell", 9.0, order_type="limit", limit_price=150.0),
            lambda ctx: ctx.buy("A", 10),
        ],
    }
    result = run2({"A": FLAT_A}, actions, risk={"max_position_quantity": 10.0})
    assert result.portfolio.position_quantity("A") == 9.0  # was 19
    assert denials(result) == [
        ("max_position_quantity", "A position would be 19 (from 9), beyond the maximum 10")
    ]
    # a sell within the position still passes beside a working buy: it reduces
    actions = {
        ("A", 1): [lambda ctx: ctx.buy("A", 9)],
        ("A", 2): [
            lambda ctx: ctx.submit_order("A", "buy", 1.0, order_type="limit", limit_price=50.0),
            lambda ctx: ctx.sell("A", 4),
        ],
    }
    result = run2({"A": FLAT_A}, actions, risk={"max_position_quantity": 10.0})
    assert result.portfolio.position_quantity("A") == 5.0
    assert denials(result) == []


def test_account_leverage_makes_no_room_for_an_exit_that_may_never_fill() -> None:
    # leverage 2 on 10,000: long 150 A (15,000), a limit sell of 150 at 150 (never
    # reached), then a buy of 100: counted as flat + 100 it passed, 25,000 > 20,000 held
    actions = {
        ("A", 1): [lambda ctx: ctx.buy("A", 150)],
        ("A", 2): [
            lambda ctx: ctx.submit_order("A", "sell", 150.0, order_type="limit", limit_price=150.0),
            lambda ctx: ctx.buy("A", 100),
        ],
    }
    result = run2({"A": FLAT_A}, actions, account={"leverage": 2.0})
    assert result.portfolio.position_quantity("A") == 150.0  # was 250
    assert denials(result) == [
        ("leverage", "gross exposure would be 25000.00, above equity x leverage = 20000.00")
    ]
