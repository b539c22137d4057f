"""A two-symbol scripted backtest for the risk audit's scenarios (hand-computed numbers).

Bars are daily, bar k opening at ``T0 + k`` days; actions run at bar k's close of the
symbol named in the key, so market orders fill at bar k+1's open. Symbols A (lot 0.01)
and B (lot 0.01), tick 0.01, cash 10,000, no fee, no slippage unless given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar
from engine.runtime import BacktestResult

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY  # a UTC midnight
Action = Callable[[Context], object]
Bars = list[tuple[float, float, float, float]]


class TwoSymbolScript(Strategy):
    """Runs ``actions[(symbol, k)]`` at the close of ``symbol``'s bar k."""

    def __init__(self, actions: dict[tuple[str, int], list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.seen: dict[str, int] = {}

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        index = self.seen.get(bar.symbol, -1) + 1
        self.seen[bar.symbol] = index
        for action in self.actions.get((bar.symbol, index), ()):
            action(ctx)


def run2(
    bars: dict[str, Bars],
    actions: dict[tuple[str, int], list[Action]],
    *,
    account: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
) -> BacktestResult:
    frames = []
    for symbol, rows in bars.items():
        n = len(rows)
        o, h, low, c = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
        times = T0 + np.arange(n) * DAY
        frames.append(BarFrame(symbol, DAY, times, o, h, low, c, np.full(n, 1e6)))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, **(account or {})},
            "data": [{"path": "<memory>", "symbol": s} for s in bars],
            "instruments": [{"symbol": s, "lot_size": 0.01} for s in bars],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **(execution or {})},
            "risk": risk or {},
        }
    )
    return run_backtest(config, frames=frames, strategy=TwoSymbolScript(actions))


def filled(result: BacktestResult, symbol: str) -> float:
    """Return the signed quantity filled on ``symbol`` over the run."""
    return sum(f.quantity * f.side.sign for f in result.recorder.fills if f.symbol == symbol)


def denials(result: BacktestResult) -> list[tuple[str, str]]:
    """Return ``(check, reason)`` of every denied order, in order."""
    return [
        (row["check"], row["reason"])
        for row in result.recorder.orders.values()
        if row["status"] == "denied"
    ]
