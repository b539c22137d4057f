"""A bracket exit the bar opens through was hit first, whatever ``bracket_conflict`` says.

``bracket_conflict`` ("stop_first", "target_first") breaks a tie between two levels both
first reached inside one bar, where the bar does not say which came first. A level the
open is already through was reached first, at the open, and fills there. Found by an
audit: a long bracket (stop-loss 95, take-profit 105) on a bar open 108 / high 109 /
low 94 / close 96 filled the stop at 95 under the default "stop_first" (equity 9,950),
while the take-profit was certainly hit first, at 108 (equity 10,080, what "target_first"
and "path" gave); mirrored, "target_first" filled the take-profit of a bar that opened
through the stop.
"""

from __future__ import annotations

import pytest

from engine import Context
from tests.integration.scripted_run import FLAT, cash, fills, position, run

RULES = ["stop_first", "target_first", "path"]


def bracket(side: str, stop_loss: float, take_profit: float) -> dict[int, list[object]]:
    def place(ctx: Context) -> object:
        return ctx.bracket("X", side, 10, stop_loss=stop_loss, take_profit=take_profit)

    return {0: [place]}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    ("side", "stop_loss", "take_profit", "gap_bar", "exit_", "end_cash"),
    [
        # long, opens through the take-profit (105) and later reaches the stop (95)
        ("buy", 95.0, 105.0, (108.0, 109.0, 94.0, 96.0), ("sell", 108.0, 10.0), 10_080.0),
        # long, opens through the stop (95) and later reaches the take-profit (110)
        ("buy", 95.0, 110.0, (94.0, 112.0, 93.0, 100.0), ("sell", 94.0, 10.0), 9_940.0),
        # short, opens through the take-profit (95) and later reaches the stop (105)
        ("sell", 105.0, 95.0, (92.0, 106.0, 91.0, 104.0), ("buy", 92.0, 10.0), 10_080.0),
        # short, opens through the stop (105) and later reaches the take-profit (95)
        ("sell", 105.0, 95.0, (107.0, 108.0, 94.0, 96.0), ("buy", 107.0, 10.0), 9_930.0),
    ],
    ids=["long-target-at-open", "long-stop-at-open", "short-target-at-open", "short-stop-at-open"],
)
def test_the_level_the_open_is_through_fills_at_the_open(
    rule: str,
    side: str,
    stop_loss: float,
    take_profit: float,
    gap_bar: tuple[float, float, float, float],
    exit_: tuple[str, float, float],
    end_cash: float,
) -> None:
    result = run(
        [FLAT, FLAT, gap_bar],
        bracket(side, stop_loss, take_profit),
        execution={"bracket_conflict": rule},
    )
    assert fills(result) == [(side, 100.0, 10.0), exit_]
    assert position(result) == 0.0
    assert cash(result) == pytest.approx(end_cash)


@pytest.mark.parametrize(("rule", "exit_price"), [("stop_first", 95.0), ("target_first", 110.0)])
def test_both_reached_inside_the_bar_still_follow_the_rule(rule: str, exit_price: float) -> None:
    result = run(
        [FLAT, FLAT, (100.0, 112.0, 94.0, 100.0)],
        bracket("buy", 95.0, 110.0),
        execution={"bracket_conflict": rule},
    )
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", exit_price, 10.0)]


@pytest.mark.parametrize("rule", RULES)
def test_exits_matched_on_the_fill_bar_too(rule: str) -> None:
    # the entry fills at the open, 108, which is through the take-profit of 105: it fills
    # there (the entry's fill price), never the stop at 95 later in that bar
    result = run(
        [FLAT, (108.0, 109.0, 94.0, 96.0)],
        bracket("buy", 95.0, 105.0),
        execution={"bracket_conflict": rule, "exits_from": "fill_bar"},
    )
    assert fills(result) == [("buy", 108.0, 10.0), ("sell", 108.0, 10.0)]
    assert cash(result) == pytest.approx(10_000.0)
