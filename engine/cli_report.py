"""CLI commands for reports and stored runs: ``report``, ``runs list|compare|export|delete``.

Registered on the main app by `register` (called from `engine.cli`). A run is named by
its folder or by its id in the run store (a unique prefix or substring is enough).
Errors are `KestrelError`s, which ``kestrel`` prints as one line with exit code 2.
"""

from __future__ import annotations

import re
import shutil
import sys
import webbrowser
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from engine.errors import KestrelError
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.persistence.store import OPERATORS
from engine.report.compare import RunSeries, compare_rows, render_compare, run_series_from_dir
from engine.report.export import export_run
from engine.report.html import render_report

__all__ = ["parse_condition", "register"]

console = Console(highlight=False, width=200)
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the run store (default: $KESTREL_DB_URL or "
        "sqlite:///backtests/kestrel.db).",
    ),
]
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*([-+0-9.eE]+)(%?)\s*$")


def parse_condition(text: str) -> tuple[str, str, float]:
    """Return ``(metric, operator, value)`` from e.g. ``"sharpe>1"`` or ``"max_drawdown>-20%"``.

    A trailing ``%`` divides the value by 100 (metrics are stored as fractions).

    Raises:
        KestrelError: The text is not ``metric OP number``.
    """
    match = _CONDITION.match(text)
    if match is None:
        raise KestrelError(
            f"--where {text!r}: expected METRIC OP NUMBER with OP one of "
            f"{' '.join(OPERATORS)}, e.g. --where 'sharpe>1' --where 'total_return>=10%'"
        )
    name, op, number, percent = match.groups()
    try:
        value = float(number)
    except ValueError:
        raise KestrelError(f"--where {text!r}: {number!r} is not a number") from None
    return name, op, value / 100 if percent else value


def _resolve(target: str, db: str | None) -> tuple[Path, RunStore | None, str | None]:
    """Return ``(folder, store, run_id)`` for a run folder or a stored run id."""
    folder = Path(target)
    if folder.is_dir():
        return folder, None, None
    store = RunStore(db)
    matches = store.find_run_ids(target)
    if not matches:
        raise KestrelError(
            f"{target!r} is neither a folder nor a run id in {store.url}; see `kestrel runs list`"
        )
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
        raise KestrelError(f"{target!r} matches {len(matches)} runs ({shown}); give more of the id")
    run = store.get_run(matches[0])
    assert run is not None  # just listed
    return Path(run["artifacts_dir"] or ""), store, matches[0]


def _existing_folder(folder: Path, run_id: str | None) -> Path:
    if not (folder / "config.toml").is_file():
        what = f"run {run_id}'s artifacts folder" if run_id else "folder"
        raise KestrelError(f"{what} {str(folder)!r} has no run artifacts (moved or deleted?)")
    return folder


def _fmt_pct(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.2f}%"


def _fmt_num(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:,.2f}"


def report(
    target: Annotated[str, typer.Argument(help="Run folder or run id (prefix is enough).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file (default <folder>/report.html).")
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the report in the default browser.")
    ] = False,
    benchmark: Annotated[
        Path | None,
        typer.Option("--benchmark", help="Bars file (CSV/Parquet) whose closes are the benchmark."),
    ] = None,
    risk_free_rate: Annotated[
        float, typer.Option("--risk-free-rate", help="Annual risk-free rate, a fraction.")
    ] = 0.0,
    trials: Annotated[
        int, typer.Option(min=1, help="Variants tried, for the deflated Sharpe ratio.")
    ] = 1,
    db: DbOption = None,
) -> None:
    """Render (or re-render) a run's self-contained HTML report."""
    folder, _, run_id = _resolve(target, db)
    folder = _existing_folder(folder, run_id)
    bench = None
    if benchmark is not None:
        if not benchmark.is_file():
            raise KestrelError(f"benchmark file {str(benchmark)!r} does not exist")
        bench = load_bars(benchmark, symbol=benchmark.stem)
    path = render_report(
        folder,
        out,
        benchmark=bench,
        benchmark_label=benchmark.stem if benchmark else None,
        risk_free_rate=risk_free_rate,
        trials=trials,
    )
    console.print(f"report: {path}", markup=False)
    # webbrowser.open returns False (it does not raise) when no browser can be started,
    # e.g. on a server without a desktop: say so instead of appearing to have opened it
    if open_browser and not webbrowser.open(path.resolve().as_uri()):
        print(
            f"warning: no web browser could be opened here; open {path.resolve()} yourself",
            file=sys.stderr,
        )


