"""``target_sizing = "fill"`` may not resize an approved order past the [risk] limits.

Symbol X, lot 1, cash 10,000, no fee. ``order_target_percent(1.0)`` at a close of 100
sends a provisional 100; the next bar opens at 50, where all-in is 200.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.scripted_run import run

BARS = [(100.0, 101.0, 99.0, 100.0), (100.0, 101.0, 99.0, 100.0), (50.0, 51.0, 49.0, 50.0)]
BARS += [(50.0, 51.0, 49.0, 50.0)]


def _all_in(risk: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    result = run(
        BARS,
        {1: [lambda ctx: ctx.order_target_percent("X", 1.0)]},
        execution={"target_sizing": "fill"},
        risk=risk,
    )
    (row,) = result.recorder.orders.values()
    return result.portfolio.position_quantity("X"), row


def test_without_limits_the_fill_resizes_to_all_in() -> None:
    position, row = _all_in({})
    assert position == 200.0
    assert row["reason"] == ""


@pytest.mark.parametrize(
    ("risk", "position", "why"),
    [
        ({"max_order_quantity": 120.0}, 120.0, "max_order_quantity 120"),
        ({"max_position_quantity": 130.0}, 130.0, "max_position_quantity 130"),
        (  # the tighter of two limits wins
            {"max_order_quantity": 180.0, "max_position_quantity": 160.0},
            160.0,
            "max_position_quantity 160",
        ),
    ],
)
def test_the_resize_is_capped_at_the_risk_limits(
    risk: dict[str, float], position: float, why: str
) -> None:
    filled, row = _all_in(risk)
    assert filled == position  # was 200 whatever the limit
    assert row["quantity"] == position
    assert row["reason"] == (
        f"target_sizing fill: the target 200 at 50 is capped at {position:g} by {why}"
    )
