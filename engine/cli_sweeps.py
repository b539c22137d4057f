"""``kestrel sweeps list|show|best``: the parameter sweeps and walk-forward analyses in the store.

In: the run store (``--db``, ``$KESTREL_DB_URL`` or the project's ``backtests/kestrel.db``)
and a sweep or walk-forward id (or its unique beginning). Out: tables on stdout; ``best``
also writes (once) and prints the best trial's full run, and opens its report on request.

- ``list``: every sweep (trials, status) and every walk-forward analysis, newest first.
- ``show ID``: a sweep's trials best first, filtered by ``--where`` on parameters or
  metrics, with its overfitting guards; or a walk-forward's windows and summary.
- ``best ID``: the best completed trial; its full run (artifacts, report, store rows) is
  the one ``optimize --keep-best`` wrote, else it is run now from the sweep's stored config
  and linked to the trial (`SweepStore.link_run`), so ``runs list`` shows it as the trial's.

The sweeps' own rows are `engine.persistence.sweeps`; ranking is `engine.optimize.search`.
"""

from __future__ import annotations

import dataclasses
import operator
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from engine.cli_optimize import (
    format_cell,
    print_guards,
    print_trials,
    print_walkforward,
    sweep_console,
)
from engine.cli_report import parse_condition
from engine.cli_report_options import open_page
from engine.cli_store import open_store
from engine.errors import QueryError, RunLookupError, UsageError, did_you_mean
from engine.paths import project_root

if TYPE_CHECKING:
    from engine.optimize.trial import TrialResult
    from engine.persistence.sweeps import SweepStore

__all__ = ["register", "sweeps_app"]

sweeps_app = typer.Typer(
    help="List stored parameter sweeps and walk-forward analyses; show one; open the best."
)
_COMPARE = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip
DbOption = Annotated[str | None, typer.Option("--db", help="Run store URL.")]


def stored_results(sweeps: SweepStore, sweep_id: str) -> list[TrialResult]:
    """Return a sweep's stored trials as `TrialResult` (without their returns)."""
    from engine.optimize.search import result_from_row

    return [result_from_row(r) for r in sweeps.trials(sweep_id)]


@sweeps_app.command("list")
def sweeps_list(db: DbOption = None) -> None:
    """List the stored sweeps and walk-forward analyses, newest first."""
    from engine.persistence.sweeps import SweepStore

    sweeps = SweepStore(open_store(db))
    stored, analyses = sweeps.list_sweeps(), sweeps.list_walkforwards()
    if not stored and not analyses:
        sweep_console().print(
            f"no sweeps or walk-forward analyses in {sweeps.store.display_url}: run `kestrel "
            "optimize CONFIG --param …` or `kestrel walkforward CONFIG …`",
            markup=False,
        )
        return
    if stored:
        table = Table(title="sweeps")
        for column in ("sweep", "name", "created", "status", "trials", "full runs"):
            table.add_column(column)
        for row in stored:
            kept = len(sweeps.kept_runs(row["sweep_id"]))
            table.add_row(
                row["sweep_id"], row["name"], row["created_at"][:19], row["status"],
                str(row["trials"]), str(kept) if kept else "—",
            )  # fmt: skip
        sweep_console().print(table)
    if analyses:
        wf = Table(title="walk-forward analyses")
        for column in ("walk-forward", "name", "created", "windows", "OOS return", "efficiency"):
            wf.add_column(column)
        for row in analyses:
            growth = format_cell(row["metrics"].get("total_return"), percent=True)
            wf.add_row(
                row["walkforward_id"], row["name"], row["created_at"][:19],
                str(len(row["windows"])), growth, format_cell(row["efficiency"]),
            )  # fmt: skip
        sweep_console().print(wf)


