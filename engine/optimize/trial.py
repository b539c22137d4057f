"""One trial: a backtest of the sweep's config with one parameter point, in a worker.

In: a `SweepData` (the run config, its market data loaded once, and which returns to keep)
and a `TrialSpec` (trial number and parameter point). Out: a `TrialResult`: the run's
metrics (as `engine.runtime.run_backtest` computes them), its per-day returns (compounded
per UTC day from the equity curve, `engine.report.series.period_returns`; every trial of a
sweep runs on the same bars, so their days line up — the matrix the overfitting guards
read), or the error it raised. A trial that raises is a result with ``status = "failed"``
and its error, never an exception: one bad point must not stop a sweep.

Worker-side state: `SweepData.strategy_class` loads the strategy class once per process and
keeps it in a per-process cache keyed by the strategy's path (the frames arrive with the
`SweepData`, once per worker: see `engine.optimize.executors`).
"""

from __future__ import annotations

import dataclasses
import math
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.config import RunConfig
from engine.errors import UserInputError, collecting_warnings, warn
from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.report.series import period_returns
from engine.runtime.backtest import load_frames, run_backtest
from engine.strategy import Strategy, load_strategy_class, make_strategy

__all__ = [
    "SweepData",
    "TrialResult",
    "TrialSpec",
    "WarnOnce",
    "run_trial",
    "run_trials",
]

COMPLETE = "complete"
FAILED = "failed"
_CLASSES: dict[tuple[str, str], type[Strategy]] = {}  # per process: loaded strategy classes


@dataclass(frozen=True)
class TrialSpec:
    """A trial to run: its number in the sweep and its parameter point."""

    number: int
    params: dict[str, Any]


@dataclass
class TrialResult:
    """What a trial produced.

    Attributes:
        number: The trial's number in the sweep.
        params: Its parameter point (the swept parameters only).
        status: ``"complete"`` or ``"failed"``.
        metrics: The run's metrics (None when it failed).
        error: One line: the exception's type and message (None when it completed).
        returns: Per-day returns (float64), None when it failed.
        warnings: The run's ``warning:`` lines, unprinted (`WarnOnce` says each once).
    """

    number: int
    params: dict[str, Any]
    status: str
    metrics: dict[str, Any] | None = None
    error: str | None = None
    returns: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()

    def value(self, objective: str) -> float | None:
        """Return the metric ``objective`` as a finite float (None: failed or undefined)."""
        if self.metrics is None:
            return None
        found = self.metrics.get(objective)
        if isinstance(found, bool) or not isinstance(found, int | float):
            return None
        return float(found) if math.isfinite(found) else None


@dataclass(frozen=True)
class SweepData:
    """Everything a worker needs to run trials: the config and its market data.

    Attributes:
        config: The sweep's run config (the swept parameters replace its
            ``[strategy.params]`` entries of the same name).
        frames: The config's market data, loaded once by the process that made this.
    """

    config: RunConfig
    frames: list[BarFrame | TickFrame]

    @classmethod
    def load(cls, config: RunConfig) -> SweepData:
        """Return the sweep data of ``config``, reading its market data files once."""
        return cls(config, load_frames(config))

    def strategy_class(self) -> type[Strategy]:
        """Return the config's strategy class, loaded once per process."""
        key = (self.config.strategy.path, self.config.base_dir)
        if key not in _CLASSES:
            _CLASSES[key] = load_strategy_class(*key)
        return _CLASSES[key]


def trial_config(config: RunConfig, params: dict[str, Any]) -> RunConfig:
    """Return ``config`` with ``params`` merged over its strategy parameters."""
    merged = {**config.strategy.params, **params}
    return dataclasses.replace(config, strategy=dataclasses.replace(config.strategy, params=merged))


def run_trial(data: SweepData, spec: TrialSpec) -> TrialResult:
    """Run one trial; a trial that raises comes back failed with its error, not raised.

    Its ``warning:`` lines are collected, not printed: they come back in the result.
    """
    with collecting_warnings() as warned:
        try:
            config = trial_config(data.config, spec.params)
            strategy = make_strategy(data.strategy_class(), config.strategy.params)
            result = run_backtest(config, frames=data.frames, strategy=strategy)
            curve = result.equity_curve
            initial = float(config.account.initial_cash)
            _, daily = period_returns(curve.ts, curve.equity, initial, "D")
            metrics = dict(result.metrics)
        except Exception as exc:  # any fault of one point: recorded, the sweep goes on
            return TrialResult(
                spec.number, spec.params, FAILED, error=describe(exc), warnings=tuple(warned)
            )
    return TrialResult(
        spec.number, spec.params, COMPLETE, metrics, None, daily.astype(float), tuple(warned)
    )


class WarnOnce:
    """Print each distinct ``warning:`` line of a sweep's trials once, as it first arrives.

    Every trial of a sweep runs the same data and mostly the same code, so a run warning
    (an in-sample model, a feed gap, a model that did not converge) repeated per trial: a
    100-trial sweep printed the same line 100 times. Lines that differ (a count that
    differs per trial) are each said.
    """

    def __init__(self) -> None:
        self._said: set[str] = set()

    def __call__(self, result: TrialResult) -> TrialResult:
        """Say the lines of ``result`` not said before; return ``result``."""
        for line in result.warnings:
            if line not in self._said:
                self._said.add(line)
                warn(line)
        return result


def run_trials(data: SweepData, specs: list[TrialSpec]) -> list[TrialResult]:
    """Run a batch of trials in order (one remote task of the Ray executor)."""
    return [run_trial(data, spec) for spec in specs]


def describe(exc: BaseException) -> str:
    """Return one line for a trial's error: type, message and where it was raised.

    Where: a fault's file and line; never for an input the user fixes (a `ConfigError`:
    its message names the key, and the engine file that checked it is no help).
    """
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    frames = traceback.extract_tb(exc.__traceback__)
    user_input = isinstance(exc, UserInputError)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames and not user_input else ""
    return f"{type(exc).__name__}: {message}{where}"
