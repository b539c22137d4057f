"""The ``kestrel`` command (typer + rich).

Commands: ``backtest``, ``runs list|show|compare|export|delete|gc``, ``strategies list``,
``data inspect``; ``report`` and ``runs`` other than ``show`` live in `engine.cli_report`,
``data download``, ``data list`` and ``exchange serve`` in `engine.cli_exchange`,
``paper`` in `engine.cli_paper`, ``warmup`` in `engine.cli_warmup`, ``keys set|status|delete``
(live trading's API keys in the OS keyring) in `engine.cli_keys`.
Every `KestrelError` becomes one line on stderr and its group's exit code
(`engine.errors.exit_code`: 2 input to fix, as for usage errors, up to 70 for a bug);
``--debug`` anywhere on the command line shows the traceback instead. Ctrl-C prints one
``interrupted: …`` line saying what was kept and exits 130 (128 + SIGINT, as shells do).
"""

from __future__ import annotations

import errno
import gc
import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.cli_console import Stdout
from engine.cli_exchange import register as register_exchange_commands
from engine.cli_keys import register as register_keys_commands
from engine.cli_live import register as register_live_commands
from engine.cli_live_report import register as register_live_report_command
from engine.cli_ml import register as register_ml_commands
from engine.cli_optimize import register as register_optimize_command
from engine.cli_paper import register as register_paper_command
from engine.cli_report import register as register_report_commands
from engine.cli_store import open_store
from engine.cli_sweeps import register as register_sweeps_commands
from engine.cli_warmup import register as register_warmup_command
from engine.config import load_config
from engine.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    DataError,
    Interrupted,
    KestrelError,
    OutputPathError,
    exit_code,
    warn,
)
from engine.paths import file_problem, project_root
from engine.report.assets import INLINE
from engine.report.denials import denial_summary, format_denials
from engine.report.run_folder import prepare_output

if TYPE_CHECKING:
    from rich.progress import Progress

    from engine.config import RunConfig
    from engine.persistence import RunStore
    from engine.runtime import BacktestResult

# pandas, numba and SQLAlchemy are imported inside the commands that use them, so that
# `kestrel --help`, `kestrel runs list` and a mistyped command start fast (issue 13;
# tests/unit/test_import_cost.py lists what `import engine.cli` may not load).

__all__ = ["app", "main"]

EXIT_ERROR = 2  # input to fix; the other groups' codes: `engine.errors.exit_code`

