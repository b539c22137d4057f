"""Run a sweep to its end: plan, execute, store every trial as it finishes, compute guards.

In: a `SweepSpec`, its id, an `Executor`, a `SweepSink` (the run store's sweep tables,
`engine.persistence.sweeps.SweepStore`, satisfies it; the optimizer never imports the
store), the trials already stored (a resumed sweep) and a progress callback. Out: a
`SweepOutcome`: every trial (stored and new) and the sweep's overfitting guards.

Each result is saved (one short transaction) before the next is awaited, so Ctrl-C or a
killed process loses at most the trials still running; the sweep's status then says
``interrupted`` (Ctrl-C) or stays ``running`` (killed), and the same command with
``--resume`` runs only the trials not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.optimize.executors import Executor
from engine.optimize.search import SweepSpec, plan, sweep_guards, trial_row
from engine.optimize.space import Constraint
from engine.optimize.study import run_study
from engine.optimize.trial import TrialResult

__all__ = ["SweepOutcome", "SweepSink", "execute_sweep"]


class SweepSink(Protocol):
    """Where a sweep's trials and status go."""

    def save_trial(self, sweep_id: str, row: Mapping[str, Any]) -> None:
        """Store one finished trial."""
        ...

    def set_status(self, sweep_id: str, status: str, guards: Mapping[str, Any] | None) -> None:
        """Set the sweep's status (and its guards)."""
        ...


@dataclass
class SweepOutcome:
    """A finished sweep: every trial by number and its guards."""

    results: list[TrialResult]
    guards: dict[str, Any]


def execute_sweep(
    spec: SweepSpec,
    sweep: str,
    executor: Executor,
    sink: SweepSink,
    *,
    stored: Sequence[TrialResult] = (),
    constraint: Constraint | None = None,
    storage_url: str | None = None,
    progress: Callable[[TrialResult, int, int], None] | None = None,
) -> SweepOutcome:
    """Run the trials of ``spec`` not in ``stored``; store each; return the whole sweep.

    Args:
        spec: What to search.
        sweep: The sweep's id (rows are stored under it).
        executor: Where trials run.
        sink: Where rows go.
        stored: Trials a previous, interrupted attempt stored.
        constraint: The compiled ``spec.constraint``.
        storage_url: The database of the Optuna study (method ``optuna`` only).
        progress: Called as ``progress(result, done, total)`` after each stored trial.

    Raises:
        KeyboardInterrupt: After marking the sweep ``interrupted`` (finished trials kept).
    """
    results = {r.number: r for r in stored}
    total = 0

    def accept(result: TrialResult) -> None:
        sink.save_trial(sweep, trial_row(result, spec.objectives))
        results[result.number] = result
        if progress is not None:
            progress(result, len(results), total)

    try:
        if spec.method == "optuna":
            total = spec.budget or 0
            if storage_url is None:
                raise ValueError("an Optuna sweep needs the store's URL for its study")
            run_study(spec, executor, storage_url, sweep, results, constraint, accept)
        else:
            planned = plan(spec, constraint)
            total = len(planned)
            for result in executor.run([t for t in planned if t.number not in results]):
                accept(result)
    except KeyboardInterrupt:
        sink.set_status(sweep, "interrupted", None)
        raise
    ordered = [results[number] for number in sorted(results)]
    guards = sweep_guards(ordered, spec)
    sink.set_status(sweep, "complete", guards)
    return SweepOutcome(ordered, guards)
