"""Finishing a run: artifacts on disk and rows in the run store.

In: a `BacktestResult`, an output folder (or None for ``backtests/<run_id>``) and a store.
Out: the run id and the folder. The run id is ``<UTC time>-<name>-<hash8>``, where the hash
(``inputs_sha256`` in run.json) covers everything that decides the run's numbers, so the
same inputs share a hash suffix and different ones do not:
- the resolved config (TOML text, paths as written);
- every bar and tick of every data source (the loaded values, not the file bytes);
- the bytes of the ``[[fx]]`` rate files, ``[[data]] funding`` files and headline files
  (``[[data]] kind = "news"``; run.json lists them under ``news``);
- the strategy's source: the bytes of the file of the module that defines the strategy
  class — the ``.py`` file of a file plugin (``"x.py:Class"``), of the module of a dotted
  path (``"strategies.sma_cross:SmaCross"``) and of the module an entry point names —
  and likewise the module (or ``"file.py"``) of every ``[[risk.checks]]`` plugin. Other
  modules they import are not hashed (a strategy split over helper modules changes
  identity only through its own file). A class whose module has no file (defined in a
  notebook cell) hashes its ``module:Class`` name only.
- the bytes of the files the strategy reads of its own (`engine.ml.bind.strategy_files`:
  an `MlSignal`'s saved model — the version a model folder resolved to —, a TF-IDF
  scorer's training file); run.json lists them under ``strategy_files`` (name → source
  and sha256).
run.json records the strategy's module file and its sha256 (``strategy``), which
``runs export`` uses to put the file in the zip, and where the fx, funding and file plugin
check files were read (``fx``, ``funding``, ``risk_checks``: `side_inputs`), which
``runs export --include-data`` packs.

Order of writes (so that a crash, even ``kill -9``, never leaves a run that looks complete
and is not, nor files the store does not know about):

1. the store row is inserted with ``status = 'writing'`` (it names the folder and the
   writing process) — from here on the store knows every file the run may leave;
2. the files go to a ``.<run_id>.partial`` folder, the manifest last
   (`engine.report.run_folder`);
3. in one store transaction the run's rows are inserted, the folder is published (renamed
   into place, or its files moved in) and then the row is marked ``complete`` and
   committed. Steps 2 and 3 run at once (`_save_concurrently`): the transaction inserts
   the rows while the files are written, and publishes and commits only once they are.
   A crash before the commit leaves a ``writing`` row: hidden from ``runs list``, shown
   by ``runs list --all``, removed with its files by ``runs gc``.
   Publishing before the commit (not after) is the safe order: a crash between the two
   leaves a folder whose row says ``writing`` (cleaned up), never a ``complete`` row whose
   folder is missing.

A failure (an exception, Ctrl-C) undoes all of it: partial folder, published files, row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tomli_w

from engine.config import RunConfig, dump_config
from engine.errors import KestrelError
from engine.ml.bind import strategy_files
from engine.plugin_files import is_file_reference, plugin_file
from engine.report.artifacts import RunTables, write_artifacts
from engine.report.assets import PlotlyLink
from engine.report.html import render_report
from engine.report.run_folder import prepare_output, publish, remove_run_files, start_partial
from engine.runtime.delivery import paused_gc
from engine.runtime.inputs import resolve_data_path
from engine.runtime.result import BacktestResult

if TYPE_CHECKING:  # SQLAlchemy loads with the first store (`kestrel backtest --no-db` has none)
    from engine.persistence import RunStore

__all__ = ["DEFAULT_OUT_ROOT", "finish_run", "inputs_hash", "new_run_id", "strategy_source"]

DEFAULT_OUT_ROOT = Path("backtests")


def _module_file(module_name: str) -> Path | None:
    """Return the file an imported module was loaded from (None: no file, e.g. __main__)."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    return Path(file) if file and Path(file).is_file() else None


def strategy_source(result: BacktestResult) -> dict[str, Any]:
    """Return what identifies the run's strategy code (the ``strategy`` entry of run.json).

    Keys: ``reference`` (as in the config), ``class`` (``module:Class`` of the instance
    that ran), ``source`` (absolute path of the class's module file, or None) and
    ``sha256`` (of that file's bytes, or None).
    """
    cls = type(result.strategy)
    path = _module_file(cls.__module__)
    return {
        "reference": result.config.strategy.path,
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "source": str(path.resolve()) if path else None,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path else None,
    }