app = typer.Typer(
    name="kestrel",
    help=(
        "Kestrel: event-driven trading engine. Backtest a strategy from a TOML config. "
        "Errors are one line; exit code 2 means an input to fix (README, 'Exit codes'). "
        "Add --debug anywhere to see the traceback."
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


stdout = Stdout()
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
        Path | None,
        typer.Option("--out", help="Artifact folder (default <project root>/backtests/<run_id>)."),
    ] = None,
    db: DbOption = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Do not write to the run store.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into a non-empty --out folder that is not a run's."),
    ] = False,
    self_contained: Annotated[
        bool,
        typer.Option(
            "--self-contained",
            help="Embed plotly.js in report.html (4.8 MB) instead of sharing <runs>/_assets/.",
        ),
    ] = False,
) -> None:
    """Run a backtest, print its summary and write its artifacts."""
    run_config = load_config(config, overrides or [])
    # Defaults anchor at the project root, so they do not move with the working directory;
    # nothing is created before the run has finished (see engine/paths.py).
    out_root = project_root(run_config.base_dir) / "backtests"
    _check_writable(out or out_root, f"--out {str(out)!r}" if out else None)
    if out is not None:  # refuse a user's folder now, not after the run
        prepare_output(out, force=force)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # until the finished run is frozen: see the note above `main`
    try:
        # imported once the config is known good, so that a mistake in it is reported fast;
        # SQLAlchemy only with a store
        from engine.report.artifacts import iso
        from engine.runtime import finish_run

        db_url = None
        if not no_db:
            from engine.persistence.store import check_db_url

            db_url = check_db_url(_default_db(db, out_root))
        sqlite_file = _sqlite_file(db_url)
        if sqlite_file is not None:
            _check_writable(sqlite_file.parent, f"--db {db_url!r}")
        gc.freeze()  # the modules and config
        result = _run_with_progress(run_config)
        gc.freeze()  # the finished run, read until the command ends
    except KeyboardInterrupt:
        raise Interrupted(
            "the backtest stopped before its last bar; nothing was written (no artifacts "
            "folder, no store rows)"
        ) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    target = out if out is not None else out_root
    try:
        store: RunStore | None = None
        if db_url is not None:
            from engine.persistence import RunStore

            store = RunStore(db_url)
        run_id, folder = finish_run(
            result,
            out_dir=out,
            store=store,
            out_root=out_root,
            force=force,
            plotly=INLINE if self_contained else None,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            f"while saving the finished run to {target}: nothing of it was kept (no folder, "
            "no store rows); run the backtest again"  # `finish_run` undid its writes
        ) from None
    except OSError as exc:
        raise OutputPathError(
            f"cannot write the run's artifacts under {str(target)!r}: "
            f"{exc.strerror or exc}; give --out a folder you can write to"
        ) from None
    for frame in result.frames:
        for warning in frame.warnings:
            warn(f"{frame.symbol}: {warning}")
    for warning in result.indicator_warnings():
        warn(warning)
    per_symbol = [(f.symbol, len(f)) for f in result.frames]
    per_symbol += [(f"{t.symbol} {t.kind}", len(t)) for t in result.tick_frames]
    _print_summary(run_id, result.metrics, per_symbol, result.elapsed_s)
    # denials are events, not errors: without this line a run could deny every order quietly
    stdout.print(
        format_denials(denial_summary(result.recorder.orders_with_status("denied"))), markup=False
    )
    for change in result.recorder.trading_states:  # risk guards tripped, cooldowns ended
        when = iso(change.ts_event)
        line = f"trading state {change.previous} -> {change.state} at {when}: {change.reason}"
        stdout.print(line, markup=False)
    left = result.metrics.get("guard_exposure_left_open")
    if isinstance(left, float) and left > 0:  # a guard's state held a position to the end
        state = result.metrics.get("guard_final_state")
        stdout.print(f"guard left {left:,.2f} of gross exposure open ({state})", markup=False)
    stdout.print(f"artifacts: {folder}", markup=False)
    if (folder / "report.html").is_file():
        stdout.print(f"report: {folder / 'report.html'}", markup=False)
    if store is not None:
        stdout.print(f"stored in: {store.display_url}", markup=False)


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="Run id.")], db: DbOption = None) -> None:
    """Show one stored run's metrics and where its artifacts are (or a live account's)."""
    store = open_store(db)
    if run_id.startswith("live-") and not store.find_run_ids(run_id):
        _show_live_account(store, run_id)
        return
    run = store.get_run(store.resolve_id(run_id))
    assert run is not None  # just resolved
    stdout.print(f"run: {run['run_id']}", markup=False)
    stdout.print(f"strategy: {run['strategy']}  symbols: {run['symbols']}", markup=False)
    stdout.print(f"artifacts: {run['artifacts_dir']}", markup=False)
    _print_summary(run["run_id"], run["metrics"], [], None)


