"""A sweep: what it searches (`SweepSpec`), the trials it plans, ranks and the guards.

In: the swept `ParamSpec` values, the objectives (metric names of
`engine.report.metrics`; each maximized, except those in `MINIMIZE`), the method and its
budget. Out: `TrialSpec` lists to run (grid: every point that satisfies the constraint, in
grid order; random: ``trials`` distinct grid points drawn with ``seed``; Optuna plans as it
goes, `engine.optimize.study`), trial rows for the store (`trial_row`, `result_from_row`),
the ranking (`rank`, `pareto_front`) and the sweep's overfitting guards (`sweep_guards`).

A sweep's identity (`sweep_id`) is its run name and a hash of its config and spec: running
the same command again names the same sweep, which is how ``--resume`` finds it. Grid and
random trials have fixed numbers (their place in the plan), so a resumed sweep runs exactly
the numbers missing from the store and ends with the same rows as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import ConfigError, KestrelError, did_you_mean
from engine.optimize.guards import Matrix, deflated_sharpe, pbo_cscv, sharpe_ratios
from engine.optimize.space import Constraint, ParamSpec, grid_points, random_points
from engine.optimize.trial import COMPLETE, TrialResult, TrialSpec, describe
from engine.report.metrics import compute_metrics
from engine.runtime.inputs import resolve_data_path
from engine.typed import build

if TYPE_CHECKING:
    from engine.config import RunConfig

__all__ = [
    "METHODS",
    "MINIMIZE",
    "SweepSpec",
    "check_points",
    "objective_names",
    "pareto_front",
    "plan",
    "rank",
    "result_from_row",
    "selection_metrics",
    "sweep_guards",
    "sweep_id",
    "trial_row",
]

METHODS = ("grid", "random", "optuna")
DEFAULT_TRIALS = 100  # random and Optuna, when --trials is not given
#: Objectives where smaller is better; every other metric is maximized (max_drawdown is
#: negative, so "maximize" means the shallowest drawdown).
MINIMIZE = frozenset(
    {
        "volatility",
        "ulcer_index",
        "max_drawdown_duration_days",
        "longest_drawdown_duration_days",
        "fees_paid",
        "turnover",
    }
)
_NOT_OBJECTIVES = frozenset(
    {"initial_cash", "risk_free_rate", "trials", "bars", "periods_per_year", "start", "end"}
)
RETURNS_DTYPE = "<f8"


def objective_names() -> list[str]:
    """Return the numeric metrics a sweep can optimize (the keys `compute_metrics` returns)."""
    day = 86_400 * 10**9
    metrics = compute_metrics(
        initial_cash=100.0,
        start_ns=0,
        ts=np.array([day, 2 * day, 3 * day]),
        equity=np.array([101.0, 99.0, 102.0]),
        gross_exposure=np.zeros(3),
        trades=[],
        fees_paid=0.0,
    )
    return sorted(name for name in metrics if name not in _NOT_OBJECTIVES)


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep searches.

    Attributes:
        params: The swept parameters.
        objectives: One or two metric names (two: a Pareto front; NSGA-II with Optuna).
        method: ``grid``, ``random`` or ``optuna``.
        trials: The budget of random and Optuna searches (None: the grid).
        seed: Seed of the random draw and of Optuna's sampler.
        constraint: The ``--constraint`` text (None: every point).
    """

    params: tuple[ParamSpec, ...]
    objectives: tuple[str, ...]
    method: str = "grid"
    trials: int | None = None
    seed: int = 0
    constraint: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            hint = did_you_mean(self.method, METHODS)
            raise ConfigError(f"--method {self.method!r} is not a search method{hint}")
        if not self.params:
            raise ConfigError("give at least one --param name=start:stop:step to search")
        names = [spec.name for spec in self.params]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ConfigError(f"--param {twice[0]!r} is given more than once")
        known = objective_names()
        for objective in self.objectives:
            if objective not in known:
                hint = did_you_mean(objective, known)
                raise ConfigError(f"--objective {objective!r} is not a metric{hint}")
        if not 1 <= len(self.objectives) <= 2:
            raise ConfigError("give one --objective, or two for a Pareto front")
        if self.trials is not None and self.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {self.trials}")
        if self.method == "grid" and self.trials is not None:
            raise ConfigError("--trials sets the budget of --method random or optuna, not grid")

    @property
    def budget(self) -> int | None:
        """Return the number of trials to run (None: the whole grid)."""
        return None if self.method == "grid" else self.trials or DEFAULT_TRIALS

    def directions(self) -> tuple[str, ...]:
        """Return ``maximize`` or ``minimize`` per objective."""
        return tuple("minimize" if o in MINIMIZE else "maximize" for o in self.objectives)

    def as_json(self) -> dict[str, Any]:
        """Return the spec as JSON-ready values (stored with the sweep)."""
        return {
            "params": [
                {
                    "name": p.name,
                    "values": list(p.values),
                    "low": p.low,
                    "high": p.high,
                    "step": p.step,
                }
                for p in self.params
            ],
            "objectives": list(self.objectives),
            "method": self.method,
            "trials": self.budget,
            "seed": self.seed,
            "constraint": self.constraint,
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> SweepSpec:
        """Return the spec `as_json` stored (a sweep row's ``spec``)."""
        params = tuple(
            ParamSpec(p["name"], tuple(p["values"]), p["low"], p["high"], p["step"])
            for p in stored["params"]
        )
        budget = None if stored["method"] == "grid" else stored["trials"]
        return cls(
            params, tuple(stored["objectives"]), stored["method"], budget, stored["seed"],
            stored["constraint"],
        )  # fmt: skip


def sweep_id(name: str, config_toml: str, spec: SweepSpec, inputs: str = "") -> str:
    """Return the sweep's id: the run name and a hash of the config, the spec and the inputs.

    ``inputs`` is `inputs_digest` (the data files' and the strategy's bytes): a sweep on
    changed data is another sweep, so ``--resume`` never mixes trials run on two data sets.
    """
    text = config_toml + "\0" + json.dumps(spec.as_json(), sort_keys=True) + "\0" + inputs
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def inputs_digest(config: RunConfig, strategy_class: type) -> str:
    """Return the sha256 of the bytes of every file ``config`` reads and of the strategy.

    The files: each ``[[data]]`` path (bars, ticks, catalog files), ``funding`` file,
    ``[[fx]]`` rate file and headline file, and the file of the strategy class's module.
    """
    names = [source.path for source in config.data if source.path]
    names += [source.funding for source in config.data if source.funding]
    names += [rate.path for rate in config.fx] + [news.path for news in config.news]
    module = sys.modules.get(strategy_class.__module__)
    module_file = getattr(module, "__file__", None)
    paths = [resolve_data_path(name, config.base_dir) for name in names]
    paths += [Path(module_file)] if module_file and Path(module_file).is_file() else []
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.name}:{path.stat().st_size}:".encode())  # length-prefixed
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def plan(spec: SweepSpec, constraint: Constraint | None) -> list[TrialSpec]:
    """Return the trials of a grid or random sweep, numbered in plan order."""
    keep: Callable[[dict[str, Any]], bool] = constraint or (lambda _point: True)
    if spec.method == "grid":
        points = [point for point in grid_points(spec.params) if keep(point)]
    elif spec.method == "random":
        points = random_points(spec.params, spec.budget or DEFAULT_TRIALS, spec.seed, keep)
    else:
        raise ConfigError("an Optuna sweep plans its trials as it goes")
    if not points:
        raise ConfigError(f"no parameter point satisfies --constraint {spec.constraint!r}")
    return [TrialSpec(number, point) for number, point in enumerate(points)]


