"""``kestrel optimize``: a parameter sweep of one config, stored trial by trial in the run store.

In: a run config, ``--param`` ranges over its strategy's parameters, objectives, a method
(grid, random, Optuna), an executor (a local process pool or Ray) and the run store. Out:
one ``sweeps`` row and one ``sweep_trials`` row per trial (`engine.persistence.sweeps`), a
ranked table and the overfitting guards on stdout, and, with ``--keep-best N``, the full run
artifacts of the best N trials (rerun as ordinary backtests). The search itself lives in
`engine.optimize` (`execute_sweep`); this module parses, wires the store in and prints.

Policies: the same command names the same sweep (`engine.optimize.search.sweep_id`); running
it again without ``--resume`` is refused (the results are already there), with ``--resume``
an unfinished sweep runs its missing trials and a finished one is shown again. Ctrl-C keeps
every finished trial and exits 130. Bad input is one line and exit 2, with "did you mean".
"""

from __future__ import annotations

import dataclasses
import math
import operator
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from engine.cli_report import open_store, parse_condition
from engine.config import RunConfig, dump_config, load_config
from engine.errors import Interrupted, QueryError, UsageError, did_you_mean
from engine.paths import project_root

if TYPE_CHECKING:
    from engine.optimize.search import (
        SweepSpec,
    )
    from engine.optimize.space import Constraint
    from engine.optimize.sweep import SweepOutcome
    from engine.optimize.trial import TrialResult
    from engine.optimize.walkforward import (
        WalkForward,
    )
    from engine.persistence import RunStore
    from engine.persistence.sweeps import SweepStore

__all__ = ["optimize", "register"]


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def optimize(
    config: Annotated[Path, typer.Argument(help="Run config (TOML).")],
    param: Annotated[
        list[str],
        typer.Option("--param", help="name=start:stop:step or name=a,b,c (repeatable)."),
    ],
    objective: Annotated[
        list[str] | None,
        typer.Option("--objective", help="Metric to optimize (default sharpe); twice: Pareto."),
    ] = None,
    method: Annotated[str, typer.Option(help="grid, random or optuna.")] = "grid",
    trials: Annotated[
        int | None, typer.Option(help="Budget of random/optuna (default 100).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of random draws and Optuna.")] = 0,
    constraint: Annotated[
        str | None, typer.Option(help='Keep only points where it holds, e.g. "fast < slow".')
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster: auto or ray://host:port (default: local).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: every core).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue this sweep.")] = False,
    keep_best: Annotated[
        int, typer.Option("--keep-best", help="Write full run artifacts for the best N.")
    ] = 0,
    store_returns: Annotated[
        bool, typer.Option("--store-returns", help="Keep each trial's daily returns stored.")
    ] = False,
    top: Annotated[int, typer.Option(help="Rows of the ranked table.")] = 20,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="The sweep's page (default backtests/sweeps/<sweep>.html)."),
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: key=value.")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the run store.")] = None,
) -> None:
    """Search strategy parameters; store every trial; rank them; report overfitting guards."""
    from engine.optimize.executors import check_executor
    from engine.optimize.search import SweepSpec, plan, result_from_row, sweep_id
    from engine.optimize.space import parse_constraint, parse_param
    from engine.optimize.sweep import SweepOutcome
    from engine.persistence import RunStore
    from engine.persistence.store import check_db_url
    from engine.persistence.sweeps import SweepStore
    from engine.strategy import load_strategy_class

    run_config = load_config(config, overrides or [])
    strategy_class = load_strategy_class(run_config.strategy.path, run_config.base_dir)
    names = [f.name for f in dataclasses.fields(strategy_class.Params)]
    specs = tuple(parse_param(text, names) for text in param)
    spec = SweepSpec(specs, tuple(objective or ["sharpe"]), method, trials, seed, constraint)
    rule = parse_constraint(constraint, names) if constraint else None
    if keep_best < 0 or top < 0:
        raise UsageError("--keep-best and --top must be >= 0")
    check_executor(executor, workers, address)  # before the sweep's row is written
    if spec.method != "optuna":
        plan(spec, rule)  # an empty plan (a constraint nothing satisfies) is refused now too
    out_root = project_root(run_config.base_dir) / "backtests"
    db_url = check_db_url(db or os.environ.get("KESTREL_DB_URL") or _default_db(out_root))
    store = RunStore(db_url)
    sweeps = SweepStore(store)
    config_toml = _config_toml(run_config)
    sweep = sweep_id(run_config.run.name, config_toml, spec)
    existing = sweeps.get_sweep(sweep)
    if existing is not None and not resume:
        count = len(sweeps.trials(sweep))
        raise UsageError(
            f"sweep {sweep} exists ({existing['status']}, {count} trials); add --resume to "
            "continue it or show its results"
        )
    if existing is None:
        sweeps.begin_sweep(
            {
                "sweep_id": sweep,
                "name": run_config.run.name,
                "strategy": run_config.strategy.path,
                "created_at": datetime.now(tz=UTC).isoformat(),
                "config_toml": config_toml,
                "spec_json": _json(spec.as_json()),
            }
        )
    stored = [result_from_row(r) for r in sweeps.trials(sweep, with_returns=True)]
    if existing is not None and existing["status"] == "complete":
        outcome = SweepOutcome(stored, existing["guards"] or {})
    else:
        if existing is not None:
            sweeps.set_status(sweep, "running", None)
        outcome = _run(
            run_config, spec, sweep, sweeps, stored, rule, db_url, executor, workers, address
        )
        if not store_returns:
            sweeps.drop_returns(sweep)
    _print_table(outcome.results, spec, top)
    _print_guards(outcome.guards)
    target = html or out_root / "sweeps" / f"{sweep}.html"
    page = _write_page(outcome, spec, sweep, run_config.strategy.path, target)
    _keep_best(outcome.results, spec, keep_best, run_config, store, out_root)
    _console().print(f"page: {page}", markup=False)
    _console().print(f"sweep: {sweep} ({len(outcome.results)} trials)", markup=False)
    _console().print(f"stored in: {store.display_url}", markup=False)