def runs_list(
    db: DbOption = None,
    strategy: Annotated[
        str | None, typer.Option(help="Only strategies whose path contains this.")
    ] = None,
    symbol: Annotated[str | None, typer.Option(help="Only runs trading this symbol.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Created on or after this date (YYYY-MM-DD, UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Created before this date (UTC).")] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Metric threshold, e.g. 'sharpe>1', 'max_drawdown>-20%' (repeatable)."),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="Sort by a metric or column, e.g. sharpe, total_return.")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 50,
) -> None:
    """List stored runs (newest first), with filters and sorting."""
    conditions = [parse_condition(text) for text in where or []]
    rows = RunStore(db).query_runs(
        strategy=strategy,
        symbol=symbol,
        since=since,
        until=until,
        conditions=conditions,
        sort=sort,
        descending=not ascending,
        limit=limit,
    )
    if not rows:
        console.print("no matching runs: run `kestrel backtest CONFIG` or loosen the filters")
        return
    columns = ["run id", "strategy", "symbols", "created", "bars", "return", "sharpe", "max dd"]
    table = Table(*columns, "trades")
    extra = sort not in {"created_at", "total_return", "sharpe", "max_drawdown", "num_trades"}
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
            str(row["num_trades"]),
        ]
        if extra:
            value = row.get(sort, row["metrics"].get(sort))
            cells.append(_fmt_num(value) if isinstance(value, int | float) else str(value or "—"))
        table.add_row(*cells)
    console.print(table)


def _series(target: str, db: str | None) -> RunSeries:
    folder, store, run_id = _resolve(target, db)
    if (folder / "equity.csv").is_file():
        return run_series_from_dir(folder)
    if store is None or run_id is None:
        raise KestrelError(f"{target!r} is not a run folder (no equity.csv)")
    run = store.get_run(run_id)
    assert run is not None
    rows = store.table_rows("equity", run_id)
    return RunSeries(
        run_id=run_id,
        strategy=run["strategy"],
        metrics=run["metrics"],
        ts=np.array([r["ts_event"] for r in rows], dtype=np.int64),
        equity=np.array([r["equity"] for r in rows], dtype=np.float64),
        initial_cash=float(run["initial_cash"]),
    )


def runs_compare(
    targets: Annotated[list[str], typer.Argument(help="Two or more run folders or run ids.")],
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Comparison page (default backtests/compare.html)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print runs' metrics side by side and write one chart overlaying their equity."""
    if len(targets) < 2:
        raise KestrelError("runs compare needs at least two runs")
    runs = [_series(target, db) for target in targets]
    table = Table("metric", *(run.run_id for run in runs), title="Run comparison")
    for label, values in compare_rows(runs):
        table.add_row(label, *values)
    console.print(table)
    path = render_compare(runs, html if html is not None else Path("backtests") / "compare.html")
    console.print(f"chart: {path}", markup=False)


def runs_export(
    target: Annotated[str, typer.Argument(help="Run folder or run id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Zip file to write.")] = None,
    include_data: Annotated[
        bool, typer.Option("--include-data", help="Put the data files in the zip too.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Zip a run's artifacts, config and data hashes (enough to reproduce it)."""
    folder, _, run_id = _resolve(target, db)
    path = export_run(_existing_folder(folder, run_id), out, include_data=include_data)
    console.print(f"exported: {path}", markup=False)


def runs_delete(
    targets: Annotated[list[str], typer.Argument(help="Run ids to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    keep_files: Annotated[
        bool, typer.Option("--keep-files", help="Delete the stored rows only.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Delete stored runs and (unless --keep-files) their artifacts folders."""
    store = RunStore(db)
    chosen = []
    for target in targets:
        matches = store.find_run_ids(target)
        if len(matches) != 1:
            found = f"matches {len(matches)} runs" if matches else "matches no run"
            raise KestrelError(f"{target!r} {found} in {store.url}; give one exact run id")
        chosen.append(matches[0])
    if not yes:
        if not sys.stdin.isatty():
            raise KestrelError("runs delete asks for confirmation: pass --yes to delete")
        typer.confirm(f"delete {len(chosen)} run(s): {', '.join(chosen)}?", abort=True)
    for run_id in chosen:
        run = store.get_run(run_id)
        folder = Path(run["artifacts_dir"]) if run and run["artifacts_dir"] else None
        store.delete_run(run_id)
        removed = ""
        # Only a folder that says it belongs to this run is removed: never a user's --out dir
        # that happens to hold other things.
        if not keep_files and folder is not None and _owned_by(folder, run_id):
            shutil.rmtree(folder)
            removed = f" and {folder}"
        console.print(f"deleted {run_id}{removed}", markup=False)


def _owned_by(folder: Path, run_id: str) -> bool:
    info = folder / "run.json"
    return info.is_file() and f'"run_id": "{run_id}"' in info.read_text()


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    """Add ``report`` to ``app`` and ``list``/``compare``/``export``/``delete`` to ``runs``.

    Replaces an existing ``runs list`` (this one adds filters and sorting).
    """
    runs_app.registered_commands = [c for c in runs_app.registered_commands if c.name != "list"]
    app.command("report")(report)
    runs_app.command("list")(runs_list)
    runs_app.command("compare")(runs_compare)
    runs_app.command("export")(runs_export)
    runs_app.command("delete")(runs_delete)