def check_points(
    spec: SweepSpec,
    planned: Sequence[TrialSpec] | None,
    base: Mapping[str, Any],
    params_class: type,
    constraint: Constraint | None = None,
) -> str | None:
    """Refuse a sweep whose every point the strategy's ``Params`` refuses, before any trial.

    ``planned`` is the grid or random plan (every point is built, `engine.typed.build`);
    None (Optuna) checks the search space (each point ``constraint`` keeps) until one is
    valid. Points refused while others are valid stay trials, stored failed with their
    error (README, "Parameter search"): the returned warning says how many and why.

    Raises:
        ConfigError: No point is valid; names the first point and its reason.
    """
    if planned is None:
        names = [p.name for p in spec.params]
        combos = itertools.product(*(p.values for p in spec.params))
        points: Iterable[dict[str, Any]] = (
            point
            for point in (dict(zip(names, c, strict=True)) for c in combos)
            if constraint is None or constraint(point)
        )
    else:
        points = (trial.params for trial in planned)
    checked = refused = 0
    first: tuple[dict[str, Any], str] | None = None
    for point in points:
        checked += 1
        try:
            build(params_class, {**base, **point}, "strategy.params")
        except Exception as exc:  # any refusal: the trial would fail so
            refused += 1
            first = first or (point, str(exc) if isinstance(exc, KestrelError) else describe(exc))
            continue
        if planned is None:
            return None
    if first is None:
        return None
    where = ", ".join(f"{k}={v}" for k, v in first[0].items())
    if refused == checked:
        raise ConfigError(
            f"every parameter point is refused by the strategy (first, {where}: {first[1]}); "
            "change --param or the config's strategy.params"
        )
    return (
        f"{refused} of {checked} parameter points are refused by the strategy (first, {where}:"
        f" {first[1]}); they are stored as failed trials: exclude them with --constraint"
    )


