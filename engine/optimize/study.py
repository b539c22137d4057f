"""Optuna search: TPE for one objective, NSGA-II for two, stored in the run store's database.

In: a `SweepSpec` (method ``optuna``), an `Executor`, the run store's SQLAlchemy URL and the
trials already stored for the sweep. Out: each new `TrialResult`, handed to ``on_result`` as
it finishes. The study is named after the sweep and lives in the same database as the runs
(Optuna's own tables, created by Optuna beside Kestrel's), so several machines pointed at
one PostgreSQL store can work on one study, and ``--resume`` reloads it.

Parallelism by ask-and-tell: the sampler proposes ``executor.workers`` points at a time,
the executor runs them, their values are told back, then the next batch is asked. A point
that breaks the constraint is told as pruned (the sampler learns nothing from it) and stored
``rejected`` without a backtest; a failed trial, or one whose objective is undefined (no
trades: no Sharpe ratio), is told as failed. Trial numbers are Optuna's. Unlike grid and
random sweeps, a resumed Optuna sweep does not repeat an uninterrupted one point for point:
the sampler's random state is not stored, only the study's trials, which it learns from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from engine.optimize.executors import Executor
from engine.optimize.search import SweepSpec
from engine.optimize.space import Constraint, ParamSpec
from engine.optimize.trial import COMPLETE, TrialResult, TrialSpec

__all__ = ["REJECTED", "run_study"]

REJECTED = "rejected"


def _suggest(trial: Any, spec: ParamSpec) -> Any:
    if spec.low is None or spec.high is None or spec.step is None:
        return trial.suggest_categorical(spec.name, list(spec.values))
    if spec.is_int:
        return trial.suggest_int(spec.name, int(spec.low), int(spec.high), step=int(spec.step))
    value = trial.suggest_float(spec.name, spec.low, spec.high, step=spec.step)
    return min(spec.values, key=lambda v: abs(v - value))  # the grid's exact decimal value


def run_study(
    spec: SweepSpec,
    executor: Executor,
    storage_url: str,
    study_name: str,
    stored: Mapping[int, TrialResult],
    constraint: Constraint | None,
    on_result: Callable[[TrialResult], None],
) -> None:
    """Run the Optuna trials the budget has left after ``stored``; report each result."""
    import optuna  # a heavy import, needed only by this method

    optuna.logging.set_verbosity(logging.WARNING)
    directions: list[Any] = list(spec.directions())
    sampler: Any = (
        optuna.samplers.TPESampler(seed=spec.seed)
        if len(directions) == 1
        else optuna.samplers.NSGAIISampler(seed=spec.seed)
    )
    study = optuna.create_study(
        study_name=study_name,
        storage=storage_url,
        sampler=sampler,
        directions=directions,
        load_if_exists=True,
    )
    remaining = (spec.budget or 0) - len(stored)
    while remaining > 0:
        asked = [study.ask() for _ in range(min(executor.workers, remaining))]
        remaining -= len(asked)
        by_number = {trial.number: trial for trial in asked}
        runnable = []
        for trial in asked:
            point = {param.name: _suggest(trial, param) for param in spec.params}
            if constraint is not None and not constraint(point):
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                error = f"--constraint {spec.constraint!r} is false"
                on_result(TrialResult(trial.number, point, REJECTED, error=error))
            else:
                runnable.append(TrialSpec(trial.number, point))
        for result in executor.run(runnable):
            values = [result.value(objective) for objective in spec.objectives]
            trial = by_number[result.number]
            scores = [v for v in values if v is not None]
            if result.status == COMPLETE and len(scores) == len(values):
                study.tell(trial, scores)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            on_result(result)