def _run(
    config: RunConfig,
    spec: SweepSpec,
    sweep: str,
    sweeps: SweepStore,
    stored: list[TrialResult],
    rule: Constraint | None,
    db_url: str,
    kind: str,
    workers: int | None,
    address: str | None,
) -> SweepOutcome:
    from engine.optimize.executors import make_executor
    from engine.optimize.sweep import execute_sweep

    pool = make_executor(kind, config, workers, address)
    progress = _progress()
    best: list[float] = []
    direction = spec.directions()[0]

    def report(result: TrialResult, done: int, total: int) -> None:
        value = result.value(spec.objectives[0])
        if value is not None:
            better = not best or (value > best[0] if direction == "maximize" else value < best[0])
            if better:
                best[:] = [value]
        if progress is not None:
            shown = f"{best[0]:.4g}" if best else "—"
            progress.update(task, completed=done, total=total, best=shown)

    task = progress.add_task("trials", total=None, best="—") if progress else TaskID(0)
    try:
        with progress or _Nothing():
            return execute_sweep(
                spec, sweep, pool, sweeps, stored=stored, constraint=rule,
                storage_url=db_url, progress=report,
            )  # fmt: skip
    except KeyboardInterrupt:
        kept = len(sweeps.trials(sweep))
        raise Interrupted(
            f"sweep {sweep} stopped; its {kept} finished trials are stored; run the same "
            "command with --resume to continue"
        ) from None
    finally:
        pool.close()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def _progress() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _default_db(out_root: Path) -> str:
    from engine.persistence import resolve_db_url

    return resolve_db_url(f"sqlite:///{out_root / 'kestrel.db'}")


def _config_toml(config: Any) -> str:
    import tomli_w

    return tomli_w.dumps(dump_config(config))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _cell(value: Any, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value * 100:.2f}%" if percent else f"{value:.4g}"


def _print_table(results: Sequence[TrialResult], spec: SweepSpec, top: int) -> None:
    from engine.optimize.search import rank
    from engine.optimize.trial import COMPLETE

    ranked = rank(results, spec)
    names = [p.name for p in spec.params]
    table = Table(title=f"{len(results)} trials, best first by {spec.objectives[0]}")
    for column in ("rank", "trial", *names, *spec.objectives):
        table.add_column(column, justify="right")
    for column in ("return", "max dd", "trades", "status"):
        table.add_column(column, justify="right")
    for place, result in enumerate(ranked[:top], start=1):
        metrics = result.metrics or {}
        status = result.status if result.status == COMPLETE else f"{result.status}: {result.error}"
        table.add_row(
            str(place),
            str(result.number),
            *(_cell(result.params.get(n)) for n in names),
            *(_cell(result.value(o)) for o in spec.objectives),
            _cell(metrics.get("total_return"), percent=True),
            _cell(metrics.get("max_drawdown"), percent=True),
            _cell(metrics.get("num_trades")),
            status,
        )
    _console().print(table)
    failed = [r for r in results if r.status != COMPLETE]
    if failed:
        _console().print(f"{len(failed)} trials did not complete (status and error stored)")


