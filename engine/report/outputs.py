"""What a finished run hands to the report: its equity curve and the `RunOutputs` protocol.

The report (artifacts, DataFrames, HTML) reads a run through `RunOutputs`, a protocol of the
attributes it uses, instead of importing the runtime's `BacktestResult`: the runtime builds
results and calls the report, so the report importing the runtime back made the two packages
one import cycle (issue 12). `engine.runtime.result.BacktestResult` satisfies the protocol,
and mypy checks that wherever a result is passed to a report function.

A result holds outputs, not the kernel: besides the recorder's rows and the curve, the
report reads the fx rates (fills in the account currency) and the indicators the strategy
declared (drawn on the price chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.feeds import BarFrame
    from engine.portfolio.fx import FxRates
    from engine.report.recorder import Recorder, TradeRecord
    from engine.strategy.history import Indicator

__all__ = ["EquityCurve", "RunOutputs"]


@dataclass(frozen=True)
class EquityCurve:
    """Account value per bar close time: int64 ns and float64 columns of equal length."""

    ts: np.ndarray
    cash: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)


class RunOutputs(Protocol):
    """A finished run as the report reads it (`engine.runtime.result.BacktestResult`)."""

    @property
    def config(self) -> RunConfig:
        """The resolved run configuration."""
        ...

    @property
    def frames(self) -> list[BarFrame]:
        """The bars run, one frame per bar source."""
        ...

    @property
    def equity_curve(self) -> EquityCurve:
        """Cash, equity and gross exposure per bar close time."""
        ...

    @property
    def metrics(self) -> dict[str, object]:
        """The run's metrics (``metrics.json``)."""
        ...

    @property
    def open_trades(self) -> list[TradeRecord]:
        """Positions still open at the end, marked to their last price."""
        ...

    @property
    def recorder(self) -> Recorder:
        """Orders, fills and trades as recorded."""
        ...

    @property
    def fx(self) -> FxRates:
        """The rates of the symbols quoted in a foreign currency (empty: single currency)."""
        ...

    @property
    def indicators(self) -> dict[str, list[tuple[str, Indicator]]]:
        """Per bar symbol, the indicators the strategy declared (registry name, values)."""
        ...
