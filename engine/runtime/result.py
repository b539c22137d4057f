"""`BacktestResult`: what a backtest produced, and its tables and report on demand.

The runtime builds it (`engine.runtime.summary.summarize`, at the end of
`engine.runtime.backtest.run_backtest`) and the report reads it through the
`engine.report.outputs.RunOutputs` protocol, which it satisfies; the report never imports
this module, so report and runtime are not an import cycle.

It holds outputs, not the kernel: the recorder's rows, the equity curve, the metrics and
the account's final state (``portfolio``: an `engine.portfolio.state.AccountState`, frozen
— cash, positions, fees paid, cash flows, equity), plus the strategy instance that ran and
the indicators it declared (the report draws them), the fx rates, and the orders still
working or still in flight at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.config import RunConfig
from engine.feeds import BarFrame, format_timestamp
from engine.feeds.ticks import TickFrame
from engine.model import Order
from engine.portfolio.fx import FxRates
from engine.portfolio.state import AccountState
from engine.report.frames import equity_frame, fills_frame, orders_frame, trades_frame
from engine.report.outputs import EquityCurve
from engine.report.recorder import Recorder, TradeRecord
from engine.strategy import Strategy
from engine.strategy.history import Indicator

__all__ = ["BacktestResult", "EquityCurve"]


@dataclass
class BacktestResult:
    """What a backtest produced. ``elapsed_s`` is wall time, kept out of the artifacts.

    Attributes:
        recorder: Orders, fills, trades, cash adjustments and account events as recorded.
        portfolio: The account after the last event (read-only).
        strategy: The strategy instance that ran (its attributes as the run left them).
        indicators: Per bar symbol, ``(registry name, indicator)`` of each indicator the
            strategy declared on it, holding every value revealed in the run.
        fx: The rates of the symbols quoted in a foreign currency (empty: single currency).
        working_orders: Orders still working at the venue when the data ended.
        in_flight: Ids of orders approved by risk that the venue never answered (a correct
            run leaves none: every approval is accepted, rejected or canceled at once).
    """

    config: RunConfig
    frames: list[BarFrame]
    equity_curve: EquityCurve
    metrics: dict[str, object]
    elapsed_s: float
    recorder: Recorder
    portfolio: AccountState
    strategy: Strategy
    indicators: dict[str, list[tuple[str, Indicator]]] = field(default_factory=dict)
    fx: FxRates = field(default_factory=lambda: FxRates({}))
    working_orders: tuple[Order, ...] = ()
    in_flight: tuple[str, ...] = ()
    tick_frames: list[TickFrame] = field(default_factory=list)
    # positions still open at the end, marked to their last close (flagged ``is_open``)
    open_trades: list[TradeRecord] = field(default_factory=list)
    # (symbol, time) of positions opened while [risk.exits]' ATR had no value: no trailing
    # stop (`engine.risk.exits.ExitManager.unsized_trailing`)
    unsized_trailing: list[tuple[str, int]] = field(default_factory=list)

    def indicator_warnings(self) -> list[str]:
        """Return a line for each declared indicator that never had a value in the run.

        Its warm-up is longer than the data (``slow = 100000`` on 5,482 bars, say): the
        strategy's rules that read it never ran, and the run is 0 trades for no reason the
        results show. The CLI prints them as ``warning:`` lines.
        """
        lines = []
        for symbol, declared in self.indicators.items():
            for _, indicator in declared:
                values = indicator.to_numpy()
                if values.size and bool(np.isnan(values).all()):
                    lines.append(
                        f"{symbol}: {indicator.name} never had a value in {values.size:,} bars "
                        "(its warm-up is longer than the data): the strategy's rules that "
                        "read it never ran"
                    )
        period = self.config.risk.exits.atr_period if self.config.risk.exits else 0
        for symbol in dict.fromkeys(symbol for symbol, _ in self.unsized_trailing):
            times = [ts for s, ts in self.unsized_trailing if s == symbol]
            lines.append(
                f"{symbol}: [risk.exits] trailing_atr_multiple: ATR({period}) had no value when "
                f"{len(times):,} position{'s' if len(times) > 1 else ''} opened (the first at "
                f"{format_timestamp(times[0])}): they got no trailing stop"
            )
        return lines

    def report(self, path: str | Path | None = None, **options: Any) -> Path:
        """Write this run's HTML report and return its path.

        Args:
            path: Where to write it (default: a temporary file name chosen by the renderer).
            **options: Passed to `engine.report.html.render_report` (``benchmark``,
                ``risk_free_rate``, ``trials``, ``plotly``: plotly.js goes to ``_assets/``
                beside the page unless ``plotly=engine.report.assets.INLINE`` embeds it).
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
