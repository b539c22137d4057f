"""Hand-computed money-path scenarios of issue 10 (execution part), through the whole kernel.

Same harness and conventions as `test_execution_scenarios` (daily bars, symbol X, lot 1,
tick 0.01, cash 10,000, no fee, no slippage unless a row says otherwise; fills as
``(time, price, quantity)`` with ``"o3"`` = open of bar 3, ``"c3"`` = its close). Each
class of mistake has its regression row and variants over order types, sides, fee and
slippage models:

- ``through``: a limit needs the price to trade beyond it, also at the open.
- FOK: all or nothing whatever trims the fill (cash, reduce-only, volume).
- cash cap: reserves exactly the configured fee model's fee; cash never goes below zero.
- tiered fees: a fill's tier counts every earlier fill, also on the same bar.
- passive rounding: modify, trailing levels and protective exits never round toward
  the market.
- slippage: never beyond the bar's high (buys) / low (sells); slipped prices on the tick
  grid, rounded against the trader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from engine import parse_config, run_backtest
from engine.feeds import BarFrame
from tests.integration.test_execution_scenarios import (
    BUY,
    DAY,
    FLAT,
    SELL,
    T0,
    Scenario,
    Scripted,
    _when,
    buy,
    order,
    sell,
)

S = Scenario
TEN = (10.0, 10.1, 9.9, 10.0)  # a flat bar at 10 for the cash-cap rows (cash 1,000)


@dataclass
class Case:
    """A scenario plus what the shared harness does not check: fees and risk settings."""

    scenario: Scenario
    fees: list[float] | None = None  # fee of each fill, quote currency
    risk: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)  # e.g. leverage for margin rows


def _modify(order_id: str, **kw: Any) -> Any:
    return lambda ctx: ctx.modify(order_id, **kw)


def _trail(side: Any, qty: float, **kw: Any) -> Any:
    return lambda ctx: ctx.trailing_stop("X", side, qty, **kw)


TIERS = [
    {"up_to_volume": 1000.0, "maker": 0.01, "taker": 0.01},
    {"maker": 0.001, "taker": 0.001},
]

CASES: dict[str, Case] = {
    # --- "through" never fills on a bar that only reaches the limit ---------------------
    "through_buy_limit_open_equals_low_equals_limit": Case(
        S([FLAT, (100, 101, 100, 100.5)], {0: [buy(10, limit_price=100)]}, [], ["accepted"], 0)
    ),
    "through_buy_limit_opens_at_limit_then_trades_below": Case(
        S(
            [FLAT, (100, 101, 99.5, 100.5)],
            {0: [buy(10, limit_price=100)]},
            [("c1", 100.0, 10)],
            ["filled"],
            10,
            9000,
        )
    ),
    "touch_buy_limit_opening_at_limit_fills_at_open": Case(
        S(
            [FLAT, (100, 101, 100, 100.5)],
            {0: [buy(10, limit_price=100)]},
            [("o1", 100.0, 10)],
            position=10,
            execution={"limit_fill": "touch"},
        )
    ),
    "through_sell_limit_open_equals_high_equals_limit": Case(
        S(
            [FLAT, FLAT, (100, 100, 99, 99.5)],
            {0: [buy(10)], 1: [sell(10, limit_price=100)]},
            [("o1", 100.0, 10)],
            ["filled", "accepted"],
            10,
            9000,
        )
    ),
    "through_buy_stop_limit_leg_opening_at_its_limit": Case(
        S(
            [FLAT, (108, 109, 107, 108), (106, 107, 106, 106.5)],
            {0: [buy(10, stop_price=105, limit_price=106)]},
            [],
            ["triggered"],
            0,
        )
    ),
    "through_sell_stop_limit_leg_opening_at_its_limit": Case(
        S(
            [FLAT, FLAT, (92, 93, 91, 92), (94, 94, 93, 93.5)],
            {0: [buy(10)], 1: [sell(10, stop_price=95, limit_price=94)]},
            [("o1", 100.0, 10)],
            ["filled", "triggered"],
            10,
        )
    ),
    # --- FOK: all or nothing; IOC: fill what it can --------------------------------------
    "fok_market_trimmed_by_cash_fills_nothing": Case(
        S(
            [FLAT, (125, 126, 124, 125)],
            {0: [buy(100, time_in_force="fok")]},
            [],
            ["canceled"],
            0,
            10000,
        )
    ),
    "fok_stop_gapping_beyond_cash_fills_nothing": Case(
        S(
            [FLAT, (125, 126, 124, 125)],
            {0: [buy(81, stop_price=105, time_in_force="fok")]},
            [],
            ["canceled"],
            0,
            10000,
        )
    ),
    "fok_per_unit_fee_trimmed_by_cash_fills_nothing": Case(
        S(
            [TEN, TEN],
            {0: [buy(99, time_in_force="fok")]},
            [],
            ["canceled"],
            0,
            1000,
            execution={"fees": {"model": "per_unit", "per_unit": 0.5}},
            initial_cash=1000.0,
        )
    ),
    "fok_reduce_only_trimmed_to_position_fills_nothing": Case(
        S(
            [FLAT, FLAT, FLAT],
            {0: [buy(10)], 1: [sell(15, reduce_only=True, time_in_force="fok")]},
            [("o1", 100.0, 10)],
            ["filled", "canceled"],
            10,
            9000,
        )
    ),
    "fok_margin_account_is_not_cash_capped": Case(  # leverage 2: borrows 2,500
        S(
            [FLAT, (125, 126, 124, 125)],
            {0: [buy(100, time_in_force="fok")]},
            [("o1", 125.0, 100)],
            ["filled"],
            100,
            -2500,
        ),
        account={"leverage": 2.0},
    ),
    "fok_margin_account_volume_cap_fills_nothing": Case(
        S(
            [FLAT, FLAT],
            {0: [buy(100, time_in_force="fok")]},
            [],
            ["canceled"],
            0,
            10000,
            execution={"volume_participation": 0.5},
            volume=60.0,
        ),
        account={"leverage": 2.0},
    ),
    "ioc_trimmed_by_cash_fills_what_it_can": Case(
        S(
            [FLAT, (125, 126, 124, 125)],
            {0: [buy(100, time_in_force="ioc")]},
            [("o1", 125.0, 80)],
            ["canceled"],
            80,
            0,
        )
    ),
    # --- cash cap reserves the configured fee model's fee -------------------------------
    "cash_cap_per_unit_fee": Case(  # 95 x 10 + 95 x 0.5 = 997.5; 96 would cost 1,008
        S(
            [TEN, TEN],
            {0: [buy(99)]},
            [("o1", 10.0, 95)],
            ["canceled"],
            95,
            2.5,
            execution={"fees": {"model": "per_unit", "per_unit": 0.5}},
            initial_cash=1000.0,
        ),
        fees=[47.5],
    ),
    "cash_cap_per_unit_minimum_fee": Case(  # 98 x 10 + 12 = 992; 99 would cost 1,002
        S(
            [TEN, TEN],
            {0: [buy(99)]},
            [("o1", 10.0, 98)],
            ["canceled"],
            98,
            8.0,
            execution={"fees": {"model": "per_unit", "per_unit": 0.001, "minimum": 12.0}},
            initial_cash=1000.0,
        ),
        fees=[12.0],
    ),
    "cash_cap_percent_fee_above_sizing_rate": Case(  # 99 x 10 x 1.01 = 999.9
        S(
            [TEN, TEN],
            {0: [buy(100)]},
            [("o1", 10.0, 99)],
            ["canceled"],
            99,
            0.1,
            execution={"fees": {"model": "percent", "rate": 0.01, "sizing_rate": 0.0}},
            initial_cash=1000.0,
        ),
        fees=[9.9],
    ),
    "cash_cap_taker_rate_of_maker_taker_fees": Case(  # 98 x 10 x 1.02 = 999.6
        S(
            [TEN, TEN],
            {0: [buy(100)]},
            [("o1", 10.0, 98)],
            ["canceled"],
            98,
            0.4,
            execution={
                "fees": {
                    "model": "percent",
                    "maker_rate": 0.0,
                    "taker_rate": 0.02,
                    "sizing_rate": 0.0,
                }
            },
            initial_cash=1000.0,
        ),
        fees=[19.6],
    ),
    "cash_cap_maker_rate_of_maker_taker_fees": Case(  # a maker pays 0: all 100 at 10
        S(
            [TEN, (10.05, 10.1, 9.9, 10)],
            {0: [buy(100, limit_price=10)]},
            [("c1", 10.0, 100)],
            ["filled"],
            100,
            0.0,
            execution={
                "fees": {
                    "model": "percent",
                    "maker_rate": 0.0,
                    "taker_rate": 0.02,
                    "sizing_rate": 0.0,
                }
            },
            initial_cash=1000.0,
        ),
        fees=[0.0],
    ),
    "cash_cap_tiered_fee": Case(  # 99 x 10 x 1.01 = 999.9
        S(
            [TEN, TEN],
            {0: [buy(100)]},
            [("o1", 10.0, 99)],
            ["canceled"],
            99,
            0.1,
            execution={
                "fees": {
                    "model": "tiered",
                    "sizing_rate": 0.0,
                    "tiers": [{"maker": 0.01, "taker": 0.01}],
                }
            },
            initial_cash=1000.0,
        ),
        fees=[9.9],
    ),
    "cash_cap_with_slippage_and_fee": Case(  # 10.01 (1 bp, up to the tick) x 1.01 x 98
        S(
            [TEN, TEN],
            {0: [buy(100)]},
            [("o1", 10.01, 98)],
            ["canceled"],
            98,
            1000 - 98 * 10.01 * 1.01,
            execution={
                "slippage_bps": 1.0,
                "fees": {"model": "percent", "rate": 0.01, "sizing_rate": 0.0},
            },
            initial_cash=1000.0,
        ),
        fees=[98 * 10.01 * 0.01],
    ),
    # --- tiered fees see every earlier fill, also on the same bar -----------------------
    "tiered_second_fill_on_one_open": Case(  # 1,000 traded at 1% puts the next in tier 2
        S(
            [FLAT, FLAT],
            {0: [buy(10), buy(10)]},
            [("o1", 100.0, 10), ("o1", 100.0, 10)],
            position=20,
            cash=10000 - 2000 - 10 - 1,
            execution={"fees": {"model": "tiered", "tiers": TIERS}},
        ),
        fees=[10.0, 1.0],
    ),
    "tiered_open_fill_then_intrabar_maker_fill": Case(
        S(
            [FLAT, (100, 101, 97, 100)],
            {0: [buy(10), buy(10, limit_price=99)]},
            [("o1", 100.0, 10), ("c1", 99.0, 10)],
            position=20,
            cash=10000 - 1000 - 10 - 990 - 0.99,
            execution={"fees": {"model": "tiered", "tiers": TIERS}},
        ),
        fees=[10.0, 0.99],
    ),
    "tiered_sell_after_buy_on_later_bar": Case(
        S(
            [FLAT, FLAT, FLAT],
            {0: [buy(10)], 1: [sell(10)]},
            [("o1", 100.0, 10), ("o2", 100.0, 10)],
            position=0,
            cash=10000 - 10 - 1,
            execution={"fees": {"model": "tiered", "tiers": TIERS}},
        ),
        fees=[10.0, 1.0],
    ),
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
    "slippage_same_close_on_the_grid": Case(  # 100.03 x 1.0001 -> 100.05 (no range known)
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


def run_case(case: Case) -> Any:
    scenario = case.scenario
    n = len(scenario.bars)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*scenario.bars, strict=True))
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, o, h, low, c, np.full(n, scenario.volume))
    raw: dict[str, Any] = {
        "account": {"initial_cash": scenario.initial_cash, **case.account},
        "data": [{"path": "<memory>", "symbol": "X"}],
        "instruments": [{"symbol": "X", "lot_size": 1.0, **scenario.instrument}],
        "strategy": {"path": "scripted"},
        "execution": {"fee_rate": 0.0, **scenario.execution},
    }
    if case.risk:
        raw["risk"] = case.risk
    return run_backtest(parse_config(raw), frames=[frame], strategy=Scripted(scenario.actions))


@pytest.mark.parametrize("name", list(CASES))
def test_money_path_case(name: str) -> None:
    case = CASES[name]
    scenario = case.scenario
    result = run_case(case)
    fills = result.recorder.fills
    got = [(_when(fill), round(fill.price, 6), fill.quantity) for fill in fills]
    assert got == scenario.fills
    if case.fees is not None:
        assert [fill.fee for fill in fills] == pytest.approx(case.fees, abs=1e-9)
    if scenario.statuses:
        assert [row["status"] for row in result.recorder.orders.values()] == scenario.statuses
    portfolio = result.kernel.portfolio
    position = portfolio.position_quantity("X")
    if scenario.position is not None:
        assert position == pytest.approx(scenario.position)
    if scenario.cash is not None:
        assert portfolio.cash == pytest.approx(scenario.cash, abs=1e-6)
    if not case.account:
        assert portfolio.cash >= 0.0  # a cash account never goes below zero
    for fill in fills:  # every fill on the 0.01 tick grid
        assert round(fill.price, 2) == pytest.approx(fill.price, abs=1e-9)
    assert result.equity_curve.equity[-1] == pytest.approx(
        portfolio.cash + position * scenario.bars[-1][3], abs=1e-6
    )
