"""CLI commands for reports and stored runs: ``report``, ``runs list|compare|export|delete|gc``.

Registered on the main app by `register` (called from `engine.cli`). A run is named by
its folder or by its id in the run store: the id or its unique beginning, in every
command (never a substring from the middle, never empty). A folder counts only when it
holds a complete run (`engine.report.run_folder`).
Errors are `KestrelError`s, which ``kestrel`` prints as one line with their group's exit
code (2 for every input to fix here: a run name, a query, a path, a missing ``--yes``).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from engine.cli_console import Stdout
from engine.cli_report_options import (
    MAX_TRIALS,
    BenchmarkOption,
    OpenOption,
    RiskFreeRateOption,
    SelfContainedOption,
    load_benchmark,
    open_page,
)
from engine.cli_store import DbOption, open_store, project_backtests
from engine.errors import (
    KestrelError,
    QueryError,
    RunLookupError,
    UsageError,
)
from engine.report.assets import ASSETS_DIR, INLINE, stale_temporaries
from engine.report.ownership import check_replaceable, is_kestrel_page, is_kestrel_zip
from engine.report.run_folder import (
    check_complete,
    is_safe_run_id,
    partial_folders,
    remove_run_files,
    why_keep_partial,
    writer_alive,
)

if TYPE_CHECKING:  # SQLAlchemy, numpy, pandas and plotly load inside the commands
    from engine.persistence import RunStore
    from engine.persistence.sweeps import SweepStore
    from engine.report.compare import RunSeries

__all__ = ["parse_condition", "register"]

console = Stdout()
_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*([-+0-9.eE]+)(%?)\s*$"
)


def parse_condition(text: str) -> tuple[str, str, float]:
    """Return ``(metric, operator, value)`` from e.g. ``"sharpe>1"`` or ``"max_drawdown>-20%"``.

    A trailing ``%`` divides the value by 100 (metrics are stored as fractions).

    Raises:
        QueryError: The text is not ``metric OP number``.
    """
    match = _CONDITION.match(text)
    if match is None:
        from engine.persistence.query import OPERATORS

        raise QueryError(
            f"--where {text!r}: expected METRIC OP NUMBER with OP one of "
            f"{' '.join(OPERATORS)}, e.g. --where 'sharpe>1' --where 'total_return>=10%'"
        )
    name, op, number, percent = match.groups()
    try:
        value = float(number)
    except ValueError:
        raise QueryError(f"--where {text!r}: {number!r} is not a number") from None
    return name, op, value / 100 if percent else value


def _resolve(target: str, db: str | None) -> tuple[Path, RunStore | None, str | None]:
    """Return ``(folder, store, run_id)`` for a run folder or a stored run id."""
    if not target.strip():
        raise RunLookupError("an empty name names no run: give a run folder or a run id")
    folder = Path(target)
    if folder.is_dir():
        return folder, None, None
    store = open_store(db)
    run_id = store.resolve_id(target)
    run = store.get_run(run_id)
    assert run is not None  # just resolved
    return Path(run["artifacts_dir"] or ""), store, run_id


def _existing_folder(folder: Path, run_id: str | None) -> Path:
    """Return ``folder`` if it holds the complete run ``run_id`` (any run if None).

    Raises:
        RunLookupError: The run has no folder (a paper account: rows only), or the
            folder holds no complete run.
    """
    if run_id is not None and folder == Path(""):
        raise RunLookupError(
            f"{run_id} has no artifacts folder: a paper account keeps its orders, "
            f"fills and equity in the run store only; `kestrel runs show {run_id}` shows it "
            f"and `kestrel runs compare {run_id} OTHER` charts it"
        )
    check_complete(folder, run_id)
    return folder


def _fmt_pct(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.2f}%"


def _fmt_num(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:,.2f}"


def report(
    target: Annotated[str, typer.Argument(help="Run folder or run id (prefix is enough).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output file (default <folder>/report-rerender.html)."),
    ] = None,
    open_browser: OpenOption = False,
    benchmark: BenchmarkOption = None,
    risk_free_rate: RiskFreeRateOption = 0.0,
    trials: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_TRIALS,
            help="Variants tried, for the deflated Sharpe ratio (1 to a million).",
        ),
    ] = 1,
    db: DbOption = None,
    self_contained: SelfContainedOption = False,
) -> None:
    """Render (or re-render) a run's HTML report.

    plotly.js comes from the copy shared in ``_assets/`` (the run folder's parent, or
    beside an ``--out`` page elsewhere); ``--self-contained`` embeds it.
    """
    from engine.report.html import render_report

    folder, _, run_id = _resolve(target, db)
    folder = _existing_folder(folder, run_id)
    if out is not None:
        check_replaceable(out, "--out", is_kestrel_page)
    bench = load_benchmark(benchmark)
    notes: list[str] = []
    path = render_report(
        folder,
        out,
        benchmark=bench,
        benchmark_label=benchmark.stem if benchmark else None,
        risk_free_rate=risk_free_rate,
        trials=trials,
        plotly=INLINE if self_contained else None,
        notes=notes,
    )
    for note in notes:  # also on the page; said here too, where the user looks
        print(f"warning: {note}", file=sys.stderr)
    console.print(f"report: {path}", markup=False)
    if open_browser:
        open_page(path)


def runs_list(
    db: DbOption = None,
    strategy: Annotated[
        str | None, typer.Option(help="Only strategies whose path contains this.")
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="Only runs trading this symbol.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Created at or after this ISO-8601 date or time (naive: UTC)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Created before this ISO-8601 date or time (naive: UTC).")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Metric threshold, e.g. 'sharpe>1', 'max_drawdown>-20%' (repeatable)."),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="Sort by a metric or column, e.g. sharpe, total_return.")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 50,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also runs being written or left by a crash.")
    ] = False,
    sweep: Annotated[
        str | None,
        typer.Option(help="List this sweep's trials instead (id or its unique beginning)."),
    ] = None,
) -> None:
    """List stored runs (newest first), with filters and sorting.

    Fields for ``--where`` and ``--sort``: the columns shown (``trades`` is the trade
    count), any metric in ``metrics.json`` and any strategy parameter (``fast`` or
    ``params.fast``). An unknown field is an error with "did you mean". A run that is a
    sweep trial's full run (``optimize --keep-best``) shows ``<sweep>#<trial>``.

    ``--sweep ID`` lists that sweep's trials as rows instead — every trial, not only those
    with a full run, up to ``--limit`` (the title says how many of how many) — filtered and
    sorted the same way (``--sort sharpe``, ``--where
    'fast>10'``; by default best first by the sweep's objective); ``kestrel sweeps best ID
    --open`` opens the best one's report.

    Live accounts are listed too, as ``live-<account>``, measured from the live tables when
    listed (`engine.runtime.live.accounts`); ``kestrel live-report`` writes their files.
    """
    from engine.persistence.query import FIELD_ALIASES, field_value
    from engine.persistence.sweeps import SweepStore

    conditions = [parse_condition(text) for text in where or []]
    since_ns, until_ns = _instant(since, "--since"), _instant(until, "--until")
    store = open_store(db)
    if sweep is not None:
        _list_trials(SweepStore(store), sweep, conditions, sort, not ascending, limit)
        return
    rows = store.query_runs(
        extra=_live_accounts(store),
        strategy=strategy,
        symbol=symbol,
        since_ns=since_ns,
        until_ns=until_ns,
        conditions=conditions,
        sort=sort,
        descending=not ascending,
        limit=limit,
        include_incomplete=show_all,
    )
    if not rows:
        console.print("no matching runs: run `kestrel backtest CONFIG` or loosen the filters")
        return
    trials = SweepStore(store).sweeps_of_runs([row["run_id"] for row in rows])
    columns = ["run id", "strategy", "symbols", "created", "bars", "return", "sharpe", "max dd"]
    table = Table(*columns, "trades", *(["status"] if show_all else []))
    if trials:
        table.add_column("sweep trial")
    shown = {"created_at", "total_return", "sharpe", "max_drawdown", "num_trades", "bars"}
    extra = FIELD_ALIASES.get(sort, sort) not in shown
    if extra:
        table.add_column(sort)
    for row in rows:
        cells = [
            row["run_id"],
            row["strategy"],
            row["symbols"],
            row["created_at"][:19],
            f"{row['bars']:,}",
            _fmt_pct(row["total_return"]),
            _fmt_num(row["sharpe"]),
            _fmt_pct(row["max_drawdown"]),
            str(row["num_trades"]) if row["num_trades"] is not None else "—",
            *([row["status"]] if show_all else []),
        ]
        if trials:
            found = trials.get(row["run_id"])
            cells.append(f"{found[0]}#{found[1]}" if found else "")
        if extra:
            value = field_value(row, sort)
            cells.append(_fmt_num(value) if isinstance(value, int | float) else str(value or "—"))
        table.add_row(*cells)
    console.print(table)


def _instant(text: str | None, option: str) -> int | None:
    """Return ``--since``/``--until`` as ns since the epoch (ISO-8601; naive: UTC)."""
    if text is None:
        return None
    from engine.feeds.timeframe import parse_timestamp  # pandas: only when filtering by time

    return parse_timestamp(text, what=option)


def _live_accounts(store: RunStore) -> list[dict[str, Any]]:
    """Return the store's live accounts as runs rows (`engine.runtime.live.accounts`).

    A store without one costs one query and no import: measuring an account loads the
    report's libraries (numpy, the metrics), which ``runs list`` otherwise never needs.
    """
    from sqlalchemy import select

    from engine.persistence.schema import live_accounts

    if not store.read(select(live_accounts.c.account).limit(1)):
        return []
    from engine.runtime.live.accounts import live_account_rows

    return live_account_rows(store)


def _list_trials(
    sweeps: SweepStore,
    text: str,
    conditions: list[tuple[str, str, float]],
    sort: str,
    descending: bool,
    limit: int,
) -> None:
    """Print a sweep's trials as `runs list` rows (``--sweep``)."""
    from engine.persistence.query import (
        FIELD_ALIASES,
        QUERYABLE_COLUMNS,
        check_field,
        field_names,
        field_value,
    )
    from engine.persistence.query import matches as holds

    sweep_id = sweeps.resolve_id(text)
    kept = sweeps.kept_runs(sweep_id)
    rows = [
        {
            "trial": t["trial"],
            "params": t["params"],
            "metrics": t["metrics"] or {},
            "status": t["status"],
            **{column: (t["metrics"] or {}).get(column) for column in QUERYABLE_COLUMNS},
        }
        for t in sweeps.trials(sweep_id)
    ]
    known = field_names(rows) | {"trial"}
    if sort == "created_at":  # the default; trials have none: best first by the objective
        from engine.optimize.search import SweepSpec

        row = sweeps.get_sweep(sweep_id)
        assert row is not None  # just resolved
        spec = SweepSpec.from_json(row["spec"])
        sort, descending = spec.objectives[0], spec.directions()[0] == "maximize"
    for name, _, _ in conditions:
        check_field(name, known, have_runs=bool(rows))
    check_field(sort, known, have_runs=bool(rows))

    def value(row: dict[str, Any], name: str) -> Any:
        return row["trial"] if name == "trial" else field_value(row, name)

    rows = [r for r in rows if all(holds(value(r, n), op, v) for n, op, v in conditions)]
    numbers = [r for r in rows if isinstance(value(r, sort), int | float)]
    numbers.sort(key=lambda r: value(r, sort), reverse=descending)
    matched = len(rows)
    rows = (numbers + [r for r in rows if r not in numbers])[:limit]
    names = sorted({k for r in rows for k in r["params"]})
    shown = f"{len(rows)} trials" if len(rows) == matched else (
        f"{len(rows)} of {matched} trials (--limit {limit}; a larger --limit shows more)"
    )  # fmt: skip
    table = Table("trial", *names, "return", "sharpe", "max dd", "trades", "status", "full run",
                  title=f"sweep {sweep_id}: {shown}")  # fmt: skip
    extra = FIELD_ALIASES.get(sort, sort) not in {"trial", "total_return", "sharpe",
                                                  "max_drawdown", "num_trades", *names}  # fmt: skip
    if extra:
        table.add_column(sort)
    for row in rows:
        cells = [
            str(row["trial"]),
            *(str(row["params"].get(n, "")) for n in names),
            _fmt_pct(row["total_return"]),
            _fmt_num(row["sharpe"]),
            _fmt_pct(row["max_drawdown"]),
            "" if row["num_trades"] is None else str(row["num_trades"]),
            row["status"],
            kept.get(row["trial"], ""),
        ]
        if extra:
            found = value(row, sort)
            cells.append(_fmt_num(found) if isinstance(found, int | float) else str(found or "—"))
        table.add_row(*cells)
    console.print(table)


def _series(target: str, db: str | None) -> RunSeries:

    from engine.report.compare import RunSeries, run_series_from_dir

    folder, store, run_id = _resolve(target, db)
    if store is None or run_id is None:
        check_complete(folder)
        return run_series_from_dir(folder)
    try:
        check_complete(folder, run_id)
        return run_series_from_dir(folder)
    except KestrelError:  # folder moved or replaced: the stored rows are the run
        pass
    run = store.get_run(run_id)
    assert run is not None
    curve = store.equity_columns(run_id)
    return RunSeries(
        run_id=run_id,
        strategy=run["strategy"],
        metrics=run["metrics"],
        ts=curve.ts_event,
        equity=curve.equity,
        initial_cash=float(run["initial_cash"]),
    )


def runs_compare(
    targets: Annotated[
        list[str] | None, typer.Argument(help="Two or more run folders or run ids.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Comparison page (default <project root>/backtests/compare.html)."
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(help="Also compare this sweep's full runs (--keep-best), best first."),
    ] = None,
    db: DbOption = None,
    self_contained: SelfContainedOption = False,
) -> None:
    """Print runs' metrics side by side and write one chart overlaying their equity."""
    from engine.report.compare import compare_rows, render_compare

    targets = list(targets or [])
    if sweep is not None:
        targets += _sweep_runs(sweep, db)
    if len(targets) < 2:
        raise UsageError(
            f"runs compare needs at least two runs, got {len(targets)}: give two or more run "
            "folders or run ids (or --sweep ID with `optimize --keep-best 2` or more)"
        )
    page = html if html is not None else project_backtests() / "compare.html"
    check_replaceable(page, "--html" if html else "comparison page", is_kestrel_page)
    runs = [_series(target, db) for target in targets]
    table = Table("metric", *(run.run_id for run in runs), title="Run comparison")
    for label, values in compare_rows(runs):
        table.add_row(label, *values)
    console.print(table)
    path = render_compare(runs, page, INLINE if self_contained else None)
    console.print(f"chart: {path}", markup=False)


def _sweep_runs(text: str, db: str | None) -> list[str]:
    """Return the run ids of a sweep's full runs, best trial first."""
    from engine.optimize.search import SweepSpec, rank, result_from_row
    from engine.persistence.sweeps import SweepStore

    sweeps = SweepStore(open_store(db))
    sweep_id = sweeps.resolve_id(text)
    kept = sweeps.kept_runs(sweep_id)
    row = sweeps.get_sweep(sweep_id)
    assert row is not None  # just resolved
    results = [result_from_row(r) for r in sweeps.trials(sweep_id)]
    ranked = rank(results, SweepSpec.from_json(row["spec"]))
    return [kept[r.number] for r in ranked if r.number in kept]


def runs_export(
    target: Annotated[str, typer.Argument(help="Run folder or run id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Zip file to write.")] = None,
    include_data: Annotated[
        bool, typer.Option("--include-data", help="Put the data files in the zip too.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Zip a run's artifacts, config and data hashes (enough to reproduce it)."""
    from engine.report.export import export_run

    folder, _, run_id = _resolve(target, db)
    if out is not None:
        check_replaceable(out, "--out", is_kestrel_zip)
    path = export_run(_existing_folder(folder, run_id), out, include_data=include_data)
    console.print(f"exported: {path}", markup=False)


def runs_delete(
    targets: Annotated[list[str], typer.Argument(help="Run ids (or their unique beginning).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    keep_files: Annotated[
        bool, typer.Option("--keep-files", help="Delete the stored rows only.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Delete stored runs and (unless --keep-files) the files they wrote.

    Only the files listed in a run's manifest are removed, and its folder only if Kestrel
    created it and it is then empty: a user's own files in an ``--out`` folder stay. An id
    must be exact or a unique beginning (never a substring, never empty).
    """
    store = open_store(db)
    chosen = list(dict.fromkeys(store.resolve_id(target) for target in targets))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("runs delete asks for confirmation: pass --yes to delete")
        typer.confirm(f"delete {len(chosen)} run(s): {', '.join(chosen)}?", abort=True)
    for run_id in chosen:
        run = store.get_run(run_id)
        folder = Path(run["artifacts_dir"]) if run and run["artifacts_dir"] else None
        removed = []
        if not keep_files and folder is not None:
            store.mark_deleting(run_id)  # hidden first: a crash below leaves work for runs gc
            removed = remove_run_files(folder, run_id)
        store.delete_run(run_id)
        what = f" and {len(removed)} file(s) in {folder}" if removed else ""
        console.print(f"deleted {run_id}{what}", markup=False)


def runs_gc(
    dirs: Annotated[
        list[Path] | None,
        typer.Option("--dir", help="Also look for partial folders here (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be removed.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Remove what interrupted runs left: incomplete stored runs and ``.partial`` folders.

    A run whose writer (``host:pid``) is still alive, or runs on another host, is left
    alone; so is a ``.partial`` folder no run wrote (no writer mark, no stored run of its
    id) or one holding anything a run does not write (`why_keep_partial`): it is named.
    Looks in the project's ``backtests/``, next to and inside every stored run's folder and
    in each ``--dir``. In their ``_assets/`` it removes only temporary copies
    of plotly.js over an hour old; the shared copies stay (`engine.report.assets`).
    """
    for given in dirs or []:  # a mistyped folder would "clean nothing" without a word
        if not given.is_dir():
            what = "is a file, not a folder" if given.exists() else "does not exist"
            raise UsageError(f"runs gc --dir {str(given)!r} {what}")
    store = open_store(db)
    roots = {project_backtests(), *(dirs or [])}
    verb = "would remove" if dry_run else "removed"
    cleaned = 0
    incomplete = store.incomplete_runs()
    stored = {run["run_id"] for run in incomplete}  # their partial folders are Kestrel's
    for run_dir in store.query_runs(limit=None, include_incomplete=True):
        if run_dir["artifacts_dir"]:
            roots.update({Path(run_dir["artifacts_dir"]), Path(run_dir["artifacts_dir"]).parent})
    for run in incomplete:
        if writer_alive(run["writer"]):
            console.print(f"kept {run['run_id']}: still being written by {run['writer']}")
            continue
        folder = Path(run["artifacts_dir"]) if run["artifacts_dir"] else None
        if not dry_run:
            if folder is not None and is_safe_run_id(run["run_id"]):  # ids never trusted as paths
                remove_run_files(folder, run["run_id"])
                roots.update({folder, folder.parent})  # its partial folder: below
            store.delete_run(run["run_id"])
        console.print(f"{verb} incomplete run {run['run_id']}", markup=False)
        cleaned += 1
    for root in sorted(roots):
        for partial in partial_folders(root):
            if partial.exists() and not writer_alive(partial):
                cleaned += _remove_partial(partial, stored, dry_run=dry_run)
        for temporary in stale_temporaries(root / ASSETS_DIR, time.time()):
            if not dry_run:
                temporary.unlink(missing_ok=True)
            console.print(f"{verb} {temporary}", markup=False)
            cleaned += 1
    if not cleaned:
        console.print("nothing to clean")


def _remove_partial(partial: Path, stored: set[str], *, dry_run: bool) -> int:
    """Remove a dead writer's ``.partial`` folder if Kestrel wrote all of it; say which."""
    reason = why_keep_partial(partial, stored)
    if reason is not None:
        console.print(f"kept {partial}: {reason}", markup=False)
        return 0
    if not dry_run:
        shutil.rmtree(partial, ignore_errors=True)
    console.print(f"{'would remove' if dry_run else 'removed'} {partial}", markup=False)
    return 1


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    """Add ``report`` to ``app`` and ``list``/``compare``/``export``/``delete``/``gc`` to ``runs``.

    Replaces an existing ``runs list`` (this one adds filters and sorting).
    """
    runs_app.registered_commands = [c for c in runs_app.registered_commands if c.name != "list"]
    app.command("report")(report)
    runs_app.command("list")(runs_list)
    runs_app.command("compare")(runs_compare)
    runs_app.command("export")(runs_export)
    runs_app.command("delete")(runs_delete)
    runs_app.command("gc")(runs_gc)
