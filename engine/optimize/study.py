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
trades: no Sharpe ratio), is told as failed. Trial numbers are Optuna's. The budget counts
the study's trials, so several processes on one study share it.

Resuming point for point: a killed sweep resumed with the same command (and the same
``--workers``) ends with the trials an uninterrupted one has. What makes that hold:

* The sampler is made anew for every batch, seeded from ``(--seed, number of the batch's
  first trial)`` (`batch_seed`): what it proposes depends on the seed and on the finished
  trials only (which are complete when a batch is asked), never on a random state that a
  killed process took with it.
* Each result is stored (``on_result``) before it is told to the study. On resume, a trial
  the study still holds as running (the process died while it ran) is finished first: told
  from its stored row if it was stored, else run again with the parameters Optuna stored
  for it (a backtest is deterministic) — so the batch it belonged to ends as it would have.
* A kill while a batch is being asked (the milliseconds of asking for its points, before
  any of them runs) can leave the batch short, or a trial without all its parameters (told
  failed and stored ``failed``); only then may the resumed sweep's later trials differ
  from an uninterrupted one's. A kill while trials run — nearly all of a sweep's time — is
  resumed point for point (tests/integration/test_optimize_cli.py kills mid-batch).

With several workers the trials of a batch run in parallel but are asked together and all
told before the next ask, so even then the sampler sees the same history at every ask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from engine.optimize.executors import Executor
from engine.optimize.search import SweepSpec
from engine.optimize.space import Constraint, ParamSpec
from engine.optimize.trial import COMPLETE, TrialResult, TrialSpec

__all__ = ["REJECTED", "batch_seed", "run_study"]

REJECTED = "rejected"


def _suggest(trial: Any, spec: ParamSpec) -> Any:
    if spec.low is None or spec.high is None or spec.step is None:
        return trial.suggest_categorical(spec.name, list(spec.values))
    if spec.is_int:
        return trial.suggest_int(spec.name, int(spec.low), int(spec.high), step=int(spec.step))
    value = trial.suggest_float(spec.name, spec.low, spec.high, step=spec.step)
    return min(spec.values, key=lambda v: abs(v - value))  # the grid's exact decimal value


def batch_seed(seed: int, first_number: int) -> int:
    """Return the sampler seed of the batch whose first trial is ``first_number``."""
    return int(np.random.SeedSequence([seed, first_number]).generate_state(1)[0])


def _point(params: Mapping[str, Any], spec: SweepSpec) -> dict[str, Any] | None:
    """Return the sweep point of a trial's stored Optuna params (None: not all drawn)."""
    point = {}
    for param in spec.params:
        if param.name not in params:
            return None
        value = params[param.name]
        ranged = None not in (param.low, param.high, param.step)
        is_float = ranged and not param.is_int  # as `_suggest` maps a float onto the grid
        point[param.name] = min(param.values, key=lambda v: abs(v - value)) if is_float else value
    return point


def run_study(
    spec: SweepSpec,
    executor: Executor,
    storage_url: str,
    study_name: str,
    stored: Mapping[int, TrialResult],
    constraint: Constraint | None,
    on_result: Callable[[TrialResult], None],
) -> None:
    """Run the Optuna trials the budget has left; report each result before telling it."""
    import optuna  # a heavy import, needed only by this method

    optuna.logging.set_verbosity(logging.WARNING)
    directions: list[Any] = list(spec.directions())

    def sampler(first_number: int) -> Any:
        seed = batch_seed(spec.seed, first_number)
        if len(directions) == 1:
            return optuna.samplers.TPESampler(seed=seed)
        return optuna.samplers.NSGAIISampler(seed=seed)

    study = optuna.create_study(
        study_name=study_name,
        storage=storage_url,
        sampler=sampler(0),
        directions=directions,
        load_if_exists=True,
    )

    def tell(number: int, result: TrialResult) -> None:
        if result.status == REJECTED:
            study.tell(number, state=optuna.trial.TrialState.PRUNED)
            return
        values = [result.value(objective) for objective in spec.objectives]
        scores = [v for v in values if v is not None]
        if result.status == COMPLETE and len(scores) == len(values):
            study.tell(number, scores)
        else:
            study.tell(number, state=optuna.trial.TrialState.FAIL)

    def run(specs: list[TrialSpec]) -> None:
        for result in executor.run(specs):
            on_result(result)  # stored first: a kill between the two loses nothing
            tell(result.number, result)

    # What a killed run left running: finish it as the uninterrupted run would have.
    rerun = []
    running = optuna.trial.TrialState.RUNNING
    for frozen in study.get_trials(deepcopy=False, states=(running,)):
        point = _point(frozen.params, spec)
        if frozen.number in stored:
            tell(frozen.number, stored[frozen.number])
        elif point is None:
            failed = TrialResult(
                frozen.number, dict(frozen.params), "failed",
                error="interrupted before its parameters were drawn",
            )  # fmt: skip
            on_result(failed)
            tell(frozen.number, failed)
        else:
            rerun.append(TrialSpec(frozen.number, point))
    run(rerun)

    remaining = (spec.budget or 0) - len(study.get_trials(deepcopy=False))
    while remaining > 0:
        study.sampler = sampler(len(study.get_trials(deepcopy=False)))
        asked = [study.ask() for _ in range(min(executor.workers, remaining))]
        remaining -= len(asked)
        runnable = []
        for trial in asked:
            point = {param.name: _suggest(trial, param) for param in spec.params}
            if constraint is not None and not constraint(point):
                error = f"--constraint {spec.constraint!r} is false"
                rejected = TrialResult(trial.number, point, REJECTED, error=error)
                on_result(rejected)
                tell(trial.number, rejected)
            else:
                runnable.append(TrialSpec(trial.number, point))
        run(runnable)
