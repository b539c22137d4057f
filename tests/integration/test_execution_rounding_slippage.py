"""Hand-computed rounding and slippage scenarios of issue 10, through the whole kernel.

Harness and conventions of `test_execution_money_path` (itself that of
`test_execution_scenarios`):

- passive rounding: modify, trailing levels and protective exits never round toward the
  market (a sell stop 2.003 below 100 sits at 97.99, not 98.00).
- slippage: never beyond the bar's high (buys) / low (sells) under the default
  ``slippage_within_range``; slipped prices on the tick grid, rounded against the trader;
  every slippage model and order type that takes liquidity.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_execution_money_path import Case, check_case
from tests.integration.test_execution_scenarios import (
    BUY,
    FLAT,
    SELL,
    Scenario,
    buy,
    order,
    sell,
)

S = Scenario


def _modify(order_id: str, **kw: Any) -> Any:
    return lambda ctx: ctx.modify(order_id, **kw)


def _trail(side: Any, qty: float, **kw: Any) -> Any:
    return lambda ctx: ctx.trailing_stop("X", side, qty, **kw)


CASES: dict[str, Case] = {
    # --- passive rounding: modify, trailing levels, protective exits --------------------
    "trailing_sell_offset_rounds_down": Case(  # 100 - 2.003 = 97.997 -> 97.99, not 98.00
        S(
            [FLAT, (100, 100.5, 99.5, 100), (99, 99.5, 97.995, 98.5), (98.5, 98.6, 97.98, 98)],
            {0: [buy(10)], 1: [_trail(SELL, 10, offset=2.003)]},
            [("o1", 100.0, 10), ("c3", 97.99, 10)],
            ["filled", "filled"],
            0,
            9979.9,
        )
    ),
    "trailing_sell_percent_rounds_down": Case(  # 2.003% of 100
        S(
            [FLAT, (100, 100.5, 99.5, 100), (99, 99.5, 97.995, 98.5), (98.5, 98.6, 97.98, 98)],
            {0: [buy(10)], 1: [_trail(SELL, 10, percent=2.003)]},
            [("o1", 100.0, 10), ("c3", 97.99, 10)],
            position=0,
            cash=9979.9,
        )
    ),
    "trailing_buy_offset_rounds_up": Case(  # 100 + 2.003 = 102.003 -> 102.01, not 102.00
        S(
            [
                FLAT,
                (100, 100.5, 99.5, 100),
                (101, 102.005, 100.5, 101.5),
                (101.5, 102.02, 101, 102),
            ],
            {0: [sell(10)], 1: [_trail(BUY, 10, offset=2.003)]},
            [("o1", 100.0, 10), ("c3", 102.01, 10)],
            ["filled", "filled"],
            0,
            9979.9,
        )
    ),
    "modify_buy_limit_rounds_down": Case(  # 97.007 -> 97.00 (nearest would be 97.01)
        S(
            [FLAT, FLAT, (99, 99.5, 97.005, 98)],
            {0: [buy(10, limit_price=95)], 1: [_modify("S1-000001", limit_price=97.007)]},
            [],
            ["accepted"],
            0,
        )
    ),
    "modify_sell_limit_rounds_up": Case(  # 103.003 -> 103.01 (nearest 103.00)
        S(
            [FLAT, FLAT, FLAT, (101, 103.005, 100.5, 102)],
            {
                0: [buy(10)],
                1: [sell(10, limit_price=110)],
                2: [_modify("S1-000002", limit_price=103.003)],
            },
            [("o1", 100.0, 10)],
            ["filled", "accepted"],
            10,
        )
    ),
    "modify_sell_stop_rounds_down": Case(  # 95.007 -> 95.00 (nearest 95.01)
        S(
            [FLAT, FLAT, FLAT, (99, 99.5, 95.005, 96)],
            {
                0: [buy(10)],
                1: [sell(10, stop_price=90)],
                2: [_modify("S1-000002", stop_price=95.007)],
            },
            [("o1", 100.0, 10)],
            ["filled", "accepted"],
            10,
        )
    ),
    "modify_buy_stop_rounds_up": Case(  # 105.003 -> 105.01 (nearest 105.00)
        S(
            [FLAT, FLAT, (101, 105.005, 100.5, 104)],
            {0: [buy(10, stop_price=110)], 1: [_modify("S1-000001", stop_price=105.003)]},
            [],
            ["accepted"],
            0,
        )
    ),
    "modify_stop_limit_rounds_both_passively": Case(  # stop 105.003 -> 105.01, limit 105.007
        S(  # -> 105.00: the trigger at 105.01 is above the limit, so it rests and fills at 105
            [FLAT, FLAT, (101, 105.1, 100.5, 105.05), (105.05, 105.1, 104.9, 105)],
            {
                0: [buy(10, stop_price=110, limit_price=111)],
                1: [_modify("S1-000001", stop_price=105.003, limit_price=105.007)],
            },
            [("c3", 105.0, 10)],
            ["filled"],
            10,
        )
    ),
    "exit_stop_loss_pct_rounds_down": Case(  # 100 x (1 - 2.003%) = 97.997 -> 97.99
        S(
            [FLAT, FLAT, (99, 99.5, 97.995, 98.5), (98.5, 98.6, 97.98, 98)],
            {0: [buy(10)]},
            [("o1", 100.0, 10), ("c3", 97.99, 10)],
            position=0,
            cash=9979.9,
        ),
        risk={"exits": {"stop_loss_pct": 2.003}},
    ),
    "exit_take_profit_pct_rounds_up": Case(  # 100 x (1 + 2.003%) = 102.003 -> 102.01
        S(
            [FLAT, FLAT, (101, 102.005, 100.5, 101.5), (101.5, 102.02, 101, 102)],
            {0: [buy(10)]},
            [("o1", 100.0, 10), ("c3", 102.01, 10)],
            position=0,
            cash=10020.1,
        ),
        risk={"exits": {"take_profit_pct": 2.003}},
    ),
    # --- slippage stays inside the bar and on the tick grid -----------------------------
    "slippage_buy_capped_at_bar_high": Case(  # 100 x 1.001 = 100.1 > high 100.05
        S(
            [FLAT, (100, 100.05, 99, 100)],
            {0: [buy(10)]},
            [("o1", 100.05, 10)],
            position=10,
            cash=10000 - 1000.5,
            execution={"slippage_bps": 10.0},
        )
    ),
    "slippage_sell_capped_at_bar_low": Case(
        S(
            [FLAT, FLAT, (100, 101, 99.95, 100)],
            {0: [buy(10)], 1: [sell(10)]},
            [("o1", 100.1, 10), ("o2", 99.95, 10)],
            position=0,
            cash=10000 - 1001 + 999.5,
            execution={"slippage_bps": 10.0},
        )
    ),
    "slippage_cap_off_fills_beyond_the_high": Case(
        S(
            [FLAT, (100, 100.05, 99, 100)],
            {0: [buy(10)]},
            [("o1", 100.1, 10)],
            position=10,
            cash=10000 - 1001,
            execution={"slippage_bps": 10.0, "slippage_within_range": False},
        )
    ),
    "slippage_buy_rounds_up_to_the_tick": Case(  # 100.03 x 1.0001 = 100.040003 -> 100.05
        S(
            [FLAT, (100.03, 101, 99, 100)],
            {0: [buy(10)]},
            [("o1", 100.05, 10)],
            position=10,
            cash=10000 - 1000.5,
            execution={"slippage_bps": 1.0},
        )
    ),
    "slippage_sell_rounds_down_to_the_tick": Case(  # 100.03 x 0.9999 = 100.019997 -> 100.01
        S(
            [FLAT, (100.03, 101, 99, 100)],
            {0: [sell(10)]},
            [("o1", 100.01, 10)],
            position=-10,
            cash=10000 + 1000.1,
            execution={"slippage_bps": 1.0},
        )
    ),
    "slippage_rounding_never_passes_the_high": Case(  # 100.040003 -> 100.05 > high 100.04
        S(
            [FLAT, (100.03, 100.04, 99, 100)],
            {0: [buy(10)]},
            [("o1", 100.04, 10)],
            position=10,
            execution={"slippage_bps": 1.0},
        )
    ),
    "slippage_stop_buy_capped_at_high": Case(  # 105 x 1.002 = 105.21 > high 105.1
        S(
            [FLAT, (100, 105.1, 99, 104)],
            {0: [buy(10, stop_price=105)]},
            [("c1", 105.1, 10)],
            position=10,
            execution={"slippage_bps": 20.0},
        )
    ),
    "slippage_stop_sell_capped_at_low": Case(  # 95 x 0.998 = 94.81 < low 94.9
        S(
            [FLAT, FLAT, (99, 99, 94.9, 95)],
            {0: [buy(10)], 1: [sell(10, stop_price=95)]},
            [("o1", 100.2, 10), ("c2", 94.9, 10)],
            position=0,
            execution={"slippage_bps": 20.0},
        )
    ),
    "slippage_stop_limit_taker_capped_at_high": Case(
        S(
            [FLAT, (100, 105.1, 99, 104)],
            {0: [buy(10, stop_price=105, limit_price=106)]},
            [("c1", 105.1, 10)],
            position=10,
            execution={"slippage_bps": 20.0},
        )
    ),
    "slippage_trailing_stop_capped_at_low": Case(  # stop 107, 107 x 0.99 = 105.93 < 106
        S(
            [FLAT, (100, 110, 100, 109), (108, 112, 107, 111), (110, 110, 106, 106)],
            {0: [buy(10)], 1: [_trail(SELL, 10, offset=5)]},
            [("o1", 101.0, 10), ("c3", 106.0, 10)],  # the buy: 100 x 1.01 <= high 110
            position=0,
            cash=10000 - 1010 + 1060,
            execution={"slippage_bps": 100.0},
        )
    ),
    "slippage_market_on_close_capped_at_high": Case(  # 101.95 x 1.001 = 102.05195 > 102
        S(
            [FLAT, (101, 102, 100, 101.95)],
            {0: [order(BUY, 5, order_type="market_on_close")]},
            [("c1", 102.0, 5)],
            position=5,
            execution={"slippage_bps": 10.0},
        )
    ),
    # same_close fills at the close of the bar just seen: its range caps them too. Was: no
    # range, 101 x 1.005 = 101.505 -> 101.51 above that bar's high of 101.
    "slippage_same_close_buy_capped_at_the_bars_high": Case(
        S(
            [(100, 101, 99, 101), FLAT],
            {0: [buy(10)]},
            [("c0", 101.0, 10)],
            position=10,
            execution={"slippage_bps": 50.0, "market_fill": "same_close"},
        )
    ),
    "slippage_same_close_sell_capped_at_the_bars_low": Case(  # 99 x 0.995 = 98.505 < 99
        S(
            [(100, 101, 99, 99), FLAT],
            {0: [sell(10)]},
            [("c0", 99.0, 10)],
            position=-10,
            execution={"slippage_bps": 50.0, "market_fill": "same_close"},
        )
    ),
    "slippage_same_close_cap_off_fills_beyond_the_high": Case(
        S(
            [(100, 101, 99, 101), FLAT],
            {0: [buy(10)]},
            [("c0", 101.51, 10)],
            position=10,
            execution={
                "slippage_bps": 50.0,
                "market_fill": "same_close",
                "slippage_within_range": False,
            },
        )
    ),
    # ... and the bar's volume: volume_share reads it (was: unknown, so max_impact 10 %:
    # 110, capped at the high 105), volume_participation caps by it (was: no cap)
    "slippage_same_close_volume_share_reads_the_bars_volume": Case(  # 0.1 x 0.1^2 = 0.1 %
        S(
            [(100, 105, 95, 100), FLAT],
            {0: [buy(10)]},
            [("c0", 100.1, 10)],
            position=10,
            execution={
                "market_fill": "same_close",
                "slippage": {"model": "volume_share", "impact_coefficient": 0.1},
            },
            volume=100.0,
        )
    ),
    "same_close_volume_participation_caps_the_fill_the_rest_waits": Case(
        S(
            [FLAT, FLAT, FLAT],
            {0: [buy(8)]},
            [("c0", 100.0, 5), ("o1", 100.0, 3)],
            position=8,
            execution={"market_fill": "same_close", "volume_participation": 0.5},
            volume=10.0,
        )
    ),
    "slippage_same_close_on_the_grid": Case(  # 100.03 x 1.0001 -> 100.05 (high 101)
        S(
            [(100, 101, 99, 100.03), FLAT],
            {0: [buy(10)]},
            [("c0", 100.05, 10)],
            position=10,
            execution={"slippage_bps": 1.0, "market_fill": "same_close"},
        )
    ),
    "half_spread_rounds_up_to_the_tick": Case(  # 100.03 x 1.0002 = 100.050006 -> 100.06
        S(
            [FLAT, (100.03, 101, 99, 100)],
            {0: [buy(10)]},
            [("o1", 100.06, 10)],
            position=10,
            execution={"slippage": {"model": "half_spread", "spread_bps": 4.0}},
        )
    ),
    "volume_share_impact_capped_at_high": Case(  # impact 0.1 x 1^2 = 10%: 110 > high 101
        S(
            [FLAT, FLAT],
            {0: [buy(100)]},
            [("o1", 101.0, 100)],
            position=100,
            cash=20000 - 10100,
            execution={"slippage": {"model": "volume_share", "impact_coefficient": 0.1}},
            volume=100.0,
            initial_cash=20000.0,
        )
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rounding_and_slippage_case(name: str) -> None:
    check_case(CASES[name])
