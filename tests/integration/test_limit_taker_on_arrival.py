"""A limit marketable when it arrives takes liquidity: taker fee and slippage, capped at it.

One definition of "marketable" (`engine.model.limit_marketable`) serves the post-only
check, the bar fills and the tick fills: a buy limit at or above the price (a sell at or
below it). A limit marketable at the last price when it is placed, or whose first bar
opens through it, fills as a taker (at the open, slipped, never beyond its limit); a limit
that rests and is reached later is a maker at its limit (at the open of a later bar that
gaps through it: the open, still a maker). Found by an audit (maker 0.02 %, taker
0.05 %, 10 bps slippage): a buy limit of 200 placed when the last close was 100 filled at
100.00 as a maker (fee 0.20) while a market order on the same bar filled at 100.10 (fee
0.5005), and post-only of that very order was refused as "would take liquidity".
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import Context
from tests.integration.scripted_run import FLAT, cash, run

COSTS = {
    "slippage_bps": 10.0,
    "fees": {"model": "percent", "maker_rate": 0.0002, "taker_rate": 0.0005},
}


def fills(result: Any) -> list[tuple[str, float, float, str]]:
    return [(str(f.side), f.price, round(f.fee, 9), f.liquidity) for f in result.recorder.fills]


def order(side: str, **kwargs: Any) -> Any:
    return lambda ctx: ctx.submit_order("X", side, 10, **kwargs)


@pytest.mark.parametrize(
    ("action", "bars", "expected"),
    [
        # marketable at the last close (100): takes at the open, slipped; as a market order
        (order("buy", limit_price=200), [FLAT, FLAT], ("buy", 100.1, 0.5005, "taker")),
        (order("buy"), [FLAT, FLAT], ("buy", 100.1, 0.5005, "taker")),
        (order("sell", limit_price=50), [FLAT, FLAT], ("sell", 99.9, 0.4995, "taker")),
        # slipped 100.10, capped at its limit
        (order("buy", limit_price=100.05), [FLAT, FLAT], ("buy", 100.05, 0.500250, "taker")),
        # not marketable at the last close (98 < 100), but its first bar opens through it
        (
            order("buy", limit_price=98),
            [FLAT, (95.0, 96.0, 94.0, 95.0)],
            ("buy", 95.1, 0.4755, "taker"),  # 95 + 10 bps = 95.095, tick up
        ),
        # rests, then reached inside a bar: a maker at its limit
        (
            order("buy", limit_price=98),
            [FLAT, (100.0, 101.0, 97.0, 100.0)],
            ("buy", 98.0, 0.196, "maker"),
        ),
        # rests a bar, then a later bar gaps through it: a maker, at that open
        (
            order("buy", limit_price=98),
            [FLAT, FLAT, (95.0, 96.0, 94.0, 95.0)],
            ("buy", 95.0, 0.19, "maker"),
        ),
    ],
    ids=[
        "buy-200-taker",
        "market-same-bar",
        "sell-50-taker",
        "capped-at-limit",
        "first-bar-opens-through",
        "rests-then-intrabar-maker",
        "rests-then-gap-maker",
    ],
)
def test_limit_liquidity(
    action: Any, bars: list[tuple[float, float, float, float]], expected: tuple[object, ...]
) -> None:
    result = run(bars, {0: [action]}, execution=COSTS)
    assert fills(result) == [expected]


def test_the_cash_of_a_marketable_limit_buy_is_a_takers() -> None:
    result = run([FLAT, FLAT], {0: [order("buy", limit_price=200)]}, execution=COSTS)
    # was 10,000 - 1,000.00 - 0.20 (a maker at 100.00)
    assert cash(result) == pytest.approx(10_000 - 1_001.0 - 0.5005)


def test_post_only_refuses_what_would_fill_as_a_taker() -> None:
    def place(ctx: Context) -> None:
        ctx.buy("X", 10, limit_price=200, post_only=True)

    result = run([FLAT, FLAT], {0: [place]}, execution=COSTS)
    row = next(iter(result.recorder.orders.values()))
    assert row["status"] == "rejected"
    assert row["reason"] == "post-only limit 200 would take liquidity at the last price 100"
    assert result.recorder.fills == []


def test_a_limit_moved_to_a_marketable_price_takes() -> None:
    # a price change is a new arrival (as an exchange's amend: it loses its place): moved
    # from 95 to 200 with the last close at 100, it takes at the next open. Was: a maker
    # at 100.00, fee 0.20, no slippage
    result = run(
        [FLAT, FLAT, FLAT],
        {
            0: [order("buy", limit_price=95)],
            1: [lambda ctx: ctx.modify("S1-000001", limit_price=200)],
        },
        execution=COSTS,
    )
    assert fills(result) == [("buy", 100.1, 0.5005, "taker")]
