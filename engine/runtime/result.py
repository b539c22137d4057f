"""`BacktestResult`: what a backtest produced, and its tables and report on demand.

The runtime builds it (`engine.runtime.backtest.run_backtest`) and the report reads it through
the `engine.report.outputs.RunOutputs` protocol, which it satisfies; the report never imports
this module, so report and runtime are no longer an import cycle. The result still holds the
kernel (``result.kernel.portfolio`` is how tests and notebooks look at final positions); the
report itself reads only the narrow parts `RunOutputs` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from engine.config import RunConfig
from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.report.frames import equity_frame, fills_frame, orders_frame, trades_frame
from engine.report.outputs import EquityCurve
from engine.report.recorder import Recorder, TradeRecord
from engine.runtime.kernel import Kernel

__all__ = ["BacktestResult", "EquityCurve"]


@dataclass
class BacktestResult:
    """What a backtest produced. ``elapsed_s`` is wall time, kept out of the artifacts."""

    config: RunConfig
    frames: list[BarFrame]
    kernel: Kernel
    equity_curve: EquityCurve
    metrics: dict[str, object]
    elapsed_s: float
    tick_frames: list[TickFrame] = field(default_factory=list)
    # positions still open at the end, marked to their last close (flagged ``is_open``)
    open_trades: list[TradeRecord] = field(default_factory=list)

    @property
    def recorder(self) -> Recorder:
        """Return the run's recorder (orders, fills, trades, equity)."""
        return self.kernel.recorder

    def report(self, path: str | Path | None = None, **options: Any) -> Path:
        """Write this run's self-contained HTML report and return its path.

        Args:
            path: Where to write it (default: a temporary file name chosen by the renderer).
            **options: Passed to `engine.report.html.render_report` (``benchmark``,
                ``risk_free_rate``, ``trials``).
        """
        from engine.report.html import render_report  # the renderer is only needed here

        return render_report(self, path, **options)

    @property
    def bars(self) -> int:
        """Return the number of market events processed: every symbol's bars plus ticks.

        This is the progress count. The "bars" of the summary, ``metrics.json`` and the run
        store is ``metrics["bars"]``: the bar close times stepped (5,482 for two hourly
        symbols of 5,482 bars each, where this says 10,964).
        """
        return sum(len(frame) for frame in self.frames) + sum(len(t) for t in self.tick_frames)

    # The four tables below are built on first access and kept (cached_property): the
    # backtest itself never builds them, so they cost nothing unless a user reads them.
    @cached_property
    def trades(self) -> pd.DataFrame:
        """Return the closed round trips as a DataFrame (the columns of ``trades.csv``).

        ``entry_time``/``exit_time`` are UTC timestamps; prices are in the quote currency,
        PnL and fees in the account currency; ``return_pct`` is percent.
        """
        return trades_frame(self)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Return every order with its final status (the columns of ``orders.csv``).

        A denied order has ``status == "denied"`` and the risk ``check`` and ``reason``.
        """
        return orders_frame(self)

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Return every fill (the columns of ``fills.csv``; ``ts_event`` a UTC timestamp)."""
        return fills_frame(self)

    @cached_property
    def equity(self) -> pd.DataFrame:
        """Return cash, equity and gross exposure per bar close (a UTC ``DatetimeIndex``)."""
        return equity_frame(self)
