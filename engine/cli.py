"""The ``kestrel`` command (typer + rich).

Commands: ``backtest``, ``runs list``, ``runs show``, ``strategies list``, ``data inspect``;
``data download``, ``data list`` and ``exchange serve`` live in `engine.cli_exchange`.
Every `KestrelError` (and every usage error) becomes one line on stderr and exit code 2;
``--debug`` anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.cli_exchange import register as register_exchange_commands
from engine.cli_report import register as register_report_commands
from engine.config import load_config
from engine.errors import KestrelError
from engine.feeds import inspect_file
from engine.persistence import RunStore
from engine.report.artifacts import iso
from engine.runtime import finish_run, run_backtest
from engine.strategy import available_strategies, load_strategy_class

__all__ = ["app", "main"]

EXIT_ERROR = 2

app = typer.Typer(
    name="kestrel",
    help=(
        "Kestrel: event-driven trading engine. Backtest a strategy from a TOML config. "
        "Errors are one line with exit code 2; add --debug anywhere to see the traceback."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)
strategies_app = typer.Typer(help="Discover strategy plugins.", no_args_is_help=True)
data_app = typer.Typer(help="Inspect, download and list market data.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(strategies_app, name="strategies")
app.add_typer(data_app, name="data")


class _Stdout:
    """Console for results on stdout, made at print time (tests swap sys.stdout).

    Piped output gets a wide console so tables are not folded at 80 columns.
    """

    def __getattr__(self, name: str) -> Any:
        width = None if sys.stdout.isatty() else 200
        return getattr(Console(highlight=False, width=width), name)


stdout = _Stdout()
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the run store (default: $KESTREL_DB_URL or "
        "sqlite:///backtests/kestrel.db).",
    ),
]


@app.command()
def backtest(
    config: Annotated[Path, typer.Argument(help="Run config (TOML).")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: key=value (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Artifact folder (default backtests/<run_id>).")
    ] = None,
    db: DbOption = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Do not write to the run store.")] = False,
) -> None:
    """Run a backtest, print its summary and write its artifacts."""
    run_config = load_config(config, overrides or [])
    store = None if no_db else RunStore(db)
    progress = _progress_bar()
    if progress is None:
        result = run_backtest(run_config)
    else:
        with progress:
            task = progress.add_task("backtest", total=None)
            result = run_backtest(
                run_config,
                progress=lambda done, total: progress.update(
                    task,
                    completed=done,
                    total=total,
                    description=f"backtest {done:,}/{total:,} bars",
                ),
            )
    run_id, folder = finish_run(result, out_dir=out, store=store)
    for frame in result.frames:
        for warning in frame.warnings:
            print(f"warning: {frame.symbol}: {warning}", file=sys.stderr)
    _print_summary(run_id, result.metrics, result.bars, result.elapsed_s)
    for change in result.recorder.trading_states:  # risk guards tripped, cooldowns ended
        when = iso(change.ts_event)
        line = f"trading state {change.previous} -> {change.state} at {when}: {change.reason}"
        stdout.print(line, markup=False)
    stdout.print(f"artifacts: {folder}", markup=False)
    if (folder / "report.html").is_file():
        stdout.print(f"report: {folder / 'report.html'}", markup=False)
    if store is not None:
        stdout.print(f"stored in: {store.url}", markup=False)


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="Run id.")], db: DbOption = None) -> None:
    """Show one stored run's metrics and where its artifacts are."""
    store = RunStore(db)
    run = store.get_run(run_id)
    if run is None:
        matches = [r for r in store.run_ids() if r.startswith(run_id) or run_id in r]
        if len(matches) == 1:
            run = store.get_run(matches[0])
        if run is None:
            hint = f" (did you mean {', '.join(matches[:3])}?)" if matches else ""
            raise KestrelError(f"no run {run_id!r} in {store.url}{hint}; see `kestrel runs list`")
    stdout.print(f"run: {run['run_id']}", markup=False)
    stdout.print(f"strategy: {run['strategy']}  symbols: {run['symbols']}", markup=False)
    stdout.print(f"artifacts: {run['artifacts_dir']}", markup=False)
    _print_summary(run["run_id"], run["metrics"], run["bars"], None)