@sweeps_app.command("show")
def sweeps_show(
    sweep: Annotated[str, typer.Argument(help="Sweep or walk-forward id (or a unique prefix).")],
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep trials where PARAM_OR_METRIC OP NUMBER (repeatable)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Rows of the ranked table.")] = 20,
    db: DbOption = None,
) -> None:
    """Show a sweep's trials best first (filtered by parameters or metrics) and its guards."""
    from engine.optimize.search import SweepSpec
    from engine.persistence.sweeps import SweepStore

    if top < 0:  # results[:-1] showed all trials but the last, as if there were one less
        raise UsageError(f"--top must be >= 0, got {top}")

    sweeps = SweepStore(open_store(db))
    kind, found = sweeps.resolve_any(sweep)
    if kind == "walkforward":
        analysis = sweeps.get_walkforward(found)
        assert analysis is not None  # just resolved
        sweep_console().print(f"walk-forward: {found}", markup=False)
        print_walkforward(analysis, analysis["spec"]["search"]["objectives"][0])
        if analysis["artifacts_dir"]:
            sweep_console().print(f"artifacts: {analysis['artifacts_dir']}", markup=False)
        return
    row = sweeps.get_sweep(found)
    assert row is not None  # just resolved
    spec = SweepSpec.from_json(row["spec"])
    results = stored_results(sweeps, found)
    for text in where or []:
        name, op, value = parse_condition(text)
        known = {*(p.name for p in spec.params), *(k for r in results for k in (r.metrics or {}))}
        if name not in known:
            raise QueryError(f"--where {text!r}: no parameter or metric {name!r}"
                             f"{did_you_mean(name, known)}")  # fmt: skip
        results = [r for r in results if _holds(r, name, op, value)]
    sweep_console().print(f"sweep: {row['sweep_id']} ({row['status']})", markup=False)
    print_trials(results, spec, top)
    print_guards(row["guards"] or {"reason": "the sweep has not finished"})
    kept = sweeps.kept_runs(found)
    for trial, run_id in sorted(kept.items()):
        sweep_console().print(f"trial {trial}: full run {run_id}", markup=False)


@sweeps_app.command("best")
def sweeps_best(
    sweep: Annotated[str, typer.Argument(help="Sweep id (or a unique prefix).")],
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the best run's report in the browser.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Print the best trial and its full run (written now if no earlier one is stored)."""
    from engine.config import parse_config
    from engine.optimize.search import SweepSpec, rank, selection_metrics
    from engine.optimize.trial import COMPLETE, trial_config
    from engine.persistence.sweeps import SweepStore
    from engine.runtime import finish_run, run_backtest

    sweeps = SweepStore(open_store(db))
    found = sweeps.resolve_id(sweep)
    row = sweeps.get_sweep(found)
    assert row is not None  # just resolved
    spec = SweepSpec.from_json(row["spec"])
    results = stored_results(sweeps, found)
    ranked = [r for r in rank(results, spec) if r.status == COMPLETE]
    if not ranked:
        raise RunLookupError(f"sweep {found} has no completed trial ({len(results)} stored)")
    best = ranked[0]
    values = ", ".join(f"{o} {format_cell(best.value(o))}" for o in spec.objectives)
    params = ", ".join(f"{k}={v}" for k, v in best.params.items())
    out = sweep_console()
    out.print(f"best trial {best.number} of {len(results)}: {params} ({values})", markup=False)
    run_id = sweeps.kept_runs(found).get(best.number)
    run = sweeps.store.get_run(run_id) if run_id else None
    if run is not None and run_id is not None:
        folder = Path(run["artifacts_dir"])
    else:
        base_dir = row.get("base_dir") or str(project_root(Path.cwd()))
        config = parse_config(tomllib.loads(row["config_toml"]), base_dir=base_dir)
        backtest = run_backtest(trial_config(config, best.params))
        chosen = selection_metrics(results, best.number, row["guards"])  # the guard's figures
        backtest = dataclasses.replace(backtest, metrics={**backtest.metrics, **chosen})
        out_root = project_root(config.base_dir) / "backtests"
        run_id, folder = finish_run(backtest, out_dir=None, store=sweeps.store, out_root=out_root)
        sweeps.link_run(found, best.number, run_id)
    report = folder / "report.html"
    out.print(f"run: {run_id} in {folder}", markup=False)
    out.print(f"report: {report}", markup=False)
    if open_browser:
        open_page(report)


def _holds(result: TrialResult, name: str, op: str, value: float) -> bool:
    found = result.params.get(name, (result.metrics or {}).get(name))
    return isinstance(found, int | float) and bool(_COMPARE[op](found, value))


def register(app: typer.Typer) -> None:
    """Add ``sweeps list|show|best`` to ``app``."""
    app.add_typer(sweeps_app, name="sweeps")