def _print_guards(guards: dict[str, Any]) -> None:
    dsr, pbo = guards.get("dsr"), guards.get("pbo")
    out = _console()
    if not dsr:
        out.print(f"overfitting guards: not available ({guards.get('reason', 'no data')})")
        return
    out.print(
        f"deflated Sharpe ratio of trial {guards['chosen']}: {_cell(dsr['deflated_sharpe'])} "
        f"(per-day SR {_cell(dsr['sharpe'])} vs expected max {_cell(dsr['expected_max_sharpe'])}"
        f" of {dsr['trials']} trials, SR variance {_cell(dsr['sharpe_variance'])})",
        markup=False,
    )
    if pbo and pbo.get("pbo") is not None:
        out.print(
            f"probability of backtest overfitting (CSCV, {pbo['blocks']} blocks, "
            f"{pbo['splits']} splits): {_cell(pbo['pbo'])}; best in-sample loses out of "
            f"sample in {_cell(pbo['prob_oos_loss'] * 100)}% of splits",
            markup=False,
        )
    elif pbo:
        out.print(f"probability of backtest overfitting: not available ({pbo['reason']})")


def _keep_best(
    results: Sequence[TrialResult],
    spec: SweepSpec,
    count: int,
    config: Any,
    store: RunStore,
    out_root: Path,
) -> None:
    from engine.optimize.search import rank
    from engine.optimize.trial import COMPLETE, trial_config
    from engine.runtime import finish_run, run_backtest

    best = [r for r in rank(results, spec) if r.status == COMPLETE][:count]
    for result in best:
        run = run_backtest(trial_config(config, result.params))
        run_id, folder = finish_run(run, out_dir=None, store=store, out_root=out_root)
        _console().print(f"trial {result.number}: run {run_id} in {folder}", markup=False)


def _write_page(
    outcome: SweepOutcome, spec: SweepSpec, sweep: str, strategy: str, path: Path
) -> Path:
    from engine.optimize.search import pareto_front, rank
    from engine.report.sweep_page import SweepPoint, SweepView, render_sweep

    points = tuple(
        SweepPoint(
            r.number, r.params, tuple(r.value(o) for o in spec.objectives), r.status, r.error
        )
        for r in rank(outcome.results, spec)
    )
    front = tuple(r.number for r in pareto_front(outcome.results, spec))
    view = SweepView(
        sweep, strategy, tuple(p.name for p in spec.params), spec.objectives,
        spec.directions(), points, front if len(spec.objectives) == 2 else (), outcome.guards,
    )  # fmt: skip
    return render_sweep(view, path)


def walkforward(
    config: Annotated[Path, typer.Argument(help="Run config (TOML).")],
    param: Annotated[
        list[str],
        typer.Option("--param", help="name=start:stop:step or name=a,b,c (repeatable)."),
    ],
    in_sample: Annotated[int, typer.Option("--in-sample", help="In-sample bars per window.")],
    out_of_sample: Annotated[
        int, typer.Option("--out-of-sample", help="Out-of-sample bars per window.")
    ],
    scheme: Annotated[str, typer.Option(help="rolling or anchored in-sample windows.")] = (
        "rolling"
    ),
    objective: Annotated[str, typer.Option(help="Metric chosen on in-sample.")] = "sharpe",
    method: Annotated[str, typer.Option(help="grid or random.")] = "grid",
    trials: Annotated[int | None, typer.Option(help="Budget of random.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of random draws.")] = 0,
    constraint: Annotated[str | None, typer.Option(help='e.g. "fast < slow".')] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: every core).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder (default backtests/walkforward/<name>).")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: key=value.")
    ] = None,
) -> None:
    """Optimize on rolling/anchored in-sample windows; trade each choice out of sample."""
    from engine.feeds import BarFrame
    from engine.optimize.executors import make_executor
    from engine.optimize.search import SweepSpec
    from engine.optimize.space import parse_constraint, parse_param
    from engine.optimize.trial import SweepData
    from engine.optimize.walkforward import plan_windows, walk_forward, write_walkforward
    from engine.strategy import load_strategy_class

    run_config = load_config(config, overrides or [])
    strategy_class = load_strategy_class(run_config.strategy.path, run_config.base_dir)
    names = [f.name for f in dataclasses.fields(strategy_class.Params)]
    specs = tuple(parse_param(text, names) for text in param)
    spec = SweepSpec(specs, (objective,), method, trials, seed, constraint)
    rule = parse_constraint(constraint, names) if constraint else None
    bars = next(f for f in SweepData.load(run_config).frames if isinstance(f, BarFrame))
    windows = plan_windows(len(bars), in_sample, out_of_sample, scheme)
    result = walk_forward(
        run_config,
        spec,
        windows,
        lambda window_config: make_executor(executor, window_config, workers, address),
        rule,
    )
    folder = out or project_root(run_config.base_dir) / "backtests" / "walkforward" / (
        run_config.run.name
    )
    _print_walkforward(result, spec)
    written = write_walkforward(result, run_config, folder)
    _console().print(f"artifacts: {folder} ({', '.join(p.name for p in written)})", markup=False)


