"""A scripted strategy run through the whole kernel, for hand-computed scenarios.

Bars are daily, bar k opening at ``T0 + k`` days; the `Scripted` strategy runs its actions
on the given bars (decided at bar k's close, so market orders fill at bar k+1's open).
Defaults: symbol X, lot 1, tick 0.01, cash 10,000, no fee, no slippage; ``MARGIN_2X`` is
a margin account with leverage 2. Used by ``test_orders_money_path`` and
``test_orders_exits_guards`` (issue 10).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine import Context, Strategy, parse_config, run_backtest
from engine.cache import COLUMNS, SymbolHistory
from engine.clock import SimClock
from engine.feeds import BarFrame
from engine.model import Bar, Instrument
from engine.runtime import BacktestResult, Kernel
from engine.runtime.kernel import build_kernel
from engine.runtime.modes import BACKTEST, RunMode

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY  # a UTC midnight
FLAT = (100.0, 101.0, 99.0, 100.0)
MARGIN_2X = {"leverage": 2.0}
Action = Callable[[Context], object]


class Scripted(Strategy):
    def __init__(self, actions: dict[int, list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.bar_index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bar_index += 1
        for action in self.actions.get(self.bar_index, ()):
            action(ctx)


def run(
    bars: list[tuple[float, float, float, float]],
    actions: dict[int, list[Action]],
    *,
    account: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
) -> BacktestResult:
    n = len(bars)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*bars, strict=True))
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, o, h, low, c, np.full(n, 1e6))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, **(account or {})},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **(execution or {})},
            "risk": risk or {},
        }
    )
    return run_backtest(config, frames=[frame], strategy=Scripted(actions))


def bare_kernel(mode: RunMode = BACKTEST) -> Kernel:
    """Return the kernel a run wires by default (a result holds no kernel), without bars."""
    config = run([FLAT] * 2, {}).config
    empty = np.empty(0)
    return build_kernel(
        clock=SimClock(T0),
        strategy=Scripted({}),
        strategy_id="S1",
        histories={"X": SymbolHistory("X", empty.astype(np.int64), dict.fromkeys(COLUMNS, empty))},
        instruments={"X": Instrument("X", lot_size=1.0)},
        account=config.account,
        execution=config.execution,
        risk_config=config.risk,
        mode=mode,
    )


def position(result: BacktestResult) -> float:
    return result.portfolio.position_quantity("X")


def cash(result: BacktestResult) -> float:
    return result.portfolio.cash


def fills(result: BacktestResult) -> list[tuple[str, float, float]]:
    """Return (side, price, quantity) of every fill, in order."""
    return [(str(f.side), f.price, f.quantity) for f in result.recorder.fills]


def rows(result: BacktestResult) -> list[tuple[str, str, str, float]]:
    """Return (side, type, status, quantity) of every orders.csv row, in request order."""
    return [
        (str(r["side"]), str(r["order_type"]), str(r["status"]), float(r["quantity"]))
        for r in result.recorder.orders.values()
    ]


def denied(result: BacktestResult) -> list[tuple[str, str]]:
    """Return (check, reason) of every denied order, in request order."""
    return [
        (str(r["check"]), str(r["reason"]))
        for r in result.recorder.orders.values()
        if r["status"] == "denied"
    ]


def statuses(result: BacktestResult) -> list[tuple[str, str, str]]:
    """Return (side, type, status) of every order, in request order."""
    return [row[:3] for row in rows(result)]


def order_reason(result: BacktestResult, index: int = 0) -> str:
    return str(list(result.recorder.orders.values())[index]["reason"])
