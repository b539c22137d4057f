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

Passive rounding and slippage rows are in `test_execution_rounding_slippage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from engine import parse_config, run_backtest
from engine.feeds import BarFrame
from tests.integration.test_execution_scenarios import (
    DAY,
    FLAT,
    T0,
    Scenario,
    Scripted,
    _when,
    buy,
    sell,
)

S = Scenario
TEN = (10.0, 10.1, 9.9, 10.0)  # a flat bar at 10 for the cash-cap rows (cash 1,000)
# The bar the cash-cap rows decide on: risk checks the buy at its close of 9 with the fee
# model's fee (and passes it); the cap meets it at 10, the next open.
NINE = (9.0, 9.1, 8.9, 9.0)


@dataclass
class Case:
    """A scenario plus what the shared harness does not check: fees and risk settings."""

    scenario: Scenario
    fees: list[float] | None = None  # fee of each fill, quote currency
    risk: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)  # e.g. leverage for margin rows


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
            [NINE, TEN],
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
            [NINE, TEN],
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
            [NINE, TEN],
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
            [NINE, TEN],
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
            [NINE, TEN],
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
    # A maker pays 0: all 100 at 10 (risk too charges a maker's fee to a limit below the close)
    "cash_cap_maker_rate_of_maker_taker_fees": Case(
        S(
            [(10.05, 10.1, 10.0, 10.05), (10.05, 10.1, 9.9, 10)],
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
            [NINE, TEN],
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
            [NINE, TEN],
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
    # A sell's fee beyond its proceeds is paid from cash too: 10 in, 20 out with 0 left.
    # Was: filled, cash -10 on a cash account.
    "cash_account_sell_whose_minimum_fee_exceeds_proceeds_and_cash": Case(
        S(
            [TEN, TEN, TEN],
            {0: [buy(98)], 1: [sell(1)]},
            [("o1", 10.0, 98)],
            ["filled", "canceled"],
            98,
            0.0,
            execution={"fees": {"model": "per_unit", "per_unit": 0.001, "minimum": 20.0}},
            initial_cash=1000.0,
        ),
        fees=[20.0],
    ),
    "cash_account_sell_whose_fee_the_cash_covers_fills": Case(  # 990 - 2 = 988 left
        S(
            [TEN, TEN, TEN],
            {0: [buy(1)], 1: [sell(1)]},
            [("o1", 10.0, 1), ("o2", 10.0, 1)],
            ["filled", "filled"],
            0,
            1000.0 - 12.0 - 12.0,
            execution={"fees": {"model": "per_unit", "per_unit": 0.001, "minimum": 12.0}},
            initial_cash=1000.0,
        ),
        fees=[12.0, 12.0],
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
    check_case(CASES[name])


def check_case(case: Case) -> None:
    """Run ``case`` and check fills, fees, statuses, position, cash and the grid."""
    scenario = case.scenario
    result = run_case(case)
    fills = result.recorder.fills
    got = [(_when(fill), round(fill.price, 6), fill.quantity) for fill in fills]
    assert got == scenario.fills
    if case.fees is not None:
        assert [fill.fee for fill in fills] == pytest.approx(case.fees, abs=1e-9)
    if scenario.statuses:
        assert [row["status"] for row in result.recorder.orders.values()] == scenario.statuses
    portfolio = result.portfolio
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
