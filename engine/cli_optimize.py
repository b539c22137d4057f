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

from engine.cli_console import stdout_console
from engine.cli_report_options import MAX_TRIALS
from engine.config import RunConfig, dump_config, load_config
from engine.errors import ConfigError, Interrupted, UsageError
from engine.paths import project_root

if TYPE_CHECKING:
    from engine.optimize.search import (
        SweepSpec,
    )
    from engine.optimize.space import Constraint
    from engine.optimize.sweep import SweepOutcome
    from engine.optimize.trial import TrialResult
    from engine.persistence.sweeps import SweepStore

__all__ = ["optimize", "register"]


# Sane ranges of the search's numbers, checked before anything is loaded or stored: a
# process pool of 10**18 workers was an internal error (OverflowError) after the sweep's
# row was written; Optuna's and numpy's seeds are unsigned 32-bit (a negative one was an
# internal error); a budget past `MAX_TRIALS` is a typo (Optuna would search for ever).
MAX_WORKERS = 1024
MAX_SEED = 2**32 - 1


def sweep_console() -> Console:
    return stdout_console()


def check_search_numbers(trials: int | None, seed: int, workers: int | None) -> None:
    """Refuse ``--trials``, ``--seed`` or ``--workers`` outside their sane ranges.

    (``--trials`` and ``--workers`` below 1 are refused by `SweepSpec` and
    `engine.optimize.executors.check_executor`, with their own messages.)

    Raises:
        ConfigError: A number out of range (one line, exit 2).
    """
    if trials is not None and trials > MAX_TRIALS:
        raise ConfigError(f"--trials must be in [1, {MAX_TRIALS:,}], got {trials}")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be in [0, {MAX_SEED}], got {seed}")
    if workers is not None and workers > MAX_WORKERS:
        raise ConfigError(f"--workers must be in [1, {MAX_WORKERS}], got {workers}")


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
        int | None, typer.Option(help="Budget of random/optuna (default 100, at most 1e6).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of random draws and Optuna (0 to 2**32 - 1).")
    ] = 0,
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
    from engine.optimize.search import (
        SweepSpec,
        check_points,
        inputs_digest,
        plan,
        result_from_row,
        sweep_id,
    )
    from engine.optimize.space import parse_constraint, parse_param
    from engine.optimize.sweep import SweepOutcome
    from engine.persistence import RunStore
    from engine.persistence.store import check_db_url
    from engine.persistence.sweeps import SweepStore
    from engine.report.ownership import check_replaceable, is_kestrel_page
    from engine.strategy import load_strategy_class

    check_search_numbers(trials, seed, workers)
    run_config = load_config(config, overrides or [])
    strategy_class = load_strategy_class(run_config.strategy.path, run_config.base_dir)
    names = [f.name for f in dataclasses.fields(strategy_class.Params)]
    specs = tuple(parse_param(text, names, strategy_class.Params) for text in param)
    spec = SweepSpec(specs, tuple(objective or ["sharpe"]), method, trials, seed, constraint)
    rule = parse_constraint(constraint, names) if constraint else None
    if keep_best < 0 or top < 0:
        raise UsageError("--keep-best and --top must be >= 0")
    check_executor(executor, workers, address)  # before the sweep's row is written
    planned = None if spec.method == "optuna" else plan(spec, rule)  # empty: refused
    if spec.method == "random" and planned is not None and trials and len(planned) < trials:
        print(
            f"warning: --trials {trials} is more than the grid's {len(planned)} points"
            f"{' that meet --constraint' if rule else ''}: the random search runs each "
            "of them once (a grid search in random order)",
            file=sys.stderr,
        )
    refusals = check_points(spec, planned, run_config.strategy.params, strategy_class.Params, rule)
    if refusals:
        print(f"warning: {refusals}", file=sys.stderr)
    out_root = project_root(run_config.base_dir) / "backtests"
    db_url = check_db_url(
        db if db is not None else os.environ.get("KESTREL_DB_URL") or _default_db(out_root)
    )
    store = RunStore(db_url)
    sweeps = SweepStore(store)
    config_toml = _config_toml(run_config)
    inputs = inputs_digest(run_config, strategy_class)  # changed data: another sweep
    sweep = sweep_id(run_config.run.name, config_toml, spec, inputs)
    target = html or out_root / "sweeps" / f"{sweep}.html"
    check_replaceable(target, "--html" if html else "sweep page", is_kestrel_page)  # before trials
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
                "base_dir": str(Path(run_config.base_dir).resolve()),
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
    print_trials(outcome.results, spec, top)
    print_guards(outcome.guards)
    page = _write_page(outcome, spec, sweep, run_config.strategy.path, target)
    _keep_best(outcome, spec, keep_best, run_config, sweep, sweeps, out_root)
    sweep_console().print(f"page: {page}", markup=False)
    sweep_console().print(f"sweep: {sweep} ({len(outcome.results)} trials)", markup=False)
    sweep_console().print(f"stored in: {store.display_url}", markup=False)


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


