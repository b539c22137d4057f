"""``execution.exits_from``: when the exits attached to a fill at a bar's open start working.

Hand-computed daily bars through the whole kernel (the scenario harness of
`test_execution_scenarios`): symbol X, lot 1, tick 0.01, cash 10,000, no fee, no slippage.
A bracket or a ``[risk.exits]`` pair attached to an entry filled at bar 1's open is matched
against bar 1's range under ``"fill_bar"``, from bar 2 under ``"next_bar"`` (the default).
Fill labels: ``"o1"`` = bar 1's open, ``"c1"`` = its close (an intrabar fill).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine import parse_config, run_backtest
from engine.errors import ConfigError
from engine.feeds import BarFrame
from tests.integration.test_execution_scenarios import (
    BUY,
    DAY,
    FLAT,
    T0,
    Scenario,
    Scripted,
    _when,
    buy,
    run,
)

FILL_BAR = {"exits_from": "fill_bar"}
DROP = (100.0, 101.0, 94.0, 95.0)  # reaches a stop at 95 after opening at 100
BOTH = (100.0, 112.0, 94.0, 100.0)  # reaches a stop at 95 and a target at 110


def _bracket(stop: float, target: float, **kw: Any) -> Any:
    return lambda ctx: ctx.bracket("X", BUY, 10, stop_loss=stop, take_profit=target, **kw)


def _fills(result: Any) -> list[tuple[str, float, float]]:
    return [(_when(f), round(f.price, 6), f.quantity) for f in result.recorder.fills]


def _assert(scenario: Scenario) -> None:
    result, _ = run(scenario)
    assert _fills(result) == scenario.fills
    if scenario.statuses:
        assert [row["status"] for row in result.recorder.orders.values()] == scenario.statuses
    assert result.portfolio.position_quantity("X") == pytest.approx(scenario.position)
    assert result.portfolio.cash == pytest.approx(scenario.cash, abs=1e-6)


def test_a_brackets_stop_fills_on_its_entrys_bar_under_fill_bar() -> None:
    # entry at bar 1's open (100); bar 1 falls to 94 -> the stop at 95 fills at bar 1's
    # close time: 10 x (95 - 100) = -50
    _assert(Scenario([FLAT, DROP, FLAT], {0: [_bracket(95, 110)]},
                     [("o1", 100.0, 10), ("c1", 95.0, 10)], ["filled", "filled", "canceled"],
                     0, 9950, execution=FILL_BAR))  # fmt: skip


def test_the_default_matches_a_brackets_exits_from_the_next_bar() -> None:
    # the same bars: bar 1's drop is not seen by the exits; bar 2 (99-101) reaches neither
    _assert(Scenario([FLAT, DROP, FLAT], {0: [_bracket(95, 110)]}, [("o1", 100.0, 10)],
                     ["filled", "accepted", "accepted"], 10, 9000))  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "price", "cash"), [("stop_first", 95.0, 9950.0), ("target_first", 110.0, 10100.0)]
)
def test_bracket_conflict_decides_a_fill_bar_that_reaches_both(
    rule: str, price: float, cash: float
) -> None:
    _assert(Scenario([FLAT, BOTH, FLAT], {0: [_bracket(95, 110)]},
                     [("o1", 100.0, 10), ("c1", price, 10)], position=0, cash=cash,
                     execution={**FILL_BAR, "bracket_conflict": rule}))  # fmt: skip


def test_a_stop_the_open_is_already_through_fills_at_the_entrys_price() -> None:
    # entry at 100 (bar 1's open) with its stop at 100.5, above the open: sold at the
    # open, at the entry's own price: nothing gained or lost
    _assert(Scenario([FLAT, (100.0, 103.0, 99.0, 102.0), FLAT], {0: [_bracket(100.5, 110)]},
                     [("o1", 100.0, 10), ("o1", 100.0, 10)], position=0, cash=10000,
                     execution=FILL_BAR))  # fmt: skip


def test_an_entry_filled_inside_the_bar_keeps_its_exits_for_the_next_bar() -> None:
    # a limit entry at 99 fills inside bar 1 (low 98): where in the bar is unknown, so the
    # stop at 98.5 (which bar 1's low reaches) waits for bar 2 (low 99): still long
    _assert(Scenario([FLAT, (100.0, 101.0, 98.0, 100.0), FLAT],
                     {0: [_bracket(98.5, 110, entry_price=99)]}, [("c1", 99.0, 10)],
                     position=10, cash=9010, execution=FILL_BAR))  # fmt: skip


def _run_with_risk_exits(execution: dict[str, Any]) -> Any:
    bars = [FLAT, DROP, FLAT]
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*bars, strict=True))
    frame = BarFrame("X", DAY, T0 + np.arange(3) * DAY, o, h, low, c, np.full(3, 1e6))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **execution},
            "risk": {"exits": {"stop_loss_pct": 5.0, "take_profit_pct": 10.0}},
        }
    )
    return run_backtest(config, frames=[frame], strategy=Scripted({0: [buy(10)]}))


def test_risk_exits_of_a_fill_at_the_open_work_on_its_bar_under_fill_bar() -> None:
    # entry 100 at bar 1's open -> stop 95 (5 %), target 110 (10 %); bar 1's low 94
    result = _run_with_risk_exits(FILL_BAR)
    assert _fills(result) == [("o1", 100.0, 10), ("c1", 95.0, 10)]
    assert result.portfolio.cash == pytest.approx(9950.0)
    assert result.portfolio.position_quantity("X") == 0


def test_risk_exits_work_from_the_next_bar_by_default() -> None:
    result = _run_with_risk_exits({})
    assert _fills(result) == [("o1", 100.0, 10)]
    assert result.portfolio.cash == pytest.approx(9000.0)
    assert result.portfolio.position_quantity("X") == 10


def _config(execution: dict[str, Any]) -> Any:
    return parse_config(
        {
            "data": [{"path": "x.csv", "symbol": "X"}],
            "strategy": {"path": "s"},
            "execution": execution,
        }
    )


def test_an_unknown_exits_from_is_one_line_naming_the_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        _config({"exits_from": "fill_bars"})
    message = str(caught.value)
    assert "\n" not in message
    assert "exits_from" in message
    assert "fill_bar" in message


def test_fill_bar_with_a_latency_is_refused() -> None:
    with pytest.raises(ConfigError, match='exits_from = "fill_bar" needs latency_ns = 0'):
        _config({"exits_from": "fill_bar", "latency_ns": 1_000_000})
    assert _config({"exits_from": "fill_bar"}).execution.exits_from == "fill_bar"