def _code_and_side_files(result: BacktestResult) -> list[tuple[str, bytes]]:
    """Return (label, bytes) of the strategy and risk-check sources and the fx/funding files."""
    config = result.config
    found: list[tuple[str, bytes]] = []
    cls = type(result.strategy)
    path = _module_file(cls.__module__)
    found.append(("strategy", path.read_bytes() if path else cls.__qualname__.encode()))
    for check in config.risk.checks:
        module_name = check.path.rpartition(":")[0]
        if is_file_reference(module_name):
            path = plugin_file(module_name, check.base_dir)
        else:
            path = _module_file(module_name)
        found.append(("risk.check", path.read_bytes() if path else check.path.encode()))
    side = [item.path for item in config.fx] + [
        source.funding for source in config.data if source.funding is not None
    ]
    side += [source.path for source in config.news]  # headline files (none: no entry)
    for name in side:
        path = resolve_data_path(name, config.base_dir)
        found.append(("file", path.read_bytes() if path.is_file() else name.encode()))
    for name, path in strategy_files(result.strategy).items():  # none: no entry
        found.append((f"strategy.{name}", path.read_bytes()))
    return found


def strategy_inputs(result: BacktestResult) -> dict[str, dict[str, str]]:
    """Return run.json's ``strategy_files``: each file the strategy read, located and hashed."""
    return {
        name: {
            "source": str(path.resolve()),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for name, path in strategy_files(result.strategy).items()
    }


def news_inputs(config: RunConfig) -> list[dict[str, Any]]:
    """Return run.json's ``news`` entries: each headline file as written, read and hashed."""
    entries = []
    for source in config.news:
        path = resolve_data_path(source.path, config.base_dir)
        entries.append(
            {
                "path": source.path,
                "source": str(path.resolve()),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    return entries


def side_inputs(config: RunConfig) -> dict[str, list[dict[str, Any]]]:
    """Return run.json's ``fx``, ``funding`` and ``risk_checks`` entries (only those present).

    Each names a file the run read besides its bars as written in the config (``path``),
    where it was read (``source``, absolute) and its sha256: ``[[fx]]`` rate files (with
    their ``currency``), ``[[data]] funding`` files (with the ``symbol``) and the files of
    ``[[risk.checks]]`` plugins given as ``"file.py:Class"``. ``runs export --include-data``
    packs them and re-points ``reproduce.toml`` at the copies.
    """

    def entry(file: Path, **fields: str) -> dict[str, Any]:
        return {
            **fields,
            "source": str(file.resolve()),
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        }

    found: dict[str, list[dict[str, Any]]] = {}
    fx = [
        entry(resolve_data_path(item.path, config.base_dir), currency=item.currency, path=item.path)
        for item in config.fx
    ]
    funding = [
        entry(resolve_data_path(rates, config.base_dir), symbol=source.symbol, path=rates)
        for source in config.data
        if (rates := source.funding) is not None
    ]
    checks = []
    for check in config.risk.checks:
        module_name = check.path.rpartition(":")[0]
        file = plugin_file(module_name, check.base_dir) if is_file_reference(module_name) else None
        if file is not None:  # (a run has imported it: it exists)
            checks.append(entry(file, path=check.path))
    for key, items in (("fx", fx), ("funding", funding), ("risk_checks", checks)):
        if items:
            found[key] = items
    return found


def _resolved(source: str) -> str:
    """Return a bar file's path absolute, as the fx, news and funding entries are.

    A relative one is relative to where the backtest ran, which a later report or export
    does not know (audit of the HTML reports, finding 2). Sources that are not files
    (``<synthetic>``, ``<memory>``) stay as they are.
    """
    return source if not source or source.startswith("<") else str(Path(source).resolve())


def inputs_hash(result: BacktestResult) -> str:
    """Return a sha256 over everything that decides the run (see the module docstring)."""
    digest = hashlib.sha256(tomli_w.dumps(dump_config(result.config)).encode())
    for label, content in _code_and_side_files(result):
        # length-prefixed, so that no two different inputs can concatenate alike
        digest.update(f"{label}:{len(content)}:".encode())
        digest.update(content)
    # each column's bytes as ``tobytes()`` gives them, read in place (no copy)
    for frame in result.frames:
        digest.update(frame.symbol.encode())
        for name in ("ts_open_ns", "open", "high", "low", "close", "volume"):
            digest.update(np.ascontiguousarray(getattr(frame, name)).data)
    for ticks in result.tick_frames:
        digest.update(f"{ticks.symbol}:{ticks.kind}".encode())
        digest.update(np.ascontiguousarray(ticks.ts_ns).data)
        for column in ticks.columns.values():
            digest.update(np.ascontiguousarray(column).data)
    return digest.hexdigest()


def new_run_id(name: str, digest: str, now: datetime | None = None) -> str:
    """Return ``YYYYmmddTHHMMSSffffffZ-<name>-<digest[:8]>`` (name made path-safe)."""
    stamp = (now or datetime.now(tz=UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:60] or "run"
    return f"{stamp}-{safe}-{digest[:8]}"


def finish_run(
    result: BacktestResult,
    *,
    out_dir: Path | None,
    store: RunStore | None,
    out_root: Path = DEFAULT_OUT_ROOT,
    force: bool = False,
    plotly: PlotlyLink | None = None,
    trials: int = 1,
) -> tuple[str, Path]:
    """Write the run's artifacts and store its rows; return ``(run_id, folder)``.

    Args:
        result: The finished backtest.
        out_dir: The run folder; None for ``out_root / run_id``.
        store: Where the rows go; None for files only.
        out_root: Where runs go without ``out_dir`` (the CLI passes the project root's
            ``backtests``, see `engine.paths`).
        force: Write into a non-empty ``out_dir`` that is not a previous run's folder.
        plotly: Where ``report.html`` gets plotly.js (`engine.report.assets`); default
            the copy shared in the run folder's parent, ``<runs>/_assets/``.
        trials: Variants tried before this one was picked (a sweep's trial count): the
            report's deflated Sharpe ratio discounts the selection by it.

    Raises:
        OutputPathError: ``out_dir`` is a user's non-empty folder (without ``force``).
        PersistenceError: The store failed (nothing of the run is left behind).
    """
    # orders, fills and trades by column (and the order rows): built once, read by the
    # files, the store and the page; meanwhile another thread hashes the inputs (in
    # hashlib, outside the GIL). The collector is paused: see below.
    with paused_gc(), ThreadPoolExecutor(1, thread_name_prefix="kestrel-hash") as hashing:
        hashed = hashing.submit(inputs_hash, result)
        tables = RunTables.of(result)
        digest = hashed.result()
    created = datetime.now(tz=UTC)
    run_id = new_run_id(result.config.run.name, digest, created)
    folder = out_dir if out_dir is not None else out_root / run_id
    plan = prepare_output(folder, force=force)
    info: dict[str, Any] = {
        "run_id": run_id,
        "created_at": created.isoformat(),
        "elapsed_s": round(result.elapsed_s, 3),
        "inputs_sha256": digest,
        "strategy": strategy_source(result),
        "data": [
            {
                "symbol": f.symbol,
                "source": _resolved(f.source),
                "bars": len(f),
                "warnings": list(f.warnings),
            }
            for f in result.frames
        ],
    }
    if result.config.news:  # only then: runs without news keep their run.json as it was
        info["news"] = news_inputs(result.config)
    info.update(side_inputs(result.config))  # likewise
    files = strategy_inputs(result)
    if files:  # likewise
        info["strategy_files"] = files
    row = _run_row(result, run_id, created, folder)
    if store is not None:
        store.begin_run(row)
    partial: Path | None = None
    try:
        # the rows, cells and pages made here are acyclic: with the collector on, its
        # passes would rescan all that the run keeps (a 1 M-bar run: ~0.2 s more)
        with paused_gc():
            partial = start_partial(plan, run_id)
            folder_files = partial  # (a name mypy knows is not None inside the closures)
            # the page lives in ``folder`` once published, whichever partial it is written in
            link = plotly if plotly is not None else PlotlyLink.for_run(folder)
            _save_concurrently(
                lambda: write_artifacts(result, folder_files, info, tables),
                lambda: render_report(
                    result,
                    folder_files / "report.html",
                    plotly=link,
                    trials=trials,
                    orders=tables.orders,
                    run_info=info,  # not read from run.json: it is being written meanwhile
                ),
                None
                if store is None
                else lambda before_commit: _complete(result, store, row, before_commit, tables),
                lambda: publish(folder_files, plan, run_id),
            )
    except BaseException:  # Ctrl-C too: leave nothing half-done behind
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        remove_run_files(folder, run_id)
        if store is not None:
            with contextlib.suppress(KestrelError):
                store.delete_run(run_id)
        raise
    return run_id, folder


class _AbandonedError(Exception):
    """The run's files failed (or Ctrl-C): the store's transaction must not commit."""


def _save_concurrently(
    write_files: Callable[[], Any],
    write_report: Callable[[], Any],
    store_rows: Callable[[Callable[[], None]], None] | None,
    publish_folder: Callable[[], Any],
) -> None:
    """Write the artifacts, the report and the store's rows at once; publish, then commit.

    The three writers read the finished result and write apart (their own files, the
    store's rows), and spend much of their time outside the GIL: Arrow's casts and CSV
    writer, sqlite3's steps and psycopg's round trips, file writes. On two cores the
    three together take about 2/3 of their sum (issue 13; ``bench_cli.py``). The artifacts
    are written in this thread, so Ctrl-C lands in it. The store's transaction waits
    before its commit for both files, then publishes the folder and commits: the order of
    writes in this module's docstring holds. A failure of either file or Ctrl-C abandons
    the transaction (it rolls back); every thread is joined before this returns or
    raises, so the caller's undo finds nothing still writing. The first failure is raised:
    the artifacts', else the report's, else the store's.
    """
    files_done = threading.Event()  # set once the files succeeded or failed
    abandoned = threading.Event()

    def before_commit() -> None:  # runs in the store's thread, inside its transaction
        files_done.wait()
        if abandoned.is_set():
            raise _AbandonedError
        publish_folder()

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kestrel-save") as pool:
        report = pool.submit(write_report)
        rows = None if store_rows is None else pool.submit(store_rows, before_commit)
        try:
            write_files()
            report.result()
        except BaseException:
            abandoned.set()
            raise
        finally:
            files_done.set()
            wait([job for job in (report, rows) if job is not None])
        if rows is None:
            publish_folder()
        else:
            rows.result()


def _complete(
    result: BacktestResult,
    store: RunStore,
    row: dict[str, Any],
    publish: Callable[[], Any],
    tables: RunTables,
) -> None:
    from engine.persistence.bulk import EquityColumns, TableColumns

    curve = result.equity_curve
    store.complete_run(
        row,
        order_rows=TableColumns(tables.order_columns),
        fill_rows=TableColumns(tables.fill_columns),
        trade_rows=TableColumns(tables.stored_trades()),
        event_rows=result.recorder.event_rows(),
        equity_rows=EquityColumns(  # stored as columnar blocks (`engine.persistence.store`)
            curve.ts, curve.cash, curve.equity, curve.gross_exposure
        ),
        before_commit=publish,
    )


def _run_row(
    result: BacktestResult, run_id: str, created: datetime, folder: Path
) -> dict[str, Any]:
    metrics = result.metrics
    return {
        "run_id": run_id,
        "name": result.config.run.name,
        "strategy": result.config.strategy.path,
        "symbols": ",".join(result.config.symbols),
        "created_at": created.isoformat(),
        "start_ns": metrics["start"],
        "end_ns": metrics["end"],
        "bars": metrics["bars"],  # bar close times stepped, as metrics.json and the summary
        "initial_cash": result.config.account.initial_cash,
        "final_equity": metrics["final_equity"],
        "total_return": metrics["total_return"],
        "sharpe": metrics["sharpe"],
        "max_drawdown": metrics["max_drawdown"],
        "num_trades": metrics["num_trades"],
        "artifacts_dir": str(folder.absolute()),  # delete and gc work from any cwd
        "config_toml": tomli_w.dumps(dump_config(result.config)),
        "metrics_json": json.dumps(metrics, sort_keys=True),
    }
