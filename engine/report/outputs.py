"""What a finished run hands to the report: its equity curve and the `RunOutputs` protocol.

The report (artifacts, DataFrames, HTML) reads a run through `RunOutputs`, a protocol of the
attributes it uses, instead of importing the runtime's `BacktestResult`: the runtime builds
results and calls the report, so the report importing the runtime back made the two packages
one import cycle (issue 12). `engine.runtime.result.BacktestResult` satisfies the protocol,
and mypy checks that wherever a result is passed to a report function.

What the report needs of the kernel is two things only, typed narrowly below
(`KernelOutputs`): the portfolio (its fx rates, for fills in the account currency) and the
strategy's context (the indicators it declared, drawn on the price chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.feeds import BarFrame
    from engine.portfolio import Portfolio
    from engine.report.recorder import Recorder, TradeRecord
    from engine.strategy import Context

__all__ = ["EquityCurve", "KernelOutputs", "RunOutputs", "RunnerOutputs"]


@dataclass(frozen=True)
class EquityCurve:
    """Account value per bar close time: int64 ns and float64 columns of equal length."""

    ts: np.ndarray
    cash: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)


class RunnerOutputs(Protocol):
    """The strategy runner as the report sees it."""

    @property
    def context(self) -> Context:
        """The strategy's context (declared indicators, per symbol)."""
        ...


class KernelOutputs(Protocol):
    """The parts of a finished kernel the report reads."""

    @property
    def portfolio(self) -> Portfolio:
        """The run's portfolio (an `FxPortfolio` when instruments are quoted in fx)."""
        ...

    @property
    def runner(self) -> RunnerOutputs:
        """The strategy runner."""
        ...


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
    def kernel(self) -> KernelOutputs:
        """The kernel's portfolio and strategy runner."""
        ...
