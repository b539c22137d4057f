"""A refused modification stays on record: its reason is kept beside later ones and it
is an event (events.csv).

Symbol X (lot 1, flat bars at 100), cash 10,000, no fee; ``max_order_quantity = 5``.
"""

from __future__ import annotations

from engine import Context
from tests.integration.scripted_run import FLAT, run


def test_a_risk_refusal_of_a_modify_is_kept_and_counted() -> None:
    ids: list[str] = []

    def place(ctx: Context) -> None:
        ids.append(ctx.submit_order("X", "buy", 1.0, order_type="limit", limit_price=90.0))

    actions = {
        1: [place],
        2: [lambda ctx: ctx.modify(ids[0], quantity=10.0)],  # refused by risk
        3: [lambda ctx: ctx.modify(ids[0], limit_price=100.0)],  # fills at bar 4's open
        5: [lambda ctx: ctx.modify(ids[0], limit_price=95.0)],  # not working any more
    }
    result = run([FLAT] * 7, actions, risk={"max_order_quantity": 5.0})
    (row,) = result.recorder.orders.values()
    assert (row["status"], row["filled_quantity"], row["limit_price"]) == ("filled", 1.0, 100.0)
    # was: only the last, "modify rejected: order is not working"
    assert row["reason"] == (
        "modify rejected: risk max_order_quantity: order quantity 10 exceeds the maximum 5; "
        "modify rejected: order is not working"
    )
    events = [(e["kind"], e["detail"]) for e in result.recorder.event_rows()]
    assert events == [
        (
            "modify_rejected",
            f"{ids[0]}: risk max_order_quantity: order quantity 10 exceeds the maximum 5",
        ),
        ("modify_rejected", f"{ids[0]}: order is not working"),
    ]
    assert len(result.recorder.modify_rejections) == 2
