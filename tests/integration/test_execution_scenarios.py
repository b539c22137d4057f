"""Hand-computed execution scenarios through the whole kernel (risk → execution → broker).

Each row gives daily bars, the orders a scripted strategy places on given bars, settings,
and what must happen: fills as (time, price, quantity) where the time is ``"o3"`` for the
open of bar 3 or ``"c3"`` for its close, the final status of each order, the final
position, and the final cash. Defaults: symbol X, lot 1, tick 0.01, cash 10,000, no fee,
no slippage. Prices are chosen so every number can be checked by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar, OrderSide

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY  # a UTC midnight
BUY, SELL = OrderSide.BUY, OrderSide.SELL
Action = Callable[[Context], object]
FLAT = (100.0, 101.0, 99.0, 100.0)


@dataclass
class Scenario:
    bars: list[tuple[float, float, float, float]]
    actions: dict[int, list[Action]]
    fills: list[tuple[str, float, float]]
    statuses: list[str] = field(default_factory=list)
    position: float | None = None
    cash: float | None = None
    execution: dict[str, Any] = field(default_factory=dict)
    instrument: dict[str, Any] = field(default_factory=dict)
    volume: float = 1_000_000.0
    initial_cash: float = 10_000.0


class Scripted(Strategy):
    def __init__(self, actions: dict[int, list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.ids: list[object] = []
        self.bar_index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bar_index += 1
        for action in self.actions.get(self.bar_index, ()):
            self.ids.append(action(ctx))


def run(scenario: Scenario) -> tuple[Any, Scripted]:
    n = len(scenario.bars)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*scenario.bars, strict=True))
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, o, h, low, c, np.full(n, scenario.volume))
    config = parse_config(
        {
            "account": {"initial_cash": scenario.initial_cash},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0, **scenario.instrument}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **scenario.execution},
        }
    )
    strategy = Scripted(scenario.actions)
    return run_backtest(config, frames=[frame], strategy=strategy), strategy


def buy(qty: float, **kw: Any) -> Action:
    return lambda ctx: ctx.buy("X", qty, **kw)


def sell(qty: float, **kw: Any) -> Action:
    return lambda ctx: ctx.sell("X", qty, **kw)


def order(side: OrderSide, qty: float, **kw: Any) -> Action:
    return lambda ctx: ctx.submit_order("X", side, qty, **kw)


S = Scenario
SCENARIOS: dict[str, Scenario] = {
    # --- market orders -------------------------------------------------------------------
    "market_buy_fills_next_open": S(
        [FLAT, (102, 103, 101, 102)], {0: [buy(10)]}, [("o1", 102.0, 10)], ["filled"], 10, 8980
    ),
    "market_sell_opens_short": S(
        [FLAT, (98, 99, 97, 98)], {0: [sell(10)]}, [("o1", 98.0, 10)], ["filled"], -10, 10980
    ),
    "market_slippage_10bps": S(
        [FLAT, (100, 101, 99, 100)],
        {0: [buy(10)]},
        [("o1", 100.1, 10)],
        position=10,
        cash=8999,
        execution={"slippage_bps": 10.0},
    ),
    "market_same_close": S(
        [FLAT, (105, 106, 104, 105)],
        {0: [buy(10)]},
        [("c0", 100.0, 10)],
        ["filled"],
        10,
        9000,
        execution={"market_fill": "same_close"},
    ),
    "never_fills_on_placement_bar": S([FLAT], {0: [buy(10)]}, [], ["accepted"], 0, 10000),
    "market_on_open": S(
        [FLAT, (101, 102, 100, 101.5)],
        {0: [order(BUY, 5, order_type="market_on_open")]},
        [("o1", 101.0, 5)],
        ["filled"],
        5,
        9495,
    ),
    "market_on_close": S(
        [FLAT, (101, 102, 100, 101.5)],
        {0: [order(BUY, 5, order_type="market_on_close")]},
        [("c1", 101.5, 5)],
        ["filled"],
        5,
        9492.5,
    ),
    # --- limits --------------------------------------------------------------------------
    "limit_buy_through": S(
        [FLAT, (100, 101, 97, 100)],
        {0: [buy(10, limit_price=98)]},
        [("c1", 98.0, 10)],
        ["filled"],
        10,
        9020,
    ),
    "limit_buy_touch_is_not_through": S(
        [FLAT, (100, 101, 98, 100)], {0: [buy(10, limit_price=98)]}, [], ["accepted"], 0, 10000
    ),
    "limit_buy_touch_mode": S(
        [FLAT, (100, 101, 98, 100)],
        {0: [buy(10, limit_price=98)]},
        [("c1", 98.0, 10)],
        position=10,
        execution={"limit_fill": "touch"},
    ),
    "limit_buy_gap_fills_at_open": S(
        [FLAT, (95, 96, 94, 95)],
        {0: [buy(10, limit_price=98)]},
        [("o1", 95.0, 10)],
        ["filled"],
        10,
        9050,
    ),
    "limit_sell_through": S(
        [FLAT, (100, 104, 99, 103)],
        {0: [sell(10, limit_price=103)]},
        [("c1", 103.0, 10)],
        ["filled"],
        -10,
        11030,
    ),
    "limit_no_slippage": S(
        [FLAT, (100, 101, 97, 100)],
        {0: [buy(10, limit_price=98)]},
        [("c1", 98.0, 10)],
        execution={"slippage_bps": 50.0},
    ),
    "limit_waits_for_later_bar": S(
        [FLAT, FLAT, (99, 99.5, 96, 97)], {0: [buy(10, limit_price=98)]}, [("c2", 98.0, 10)]
    ),
    # --- stops ---------------------------------------------------------------------------
    "stop_buy_intrabar": S(
        [FLAT, (100, 106, 99, 104)],
        {0: [buy(10, stop_price=105)]},
        [("c1", 105.0, 10)],
        ["filled"],
        10,
        8950,
    ),
    "stop_buy_gap_fills_at_open": S(
        [FLAT, (107, 108, 106, 107)], {0: [buy(10, stop_price=105)]}, [("o1", 107.0, 10)]
    ),
    "stop_sell_intrabar": S(
        [FLAT, FLAT, (99, 99, 94, 95)],
        {0: [buy(10)], 1: [sell(10, stop_price=95)]},
        [("o1", 100.0, 10), ("c2", 95.0, 10)],
        ["filled", "filled"],
        0,
        9950,
    ),
    "stop_sell_gap_down_fills_at_open": S(
        [FLAT, FLAT, (90, 91, 89, 90)],
        {0: [buy(10)], 1: [sell(10, stop_price=95)]},
        [("o1", 100.0, 10), ("o2", 90.0, 10)],
        position=0,
        cash=9900,
    ),
    "stop_with_slippage": S(
        [FLAT, (100, 106, 99, 104)],
        {0: [buy(10, stop_price=105)]},
        [("c1", 105.21, 10)],
        execution={"slippage_bps": 20.0},
    ),
    "stop_not_reached": S(
        [FLAT, (100, 104, 99, 104)], {0: [buy(10, stop_price=105)]}, [], ["accepted"], 0
    ),
    # --- stop-limit ----------------------------------------------------------------------
    "stop_limit_triggers_and_fills_at_stop": S(
        [FLAT, (100, 106, 99, 104)],
        {0: [buy(10, stop_price=105, limit_price=106)]},
        [("c1", 105.0, 10)],
        ["filled"],
    ),
    "stop_limit_gap_beyond_limit_rests": S(
        [FLAT, (108, 109, 107, 108), (107, 107.5, 105, 106)],
        {0: [buy(10, stop_price=105, limit_price=106)]},
        [("c2", 106.0, 10)],
        ["filled"],
    ),
    "stop_limit_triggered_not_filled": S(
        [FLAT, (108, 109, 107, 108)],
        {0: [buy(10, stop_price=105, limit_price=106)]},
        [],
        ["triggered"],
    ),
    # --- trailing stops ------------------------------------------------------------------
    "trailing_price_follows_high": S(
        [FLAT, (100, 110, 100, 109), (108, 112, 107, 111), (110, 110, 106, 106)],
        {0: [buy(10)], 1: [lambda ctx: ctx.trailing_stop("X", SELL, 10, offset=5)]},
        [("o1", 100.0, 10), ("c3", 107.0, 10)],
        ["filled", "filled"],
        0,
        10070,
    ),
    "trailing_percent": S(
        [FLAT, (100, 120, 100, 118), (117, 125, 116, 124), (120, 120, 110, 111)],
        {0: [buy(10)], 1: [lambda ctx: ctx.trailing_stop("X", SELL, 10, percent=10)]},
        [("o1", 100.0, 10), ("c3", 112.5, 10)],
        position=0,
        cash=10125,
    ),
    "trailing_gap_fills_at_open": S(
        [FLAT, (100, 110, 100, 109), (90, 92, 88, 91)],
        {0: [buy(10)], 1: [lambda ctx: ctx.trailing_stop("X", SELL, 10, offset=5)]},
        [("o1", 100.0, 10), ("o2", 90.0, 10)],
        position=0,
        cash=9900,
    ),
    "trailing_does_not_ratchet_within_its_bar": S(
        [FLAT, FLAT, (100, 110, 94, 100)],
        {0: [buy(10)], 1: [lambda ctx: ctx.trailing_stop("X", SELL, 10, offset=5)]},
        [("o1", 100.0, 10), ("c2", 95.0, 10)],
    ),
    "trailing_reduce_only_without_position_denied": S(
        [FLAT, FLAT],
        {0: [lambda ctx: ctx.trailing_stop("X", SELL, 10, offset=5)]},
        [],
        ["denied"],
    ),
    # --- time in force -------------------------------------------------------------------
    "day_order_expires_after_its_day": S(
        [FLAT, FLAT, (99, 99, 90, 95)],
        {0: [buy(10, limit_price=98, time_in_force="day")]},
        [],
        ["expired"],
        0,
        10000,
    ),
    "gtd_order_fills_before_expiry": S(
        [FLAT, FLAT, (99, 99, 90, 95)],
        {0: [buy(10, limit_price=98, time_in_force="gtd", expire_time=T0 + 3 * DAY)]},
        [("c2", 98.0, 10)],
        ["filled"],
    ),
    "gtd_order_expires": S(
        [FLAT, FLAT, (99, 99, 90, 95)],
        {0: [buy(10, limit_price=98, time_in_force="gtd", expire_time=T0 + 2 * DAY)]},
        [],
        ["expired"],
    ),
    "ioc_not_marketable_is_canceled": S(
        [FLAT, FLAT, (99, 99, 90, 95)],
        {0: [buy(10, limit_price=98, time_in_force="ioc")]},
        [],
        ["canceled"],
    ),
    "ioc_partial_with_volume_cap": S(
        [FLAT, FLAT],
        {0: [buy(100, time_in_force="ioc")]},
        [("o1", 100.0, 30)],
        ["canceled"],
        30,
        execution={"volume_participation": 0.5},
        volume=60.0,
    ),
    "fok_without_enough_volume_is_canceled": S(
        [FLAT, FLAT],
        {0: [buy(100, time_in_force="fok")]},
        [],
        ["canceled"],
        0,
        10000,
        execution={"volume_participation": 0.5},
        volume=60.0,
    ),
    "fok_with_enough_volume_fills": S(
        [FLAT, FLAT],
        {0: [buy(20, time_in_force="fok")]},
        [("o1", 100.0, 20)],
        ["filled"],
        execution={"volume_participation": 0.5},
        volume=60.0,
    ),
    "volume_cap_spreads_fills_over_bars": S(
        [FLAT, FLAT, FLAT, FLAT, FLAT],
        {0: [buy(100)]},
        [("o1", 100.0, 30), ("o2", 100.0, 30), ("o3", 100.0, 30), ("o4", 100.0, 10)],
        ["filled"],
        100,
        0,
        execution={"volume_participation": 0.5},
        volume=60.0,
    ),
    # --- flags ---------------------------------------------------------------------------
    "post_only_marketable_is_rejected": S(
        [FLAT, FLAT], {0: [buy(10, limit_price=101, post_only=True)]}, [], ["rejected"], 0
    ),
    "post_only_resting_fills_as_maker": S(
        [FLAT, (100, 101, 97, 100)],
        {0: [buy(10, limit_price=98, post_only=True)]},
        [("c1", 98.0, 10)],
        ["filled"],
    ),
    "reduce_only_without_position_is_denied": S(
        [FLAT, FLAT], {0: [sell(10, reduce_only=True)]}, [], ["denied"], 0, 10000
    ),
    "reduce_only_is_capped_at_the_position": S(
        [FLAT, FLAT, FLAT],
        {0: [buy(10)], 1: [sell(15, reduce_only=True)]},
        [("o1", 100.0, 10), ("o2", 100.0, 10)],
        ["filled", "canceled"],
        0,
        10000,
    ),
    # --- brackets, OCO, cancel, modify ---------------------------------------------------
    "bracket_take_profit": S(
        [FLAT, FLAT, (101, 111, 100, 110)],
        {0: [lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=95, take_profit=110)]},
        [("o1", 100.0, 10), ("c2", 110.0, 10)],
        ["filled", "canceled", "filled"],
        0,
        10100,
    ),
    "bracket_stop_loss": S(
        [FLAT, FLAT, (99, 100, 94, 95)],
        {0: [lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=95, take_profit=110)]},
        [("o1", 100.0, 10), ("c2", 95.0, 10)],
        ["filled", "filled", "canceled"],
        0,
        9950,
    ),
    "bracket_both_in_bar_stop_first": S(
        [FLAT, FLAT, (100, 112, 94, 100)],
        {0: [lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=95, take_profit=110)]},
        [("o1", 100.0, 10), ("c2", 95.0, 10)],
        position=0,
        cash=9950,
    ),
    "bracket_both_in_bar_target_first": S(
        [FLAT, FLAT, (100, 112, 94, 100)],
        {0: [lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=95, take_profit=110)]},
        [("o1", 100.0, 10), ("c2", 110.0, 10)],
        position=0,
        cash=10100,
        execution={"bracket_conflict": "target_first"},
    ),
    "bracket_both_in_bar_path_high_first": S(
        # high is nearer the open (+3 vs -6): path open → high → low, target reached first
        [FLAT, FLAT, (100, 103, 94, 100)],
        {0: [lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=95, take_profit=102)]},
        [("o1", 100.0, 10), ("c2", 102.0, 10)],
        position=0,
        execution={"bracket_conflict": "path"},
    ),
    "bracket_entry_never_fills_children_canceled": S(
        [FLAT, FLAT, FLAT],
        {
            0: [
                lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=80, take_profit=120, entry_price=90)
            ],
            1: [lambda ctx: ctx.cancel("S1-000001")],
        },
        [],
        ["canceled", "canceled", "canceled"],
        0,
        10000,
    ),
    "cancel_working_limit": S(
        [FLAT, FLAT, (99, 99, 90, 95)],
        {0: [buy(10, limit_price=98)], 1: [lambda ctx: ctx.cancel("S1-000001")]},
        [],
        ["canceled"],
        0,
        10000,
    ),
    "modify_limit_price": S(
        [FLAT, FLAT, (99, 99.5, 96.5, 97)],
        {0: [buy(10, limit_price=95)], 1: [lambda ctx: ctx.modify("S1-000001", limit_price=97)]},
        [("c2", 97.0, 10)],
        ["filled"],
    ),
    "modify_quantity": S(
        [FLAT, FLAT, (99, 99.5, 96.5, 97)],
        {0: [buy(10, limit_price=98)], 1: [lambda ctx: ctx.modify("S1-000001", quantity=4)]},
        [("c2", 98.0, 4)],
        ["filled"],
        4,
    ),
    # --- latency, cash, instrument rules, bad orders -------------------------------------
    "latency_delays_eligibility": S(
        [FLAT, (101, 102, 100, 101), (102, 103, 101, 102)],
        {0: [buy(10)]},
        [("o2", 102.0, 10)],
        execution={"latency_ns": 60 * 10**9},
    ),
    "cash_denies_unaffordable_buy": S([FLAT, FLAT], {0: [buy(200)]}, [], ["denied"], 0, 10000),
    "cash_shortfall_reduces_on_gap_up": S(
        [FLAT, (125, 126, 124, 125)],
        {0: [buy(100)]},
        [("o1", 125.0, 80)],
        ["canceled"],
        80,
        0,
    ),
    "cash_shortfall_cancel_mode": S(
        [FLAT, (125, 126, 124, 125)],
        {0: [buy(100)]},
        [],
        ["canceled"],
        0,
        10000,
        execution={"cash_shortfall": "cancel"},
    ),
    "fee_fraction_of_notional": S(
        [FLAT, FLAT, FLAT],
        {0: [buy(10)], 1: [sell(10)]},
        [("o1", 100.0, 10), ("o2", 100.0, 10)],
        position=0,
        cash=9998.0,
        execution={"fee_rate": 0.001},
    ),
    "maker_taker_fees": S(
        [FLAT, (100, 101, 97, 100), FLAT],
        {0: [buy(10, limit_price=98)], 1: [sell(10)]},
        [("c1", 98.0, 10), ("o2", 100.0, 10)],
        position=0,
        cash=10000 - 980 - 0.196 + 1000 - 1.0,
        execution={"fees": {"model": "percent", "maker_rate": 0.0002, "taker_rate": 0.001}},
    ),
    "per_unit_fee_with_minimum": S(
        [FLAT, FLAT],
        {0: [buy(10)]},
        [("o1", 100.0, 10)],
        position=10,
        cash=10000 - 1000 - 1.0,  # 10 x 0.005 = 0.05 is below the 1.00 minimum
        execution={"fees": {"model": "per_unit", "per_unit": 0.005, "minimum": 1.0}},
    ),
    "half_spread_slippage": S(
        [FLAT, FLAT],
        {0: [buy(10)]},
        [("o1", 100.02, 10)],  # 4 bps spread: a taker pays 2 bps
        execution={"slippage": {"model": "half_spread", "spread_bps": 4.0}},
    ),
    "volume_share_slippage": S(
        [FLAT, FLAT],
        {0: [buy(100)]},
        [("o1", 100.1, 100)],  # impact 0.1 x (100 / 1000)^2 = 0.1%
        position=100,
        cash=20000 - 10010,
        execution={"slippage": {"model": "volume_share", "impact_coefficient": 0.1}},
        volume=1000.0,
        initial_cash=20000.0,
    ),
    "lot_rounding_toward_zero": S(
        [FLAT, FLAT], {0: [buy(10.7)]}, [("o1", 100.0, 10)], ["filled"], 10
    ),
    "min_notional_denied": S(
        [FLAT, FLAT], {0: [buy(1)]}, [], ["denied"], 0, instrument={"min_notional": 500.0}
    ),
    "tick_rounding_of_limit": S(
        [FLAT, (100, 101, 97, 100)],
        {0: [buy(10, limit_price=98.004)]},
        [("c1", 98.0, 10)],
    ),
    "off_lot_quantity_rejected_in_reject_mode": S(
        [FLAT, FLAT], {0: [buy(10.7)]}, [], ["denied"], 0, execution={"instrument_rules": "reject"}
    ),
    "off_tick_price_rejected_in_reject_mode": S(
        [FLAT, FLAT],
        {0: [buy(10, limit_price=98.004)]},
        [],
        ["denied"],
        execution={"instrument_rules": "reject"},
    ),
    "nan_quantity_denied": S([FLAT, FLAT], {0: [buy(float("nan"))]}, [], ["denied"], 0),
    "negative_quantity_denied": S([FLAT, FLAT], {0: [buy(-5)]}, [], ["denied"], 0),
    "nan_limit_denied": S([FLAT, FLAT], {0: [buy(5, limit_price=float("nan"))]}, [], ["denied"]),
    "limit_without_price_denied": S(
        [FLAT, FLAT], {0: [order(BUY, 5, order_type="limit")]}, [], ["denied"]
    ),
    "unknown_symbol_denied": S(
        [FLAT, FLAT], {0: [lambda ctx: ctx.buy("NOPE", 5)]}, [], ["denied"], 0, 10000
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str) -> None:
    scenario = SCENARIOS[name]
    result, _ = run(scenario)
    got = [(_when(fill), round(fill.price, 6), fill.quantity) for fill in result.recorder.fills]
    assert got == scenario.fills
    if scenario.statuses:
        assert [row["status"] for row in result.recorder.orders.values()] == scenario.statuses
    position = result.portfolio.position_quantity("X")
    if scenario.position is not None:
        assert position == pytest.approx(scenario.position)
    cash = result.portfolio.cash
    if scenario.cash is not None:
        assert cash == pytest.approx(scenario.cash, abs=1e-6)
    # accounting identity on the last bar: equity = cash + position x last close
    assert result.equity_curve.equity[-1] == pytest.approx(
        cash + position * scenario.bars[-1][3], abs=1e-6
    )


def _when(fill: Any) -> str:
    """Label a fill ``oN`` (at bar N's open) or ``cN`` (at bar N's close)."""
    bar_closing = (fill.ts_init - T0) // DAY - 1  # the bar being processed when it filled
    if fill.ts_event == T0 + bar_closing * DAY:
        return f"o{bar_closing}"
    return f"c{(fill.ts_event - T0) // DAY - 1}"


def test_there_are_at_least_forty_scenarios() -> None:
    assert len(SCENARIOS) >= 40