def _show_live_account(store: Any, run_id: str) -> None:
    """Print a live account's summary, measured from the store (`engine.runtime.live.accounts`).

    Raises:
        RunLookupError: No live account of that name.
    """
    from engine.runtime.live.accounts import live_account_row

    row = live_account_row(store, run_id)
    account = row["metrics"]["account"]
    stdout.print(f"live account: {account} ({row['metrics']['sessions']} session(s))",
                 markup=False)  # fmt: skip
    stdout.print(f"strategy: {row['strategy'] or '—'}  symbols: {row['symbols'] or '—'}",
                 markup=False)  # fmt: skip
    files = f"kestrel live-report CONFIG --account {account}"
    if "start" not in row["metrics"]:  # no equity row, or no config stored yet
        stdout.print(f"bars: {row['bars']:,}  (metrics once a session of this Kestrel has "
                     "run and written a bar)", markup=False)  # fmt: skip
    else:
        _print_summary(row["run_id"], row["metrics"], [], None)
    stdout.print(f"report: {files} writes equity.csv, trades.csv, metrics.json, report.html",
                 markup=False)  # fmt: skip


@strategies_app.command("list")
def strategies_list() -> None:
    """List strategies registered under the ``kestrel.strategies`` entry point group.

    One row each: name, reference, the first line of the class docstring (what it does)
    and the parameters with their defaults.
    """
    from rich.markup import escape

    from engine.strategy import available_strategies, load_strategy_class

    table = Table()
    for column in ("name", "reference"):  # copied into configs: never folded
        table.add_column(column, no_wrap=True)
    table.add_column("description")
    table.add_column("parameters")
    for name, reference in available_strategies().items():
        try:
            cls = load_strategy_class(reference)
            fields = getattr(cls.Params, "__dataclass_fields__", {})
            params = ", ".join(f"{k}={v.default!r}" for k, v in fields.items())
            description = (cls.__doc__ or "").strip().split("\n")[0]
        except KestrelError as exc:
            params, description = f"(cannot load: {exc})", ""
        # docstrings are text, not rich markup (ml_signal's "[ml]" was dropped as a tag)
        table.add_row(*map(escape, (name, reference, description, params)), end_section=True)
    stdout.print(table)


@data_app.command("inspect")
def data_inspect(
    file: Annotated[
        str, typer.Argument(help="CSV or Parquet file, or catalog://EXCHANGE/SYMBOL/TIMEFRAME.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    calendar: Annotated[
        str | None,
        typer.Option(help="Gap calendar: '24/7' or 'weekdays' (default: inferred from the data)."),
    ] = None,
) -> None:
    """Report rows, time range, timeframe, gaps and every problem found in a data file."""
    timeframe = None
    if file.startswith("catalog://"):  # found as a config finds it; its path's timeframe
        from engine.feeds.catalog import parse_catalog_uri
        from engine.runtime.inputs import resolve_data_path

        path = resolve_data_path(file, str(Path.cwd()), key="data inspect")
        timeframe = parse_catalog_uri(file)[2]
    else:  # a missing file is refused before pandas is imported (a quick answer)
        path = Path(file)
        problem = file_problem(file, "data file")
        if problem:
            raise DataError(problem)
    from engine.feeds import inspect_file

    report = inspect_file(path, calendar, timeframe)
    if as_json:
        stdout.print_json(json.dumps(report.as_dict()))
    else:
        table = Table(title=f"Data {report.path}", show_header=False, title_justify="left")
        table.add_column("field")
        table.add_column("value")
        gaps = report.gaps
        gap_text = f"{gaps.count} ({gaps.missing_bars} missing bars"
        gap_text += f", largest {gaps.largest} at {gaps.largest_at})" if gaps.largest else ")"
        gap_text += f"; calendar {gaps.calendar}" if gaps.calendar else ""
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
register_paper_command(app)
register_ml_commands(app)
register_optimize_command(app)
register_sweeps_commands(app)
register_live_commands(app)
register_live_report_command(app)
register_keys_commands(app)
register_warmup_command(app)


def _run_with_progress(run_config: RunConfig) -> BacktestResult:
    from engine.runtime import run_backtest

    progress = _progress_bar()
    if progress is None:
        return run_backtest(run_config)
    with progress:
        task = progress.add_task("backtest", total=None)
        return run_backtest(
            run_config,
            progress=lambda done, total: progress.update(
                task, completed=done, total=total, description=f"backtest {done:,}/{total:,} bars"
            ),
        )


def _default_db(db: str | None, out_root: Path) -> str:
    """Return ``--db``, else ``$KESTREL_DB_URL``, else SQLite in the project's backtests/."""
    if db is None and not os.environ.get("KESTREL_DB_URL"):
        return f"sqlite:///{out_root / 'kestrel.db'}"
    from engine.persistence import resolve_db_url

    return resolve_db_url(db)


def _sqlite_file(url: str | None) -> Path | None:
    """Return the file of a ``sqlite:///path`` URL (None for other URLs and memory)."""
    if url is None or not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").partition("?")[0]
    return Path(path) if path and path != ":memory:" else None


def _check_writable(target: Path, label: str | None) -> None:
    """Fail before the run when the folder ``target`` cannot be made or written; create nothing.

    Args:
        target: The folder the run will write into (made, with its parents, if missing).
        label: How the user named it (``--out 'x'``); None for the default artifacts folder.

    Raises:
        OutputPathError: ``target`` (or a folder above it) is a file, or is not writable.
    """
    label = label or f"artifacts folder {str(target)!r}"
    if target.exists() and not target.is_dir():
        raise OutputPathError(f"{label}: {target} is a file, not a folder; give another path")
    existing = target if target.exists() else target.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{label}: {existing} is a file, so no folder can be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"{label}: {existing} is not writable; give a folder you can write to"
        )