def format_cell(value: Any, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value * 100:.2f}%" if percent else f"{value:.4g}"


def print_trials(results: Sequence[TrialResult], spec: SweepSpec, top: int) -> None:
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
            *(format_cell(result.params.get(n)) for n in names),
            *(format_cell(result.value(o)) for o in spec.objectives),
            format_cell(metrics.get("total_return"), percent=True),
            format_cell(metrics.get("max_drawdown"), percent=True),
            format_cell(metrics.get("num_trades")),
            status,
        )
    sweep_console().print(table)
    failed = [r for r in results if r.status != COMPLETE]
    if failed:
        sweep_console().print(f"{len(failed)} trials did not complete (status and error stored)")


def print_guards(guards: dict[str, Any]) -> None:
    """Print a sweep's deflated Sharpe ratio and probability of backtest overfitting."""
    dsr, pbo = guards.get("dsr"), guards.get("pbo")
    out = sweep_console()
    cell = format_cell
    if not dsr:
        out.print(f"overfitting guards: not available ({guards.get('reason', 'no data')})")
        return
    out.print(
        f"deflated Sharpe ratio of trial {guards['chosen']}: {cell(dsr['deflated_sharpe'])} "
        f"(per-day SR {cell(dsr['sharpe'])} vs expected max {cell(dsr['expected_max_sharpe'])}"
        f" of {dsr['trials']} trials, SR variance {cell(dsr['sharpe_variance'])})",
        markup=False,
    )
    if pbo and pbo.get("pbo") is not None:
        out.print(
            f"probability of backtest overfitting (CSCV, {pbo['blocks']} blocks, "
            f"{pbo['splits']} splits): {format_cell(pbo['pbo'])}; best in-sample loses out of "
            f"sample in {format_cell(pbo['prob_oos_loss'] * 100)}% of splits",
            markup=False,
        )
    elif pbo:
        out.print(f"probability of backtest overfitting: not available ({pbo['reason']})")


def _keep_best(
    outcome: SweepOutcome,
    spec: SweepSpec,
    count: int,
    config: Any,
    sweep: str,
    sweeps: SweepStore,
    out_root: Path,
) -> None:
    """Write and store the full runs of the best ``count`` trials, each linked to its trial.

    A trial whose run is stored already (an earlier ``--keep-best``) is not run again. Each
    run's deflated Sharpe ratio — metrics.json, the store and the report alike — is the
    sweep's guard's for that trial (`selection_metrics`: the run was picked among them).
    """
    from engine.optimize.search import rank, selection_metrics
    from engine.optimize.trial import COMPLETE, trial_config
    from engine.runtime import finish_run, run_backtest

    results = outcome.results

    kept = sweeps.kept_runs(sweep)
    best = [r for r in rank(results, spec) if r.status == COMPLETE][:count]
    for result in best:
        existing = kept.get(result.number)
        run = sweeps.store.get_run(existing) if existing else None
        if run is not None:
            sweep_console().print(
                f"trial {result.number}: run {existing} in {run['artifacts_dir']} (kept before)",
                markup=False,
            )
            continue
        backtest = run_backtest(trial_config(config, result.params))
        chosen = selection_metrics(results, result.number, outcome.guards)
        backtest = dataclasses.replace(backtest, metrics={**backtest.metrics, **chosen})
        run_id, folder = finish_run(backtest, out_dir=None, store=sweeps.store, out_root=out_root)
        sweeps.link_run(sweep, result.number, run_id)
        sweep_console().print(f"trial {result.number}: run {run_id} in {folder}", markup=False)


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
    seed: Annotated[int, typer.Option(help="Seed of random draws (0 to 2**32 - 1).")] = 0,
    constraint: Annotated[str | None, typer.Option(help='e.g. "fast < slow".')] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: every core).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder (default backtests/walkforward/<analysis id>)."),
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: key=value.")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the run store.")] = None,
) -> None:
    """Optimize on rolling/anchored in-sample windows; trade each choice out of sample.

    The analysis is stored in the run store (``kestrel sweeps list`` / ``sweeps show ID``;
    the same config, search and windows replace it) and written to ``--out``: the stitched
    out-of-sample curve, ``walkforward.json`` and a report page.
    """
    from engine.feeds import BarFrame
    from engine.optimize.executors import make_executor
    from engine.optimize.search import SweepSpec
    from engine.optimize.space import parse_constraint, parse_param
    from engine.optimize.trial import SweepData
    from engine.optimize.walkforward import (
        check_folder,
        plan_json,
        plan_windows,
        stored_row,
        summary_json,
        unclosed_windows,
        walk_forward,
        walkforward_id,
        write_walkforward,
    )
    from engine.persistence import RunStore
    from engine.persistence.store import check_db_url
    from engine.persistence.sweeps import SweepStore
    from engine.strategy import load_strategy_class

    check_search_numbers(trials, seed, workers)
    run_config = load_config(config, overrides or [])
    strategy_class = load_strategy_class(run_config.strategy.path, run_config.base_dir)
    names = [f.name for f in dataclasses.fields(strategy_class.Params)]
    specs = tuple(parse_param(text, names, strategy_class.Params) for text in param)
    spec = SweepSpec(specs, (objective,), method, trials, seed, constraint)
    rule = parse_constraint(constraint, names) if constraint else None
    bars = next(f for f in SweepData.load(run_config).frames if isinstance(f, BarFrame))
    windows = plan_windows(len(bars), in_sample, out_of_sample, scheme)
    out_root = project_root(run_config.base_dir) / "backtests"
    db_url = check_db_url(
        db if db is not None else os.environ.get("KESTREL_DB_URL") or _default_db(out_root)
    )
    config_toml = _config_toml(run_config)
    plan = plan_json(spec, scheme, in_sample, out_of_sample)
    analysis = walkforward_id(run_config.run.name, config_toml, plan)
    folder = out or out_root / "walkforward" / analysis
    check_folder(folder, "--out" if out else "walk-forward folder")
    sweeps = SweepStore(RunStore(db_url))  # a bad store fails before hours of trials
    result = walk_forward(
        run_config,
        spec,
        windows,
        lambda window_config: make_executor(executor, window_config, workers, address),
        rule,
    )
    print_walkforward(summary_json(result), spec.objectives[0])
    unclosed = unclosed_windows(result.windows)
    if unclosed:
        held = {r.window.index: (r.oos_metrics or {}).get("open_positions") for r in result.windows}
        named = ", ".join(f"window {i} ({held[i]} position(s))" for i in unclosed)
        print(
            f"warning: {named} ended holding what the close-out could not sell (risk denied "
            "it, or volume_participation filled part): handed on to the next window at its "
            "last close, without fee or slippage; see open_positions in walkforward.json",
            file=sys.stderr,
        )
    written = write_walkforward(result, run_config, folder)
    created = datetime.now(tz=UTC).isoformat()
    sweeps.save_walkforward(
        stored_row(
            result, run_config, config_toml=config_toml, plan=plan, created_at=created,
            folder=folder,
        )
    )  # fmt: skip
    out_console = sweep_console()
    out_console.print(f"artifacts: {folder} ({', '.join(p.name for p in written)})", markup=False)
    out_console.print(f"walk-forward: {analysis}", markup=False)
    out_console.print(f"stored in: {sweeps.store.display_url}", markup=False)