def _print_walkforward(result: WalkForward, spec: SweepSpec) -> None:
    table = Table(
        title=f"walk-forward: {len(result.windows)} windows, chosen by {spec.objectives[0]}"
    )
    for column in ("window", "in-sample", "out-of-sample", "params", "IS", "OOS", "OOS return"):
        table.add_column(column, justify="right")
    objective = spec.objectives[0]
    for row in result.windows:
        inside, outside = row.is_metrics or {}, row.oos_metrics or {}
        table.add_row(
            str(row.window.index),
            f"{row.is_start[:10]} → {row.is_end[:10]}",
            f"{row.oos_start[:10]} → {row.oos_end[:10]}",
            "—" if row.params is None else ", ".join(f"{k}={v}" for k, v in row.params.items()),
            _cell(inside.get(objective)),
            _cell(outside.get(objective)),
            _cell(outside.get("total_return"), percent=True),
        )
    out = _console()
    out.print(table)
    metrics = result.metrics
    out.print(
        f"stitched out-of-sample: return {_cell(metrics.get('total_return'), percent=True)}, "
        f"Sharpe {_cell(metrics.get('sharpe'))}, max drawdown "
        f"{_cell(metrics.get('max_drawdown'), percent=True)}, trades "
        f"{_cell(metrics.get('num_trades'))}",
        markup=False,
    )
    out.print(f"walk-forward efficiency (OOS / IS CAGR): {_cell(result.efficiency)}", markup=False)
    for name, figures in result.stability.items():
        out.print(
            f"{name}: chosen {figures['values']}, {figures['changes']} changes, "
            f"coefficient of variation {_cell(figures['cv'])}",
            markup=False,
        )


sweeps_app = typer.Typer(help="List stored parameter sweeps and show their trials.")
_COMPARE = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@sweeps_app.command("list")
def sweeps_list(
    db: Annotated[str | None, typer.Option("--db", help="Run store URL.")] = None,
) -> None:
    """List the stored sweeps, newest first."""
    from engine.persistence.sweeps import SweepStore

    table = Table()
    for column in ("sweep", "name", "created", "status", "trials"):
        table.add_column(column)
    for row in SweepStore(open_store(db)).list_sweeps():
        table.add_row(
            row["sweep_id"], row["name"], row["created_at"][:19], row["status"], str(row["trials"])
        )
    _console().print(table)


@sweeps_app.command("show")
def sweeps_show(
    sweep: Annotated[str, typer.Argument(help="Sweep id (or a unique prefix).")],
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep trials where PARAM_OR_METRIC OP NUMBER (repeatable)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Rows of the ranked table.")] = 20,
    db: Annotated[str | None, typer.Option("--db", help="Run store URL.")] = None,
) -> None:
    """Show a sweep's trials best first (filtered by parameters or metrics) and its guards."""
    from engine.optimize.search import SweepSpec, result_from_row
    from engine.optimize.space import ParamSpec
    from engine.persistence.sweeps import SweepStore

    sweeps = SweepStore(open_store(db))
    row = sweeps.get_sweep(sweeps.resolve_id(sweep))
    assert row is not None  # just resolved
    stored = row["spec"]
    params = tuple(
        ParamSpec(p["name"], tuple(p["values"]), p["low"], p["high"], p["step"])
        for p in stored["params"]
    )
    spec = SweepSpec(
        params, tuple(stored["objectives"]), stored["method"],
        None if stored["method"] == "grid" else stored["trials"], stored["seed"],
        stored["constraint"],
    )  # fmt: skip
    results = [result_from_row(r) for r in sweeps.trials(row["sweep_id"])]
    for text in where or []:
        name, op, value = parse_condition(text)
        known = {*(p.name for p in params), *(k for r in results for k in (r.metrics or {}))}
        if name not in known:
            raise QueryError(f"--where {text!r}: no parameter or metric {name!r}"
                             f"{did_you_mean(name, known)}")  # fmt: skip
        results = [r for r in results if _holds(r, name, op, value)]
    _console().print(f"sweep: {row['sweep_id']} ({row['status']})", markup=False)
    _print_table(results, spec, top)
    _print_guards(row["guards"] or {"reason": "the sweep has not finished"})


def _holds(result: TrialResult, name: str, op: str, value: float) -> bool:
    found = result.params.get(name, (result.metrics or {}).get(name))
    return isinstance(found, int | float) and bool(_COMPARE[op](found, value))


def register(app: typer.Typer) -> None:
    """Add ``optimize``, ``walkforward`` and ``sweeps list|show`` to ``app``."""
    app.command("optimize")(optimize)
    app.command("walkforward")(walkforward)
    app.add_typer(sweeps_app, name="sweeps")