def _os_error_text(exc: OSError) -> str:
    """Return one line for a file system error on a path the user gave (``--out`` etc.)."""
    name = str(exc.filename) if exc.filename else ""
    if name and Path(name).is_file() and exc.errno in (errno.EEXIST, errno.ENOTDIR):
        # mkdir(parents=True) on a path through a file says "File exists": say which file
        return f"{name} is a file, not a folder; give another output path"
    where = f" {name}" if name else ""
    return f"cannot use{where}: {exc.strerror or exc}; check the path and its permissions"


def _progress_bar() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

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


def _print_summary(
    run_id: str,
    metrics: dict[str, Any],
    per_symbol: list[tuple[str, int]],
    elapsed: float | None,
) -> None:
    """Print a run's summary table.

    "bars" is the metrics' count: the bar close times stepped (one equity row each), which
    is also the symbol's bar count for a single symbol; with several symbols or tick
    sources, a "per symbol" row gives each one's own count.
    """
    from engine.report.artifacts import iso
    from engine.report.csv_text import period_text

    # a paper account's runs row says so in its metrics (`PaperSession.run_row`), a live
    # account's row too (`engine.runtime.live.accounts`)
    kinds = {"paper": "Paper account", "live": "Live account"}
    kind = kinds.get(str(metrics.get("mode")), "Backtest")
    table = Table(title=f"{kind} {run_id}", show_header=False, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("period", period_text(metrics["start"], metrics["end"])),  # the last bar's day
        ("bars", f"{metrics['bars']:,}"),
    ]
    if len(per_symbol) > 1:
        rows.append(("per symbol", ", ".join(f"{name} {count:,}" for name, count in per_symbol)))
    rows += [
        ("initial cash", _num(metrics["initial_cash"])),
        ("final equity", _num(metrics["final_equity"])),
        ("total return", _pct(metrics["total_return"])),
        ("CAGR", _pct(metrics["cagr"])),
        ("volatility (ann.)", _pct(metrics["volatility"])),
        ("Sharpe", _num(metrics["sharpe"])),
        ("Sortino", _num(metrics["sortino"])),
        ("max drawdown", _pct(metrics["max_drawdown"])),
        ("max drawdown duration", f"{metrics['max_drawdown_duration_days']:.1f} days"),
    ]
    ruined = metrics.get("equity_went_non_positive_at")
    if ruined is not None:  # the ratios from returns are "—" then (`engine.report.metrics`)
        rows.append(("equity ≤ 0 from", iso(ruined)[:16].replace("T", " ")))
    rows += [
        ("trades", str(metrics["num_trades"])),
        ("win rate", _pct(metrics["win_rate"])),
        ("profit factor", _num(metrics["profit_factor"])),
    ]
    if metrics.get("open_positions"):  # trade stats count closed trades; these are not in them
        open_note = f"{metrics['open_positions']} (unrealized {_num(metrics['unrealized_pnl'])})"
        rows.append(("open at end", open_note))
    rows += [
        ("exposure", _pct(metrics["exposure"])),
        ("fees paid", _num(metrics["fees_paid"])),
    ]
    if elapsed is not None:
        rows.append(("wall time", f"{elapsed:.2f} s"))
    for name, value in rows:
        table.add_row(name, value)
    stdout.print(table)