def print_walkforward(summary: dict[str, Any], objective: str) -> None:
    """Print a walk-forward analysis from its JSON form (`walkforward.summary_json`)."""
    from engine.optimize.walkforward import window_days  # a window's days, not its close

    windows = summary["windows"]
    table = Table(title=f"walk-forward: {len(windows)} windows, chosen by {objective}")
    for column in ("window", "in-sample", "out-of-sample", "params", "IS", "OOS", "OOS return"):
        table.add_column(column, justify="right")
    for row in windows:
        inside, outside = row["is_metrics"] or {}, row["oos_metrics"] or {}
        params = row["params"]
        table.add_row(
            str(row["index"]),
            window_days(row["is_start"], row["is_end"]),
            window_days(row["oos_start"], row["oos_end"]),
            "—" if params is None else ", ".join(f"{k}={v}" for k, v in params.items()),
            format_cell(inside.get(objective)),
            format_cell(outside.get(objective)),
            format_cell(outside.get("total_return"), percent=True),
        )
    out = sweep_console()
    out.print(table)
    idle = [str(row["index"]) for row in windows if row["params"] is None]
    if idle:
        many = len(idle) > 1
        out.print(
            f"window{'s' if many else ''} {', '.join(idle)} chose nothing (no in-sample trial "
            f"gave {objective} a value): cash held through {'their' if many else 'its'} "
            "out-of-sample bars",
            markup=False,
        )
    metrics = summary["metrics"]
    out.print(
        f"stitched out-of-sample: return {format_cell(metrics.get('total_return'), percent=True)}, "
        f"Sharpe {format_cell(metrics.get('sharpe'))}, max drawdown "
        f"{format_cell(metrics.get('max_drawdown'), percent=True)}, trades "
        f"{format_cell(metrics.get('num_trades'))}",
        markup=False,
    )
    efficiency = format_cell(summary["efficiency"])
    out.print(f"walk-forward efficiency (OOS / IS CAGR): {efficiency}", markup=False)
    for name, figures in summary["stability"].items():
        out.print(
            f"{name}: chosen {figures['values']}, {figures['changes']} changes, "
            f"coefficient of variation {format_cell(figures['cv'])}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``optimize`` and ``walkforward`` to ``app`` (``sweeps``: `engine.cli_sweeps`)."""
    app.command("optimize")(optimize)
    app.command("walkforward")(walkforward)