def trial_row(result: TrialResult, objectives: Sequence[str]) -> dict[str, Any]:
    """Return a trial's store row (returns as float64 bytes; `result_from_row` reads it)."""
    values = [result.value(o) for o in objectives] + [None]
    metrics = None if result.metrics is None else json.dumps(result.metrics, sort_keys=True)
    returns = result.returns
    return {
        "trial": result.number,
        "params_json": json.dumps(result.params, sort_keys=True),
        "status": result.status,
        "value": values[0],
        "value2": values[1] if len(objectives) > 1 else None,
        "sharpe": result.value("sharpe"),
        "metrics_json": metrics,
        "error": result.error,
        "returns": None if returns is None else returns.astype(RETURNS_DTYPE).tobytes(),
    }


def result_from_row(row: Mapping[str, Any]) -> TrialResult:
    """Return the `TrialResult` of a stored trial row (`engine.persistence.sweeps`)."""
    raw = row.get("returns")
    returns = None if raw is None else np.frombuffer(bytes(raw), dtype=RETURNS_DTYPE).copy()
    return TrialResult(
        int(row["trial"]), dict(row["params"]), str(row["status"]), row["metrics"],
        row["error"], returns,
    )  # fmt: skip


def _key(result: TrialResult, objective: str, direction: str) -> tuple[int, float, int]:
    value = result.value(objective)
    if value is None:
        return (1, 0.0, result.number)  # failed or undefined: last
    return (0, -value if direction == "maximize" else value, result.number)


def rank(results: Sequence[TrialResult], spec: SweepSpec) -> list[TrialResult]:
    """Return the trials best first by the first objective (ties: lower trial number)."""
    direction = spec.directions()[0]
    return sorted(results, key=lambda r: _key(r, spec.objectives[0], direction))


def pareto_front(results: Sequence[TrialResult], spec: SweepSpec) -> list[TrialResult]:
    """Return the trials no other trial beats on every objective (with a value on each)."""
    signs = [1.0 if d == "maximize" else -1.0 for d in spec.directions()]
    scored = []
    for result in results:
        values = [result.value(o) for o in spec.objectives]
        if all(v is not None for v in values):
            scored.append((result, [s * float(v) for s, v in zip(signs, values, strict=True)]))  # type: ignore[arg-type]
    front = []
    for result, mine in scored:
        dominated = any(
            all(o >= m for o, m in zip(other, mine, strict=True)) and other != mine
            for _, other in scored
        )
        if not dominated:
            front.append(result)
    return sorted(front, key=lambda r: r.number)