# Why `backtest` freezes the collector's view of the heap (gc.freeze): a run leaves
# ~350,000 tracked objects alive until the command ends (its fills, orders, the modules),
# and every full collection while saving, printing and exiting rescanned them all: 0.5-0.7 s
# of CPU of a 1 M-bar `kestrel backtest` (benchmarks/bench_cli.py). Frozen objects are never
# scanned; garbage made after a freeze is still collected. Before that, from the imports of
# the run's modules (pandas, numba) to the finished run, the collector is paused: its
# passes there (~0.2 s of CPU, 1 M bars) found nothing to free — loading the data makes no
# cyclic garbage, and the loop's objects stay alive until the run ends. The process entry (no argv)
# leaves them frozen to the end, or the exit's collection would scan them; an in-process
# caller gets them back (`main`'s finally), so that its later garbage cycles that reach
# into a run are freed.
def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (README "Exit codes").

    0 ok; an error is one line on stderr and the code of its group (`engine.errors`): 2
    input to fix (also usage errors and unusable paths), 3 strategy code, 4 exchange
    unavailable, 5 other exchange trouble, 6 run store, 70 internal; 130 interrupted.
    """
    try:
        return _main(argv)
    finally:
        if argv is not None:  # called in-process (tests, a notebook): see the note above
            gc.unfreeze()


def _main(argv: list[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        code = app(args=args, prog_name="kestrel", standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent exit code 130
            print("interrupted: the command stopped before it finished", file=sys.stderr)
        if isinstance(code, int) and code:  # typer.Exit(code) returns instead of raising here
            return code
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KestrelError as exc:
        if debug:
            traceback.print_exc()
        if exit_code(exc) == EXIT_INTERNAL:  # a bug (or the bare base): say so, as below
            print(f"error: internal error: {exc}{_REPORT_IT}", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort as exc:  # typer turns an EOFError (end of input) into Abort
        if debug:
            traceback.print_exc()
        reason = f" ({exc.__cause__})" if exc.__cause__ is not None and str(exc.__cause__) else ""
        print(f"error: unexpected end of input{reason}; nothing was done", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # outside a command (while typer parses): same line
        print("interrupted: the command stopped before it finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a path the user gave cannot be written or read: not a bug
        if debug:
            traceback.print_exc()
        print(f"error: {_os_error_text(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        if debug:
            traceback.print_exc()
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        where, ctx = "kestrel", getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # help shown above
            where = ctx.command_path  # typer's vendored click: matched by name, not imported
            names: list[str] = getattr(ctx.command, "list_commands", lambda _ctx: [])(ctx)
            message = f"give a command: {where} {'|'.join(names) or 'COMMAND'}"
        print(f"error: {message} (see `{where} --help`)", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, but say so and how to see more
        if debug:
            traceback.print_exc()
        print(f"error: internal error {type(exc).__name__}: {exc}{_REPORT_IT}", file=sys.stderr)
        return EXIT_INTERNAL
    return 0


_REPORT_IT = " (rerun with --debug for the traceback and please report it)"


if __name__ == "__main__":
    sys.exit(main())