@strategies_app.command("list")
def strategies_list() -> None:
    """List strategies registered under the ``kestrel.strategies`` entry point group."""
    table = Table("name", "reference", "parameters")
    for name, reference in available_strategies().items():
        try:
            params_type = load_strategy_class(reference).Params
            fields = getattr(params_type, "__dataclass_fields__", {})
            params = ", ".join(f"{k}={v.default!r}" for k, v in fields.items())
        except KestrelError as exc:
            params = f"(cannot load: {exc})"
        table.add_row(name, reference, params)
    stdout.print(table)


@data_app.command("inspect")
def data_inspect(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Report rows, time range, timeframe, gaps and every problem found in a data file."""
    if not file.is_file():
        raise KestrelError(f"data file {str(file)!r} does not exist")
    report = inspect_file(file)
    if as_json:
        stdout.print_json(json.dumps(report.as_dict()))
    else:
        table = Table(title=f"Data {report.path}", show_header=False, title_justify="left")
        table.add_column("field")
        table.add_column("value")
        gaps = report.gaps
        gap_text = f"{gaps.count} ({gaps.missing_bars} missing bars"
        gap_text += f", largest {gaps.largest} at {gaps.largest_at})" if gaps.largest else ")"
        for name, value in (
            ("rows", f"{report.rows:,}"),
            ("columns", ", ".join(report.columns)),
            ("first bar (open time)", report.first or "—"),
            ("last bar (open time)", report.last or "—"),
            ("timeframe", report.timeframe or "—"),
            ("gaps", gap_text),
            ("problems", str(len(report.problems))),
        ):
            table.add_row(name, value)
        stdout.print(table)
        for warning in report.warnings:
            stdout.print(f"warning: {warning}", markup=False)
        for problem in report.problems:
            stdout.print(f"problem: {problem}", markup=False)
    if report.problems:
        print(
            f"error: {report.path}: {len(report.problems)} problem(s); first: {report.problems[0]}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_ERROR)


register_report_commands(app, runs_app)
register_exchange_commands(app, data_app)


def _progress_bar() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _print_summary(run_id: str, metrics: dict[str, Any], bars: int, elapsed: float | None) -> None:
    table = Table(title=f"Backtest {run_id}", show_header=False, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("period", f"{iso(metrics['start'])[:10]} → {iso(metrics['end'])[:10]}"),
        ("bars", f"{bars:,}"),
        ("initial cash", _num(metrics["initial_cash"])),
        ("final equity", _num(metrics["final_equity"])),
        ("total return", _pct(metrics["total_return"])),
        ("CAGR", _pct(metrics["cagr"])),
        ("volatility (ann.)", _pct(metrics["volatility"])),
        ("Sharpe", _num(metrics["sharpe"])),
        ("Sortino", _num(metrics["sortino"])),
        ("max drawdown", _pct(metrics["max_drawdown"])),
        ("max drawdown duration", f"{metrics['max_drawdown_duration_days']:.1f} days"),
        ("trades", str(metrics["num_trades"])),
        ("win rate", _pct(metrics["win_rate"])),
        ("profit factor", _num(metrics["profit_factor"])),
        ("exposure", _pct(metrics["exposure"])),
        ("fees paid", _num(metrics["fees_paid"])),
    ]
    if elapsed is not None:
        rows.append(("wall time", f"{elapsed:.2f} s"))
    for name, value in rows:
        table.add_row(name, value)
    stdout.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        code = app(args=args, prog_name="kestrel", standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(code) returns instead of raising here
            return code
    except KestrelError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return EXIT_ERROR
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        if debug:
            traceback.print_exc()
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"error: {message} (see `kestrel --help`)", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, but say so and how to see more
        if debug:
            traceback.print_exc()
        print(
            f"error: internal error {type(exc).__name__}: {exc} (rerun with --debug for the "
            "traceback and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