def trials_tried(results: Sequence[TrialResult]) -> int:
    """Return the number of strategy variants a sweep tried: the deflated Sharpe ratio's N.

    As `sweep_guards` counts them: completed trials with a defined Sharpe ratio, when every
    completed trial's returns are known (over one period); else every completed trial.
    Failed points (``slow`` not above ``fast``) were never a variant. At least 1.
    """
    complete = [r for r in results if r.status == COMPLETE]
    returns = [r.returns for r in complete if r.returns is not None]
    if returns and len(returns) == len(complete) and len({a.size for a in returns}) == 1:
        return max(1, int(np.isfinite(sharpe_ratios(np.stack(returns, axis=1))).sum()))
    return max(1, len(complete))


def _returns_matrix(results: Sequence[TrialResult]) -> tuple[list[int], Matrix] | str:
    """Return (trial numbers, per-period returns with a column each), or why there is none.

    Every completed trial with returns is a column, in trial order; they must cover one
    period (the same number of rows).
    """
    complete = [r for r in results if r.status == COMPLETE and r.returns is not None]
    lengths = {r.returns.size for r in complete if r.returns is not None}
    if not complete or len(lengths) != 1:
        return "no completed trial" if not complete else "trials cover different periods"
    columns = sorted(complete, key=lambda r: r.number)
    matrix = np.stack([r.returns for r in columns if r.returns is not None], axis=1)
    return [r.number for r in columns], matrix


def sweep_guards(results: Sequence[TrialResult], spec: SweepSpec) -> dict[str, Any]:
    """Return the deflated Sharpe ratio of the best trial and the PBO of the sweep.

    Every completed trial with returns is a column of the matrix; the best is the first in
    `rank`. Keys: ``chosen`` (trial number), ``dsr`` and ``pbo`` (see `engine.optimize.guards`).
    """
    found = _returns_matrix(results)
    if isinstance(found, str):
        return {"chosen": None, "dsr": None, "pbo": None, "reason": found}
    numbers, matrix = found
    best = rank([r for r in results if r.number in numbers], spec)[0]
    # the PBO ranks the trials the DSR counts: those with a Sharpe ratio (a do-nothing
    # trial's flat returns would rank last out-of-sample in every split, lowering the PBO)
    defined = np.isfinite(sharpe_ratios(matrix))
    return {
        "chosen": best.number,
        "dsr": deflated_sharpe(matrix, numbers.index(best.number)),
        "pbo": pbo_cscv(matrix[:, defined]),
    }


def selection_metrics(
    results: Sequence[TrialResult], number: int, guards: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the metrics a trial's run kept from the sweep carries (metrics.json, store).

    Its deflated Sharpe ratio as the sweep's guard computes it — over the trials' per-period
    returns, against SR* from the variance of their Sharpe ratios — and that N and V:
    ``deflated_sharpe``, ``trials``, ``trials_sharpe_variance``. The guard's own figures for
    its chosen trial; for another trial, the same computation with that trial chosen; when
    the trials' returns are not kept (a finished sweep reopened without ``--store-returns``)
    and the trial is not the guard's, ``deflated_sharpe`` is None (not computable).
    """
    dsr = (guards or {}).get("dsr")
    if dsr is None or (guards or {}).get("chosen") != number:
        found = _returns_matrix(results)
        if isinstance(found, str) or number not in found[0]:
            return {
                "deflated_sharpe": None,
                "trials": trials_tried(results),
                "trials_sharpe_variance": None,
            }
        dsr = deflated_sharpe(found[1], found[0].index(number))
    return {
        "deflated_sharpe": dsr["deflated_sharpe"],
        "trials": dsr["trials"],
        "trials_sharpe_variance": dsr["sharpe_variance"],
    }
