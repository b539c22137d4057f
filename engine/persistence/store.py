"""`RunStore`: save, list, query, show and delete runs in any SQLAlchemy database.

Concurrency (many ``kestrel backtest`` processes on one store, ``runs list`` while a big
run saves):
- Opening a store creates or migrates its schema (`engine.persistence.schema.migrate`)
  under a lock: ``pg_advisory_xact_lock`` on PostgreSQL, a ``BEGIN IMMEDIATE`` write
  transaction on SQLite. The first process creates the tables, the others wait and then
  see them. A store already at the current version skips the lock (one read).
- SQLite runs in WAL mode (readers never wait for a writer, a writer never waits for
  readers) with a busy timeout of `BUSY_TIMEOUT_S`; write transactions start with
  ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing when one tries
  to upgrade a read lock. A write that still meets "database is locked" (or a PostgreSQL
  deadlock / serialization failure) is retried `RETRIES` times with exponential backoff.
- A run is saved in two short transactions: `begin_run` inserts its ``runs`` row with
  ``status = 'writing'`` before any file is written (so the store knows every folder a run
  writes), and `complete_run` inserts its rows in batches of `BATCH` and sets ``status =
  'complete'`` in one transaction. Queries show complete runs only unless asked.

What the store keeps, and which query needs it: the ``runs`` row (``runs list``, ``--where``,
``--sort``, ``runs show``; metrics and config as JSON/TOML), ``orders``, ``fills``, ``trades``
and ``events`` (``runs export`` and per-run reads through `RunStore.table_rows`), and the
equity curve, one value per bar close, which ``runs compare`` / ``report`` read
(`RunStore.equity_columns`) when the run's folder has moved or been replaced. A backtest's
curve is stored as columnar blocks (``equity_blocks``: 65,536 bars a row, each column the
bytes of its int64 / float64 values — exact, ~32 bytes a bar, a few statements per run);
paper accounts, which grow a snapshot at a time, and runs stored before schema 4 keep one
``equity`` row per bar; `RunStore.table_rows` ("equity") and `RunStore.equity_columns` read
both alike. Plain-column tables are written through the driver's ``executemany`` in
batches of `BATCH` tuples, all of a run in one transaction.

Every message shows the URL with its password masked (`engine.persistence.urls`).
"""

from __future__ import annotations

import difflib
import json
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, delete, event, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from engine.errors import (
    PersistenceError,
    RunLookupError,
    StoreOpenError,
)
from engine.persistence.bulk import (
    EquityColumns,
    TableColumns,
    child_tables,
    decode_blocks,
    insert_children,
    with_block_rows,
    with_row_columns,
)
from engine.persistence.query import (
    OPERATORS,
    check_field,
    created_within,
    field_names,
    field_value,
    matches,
    sort_rows,
)
from engine.persistence.schema import (
    SCHEMA_VERSION,
    equity,
    equity_blocks,
    events,
    fills,
    metadata,
    migrate,
    orders,
    params_json,
    runs,
    schema_version,
    trades,
)
from engine.persistence.urls import check_url, mask_url, scrub

__all__ = [
    "DEFAULT_DB_URL",
    "OPERATORS",
    "RunStore",
    "check_db_url",
    "metadata",
    "resolve_db_url",
    "writer_id",
]

DEFAULT_DB_URL = "sqlite:///backtests/kestrel.db"
BATCH = 50_000
BUSY_TIMEOUT_S = 60.0
RETRIES = 8
_ADVISORY_KEY = 0x4B455354  # "KEST": the schema lock of every Kestrel store on a server
_T = TypeVar("_T")

RUN_SUMMARY_COLUMNS = (
    "run_id",
    "name",
    "strategy",
    "symbols",
    "created_at",
    "bars",
    "final_equity",
    "total_return",
    "sharpe",
    "max_drawdown",
    "num_trades",
)


def resolve_db_url(url: str | None) -> str:
    """Return ``url``, else ``$KESTREL_DB_URL``, else the default SQLite file.

    An empty ``$KESTREL_DB_URL`` counts as unset; an empty ``url`` (``--db ""``) is
    refused: it opened ``backtests/kestrel.db`` below the working directory.

    Raises:
        StoreOpenError: ``url`` is empty or blank.
    """
    if url is not None and not url.strip():
        raise StoreOpenError(
            "--db is empty: give the run store's URL (e.g. sqlite:///backtests/kestrel.db "
            "or postgresql+psycopg://user@host/db), or leave --db out for the project's store"
        )
    return url or os.environ.get("KESTREL_DB_URL") or DEFAULT_DB_URL


def sqlite_file(url: str) -> Path | None:
    """Return the file of an SQLite ``url`` (None: not SQLite, in memory, or not a URL:
    ``…:notaport/x`` raises ValueError in SQLAlchemy, and opening it is one line then)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def writer_id() -> str:
    """Return ``host:pid`` of this process (recorded on a run while it is being written)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RunStore:
    """Save and query runs in any SQLAlchemy database (SQLite and PostgreSQL tested)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_db_url(url)
        self.display_url = mask_url(self.url)
        try:
            check_url(self.url)
            self._sqlite = make_url(self.url).get_backend_name() == "sqlite"
            if self._sqlite:
                database = make_url(self.url).database
                if database and database != ":memory:" and not database.startswith("file:"):
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = _make_engine(self.url, sqlite=self._sqlite)
            self._writer = self.engine.execution_options(kestrel_write=True)
            self._retry(self._ensure_schema)
        except (
            ArgumentError,
            SQLAlchemyError,
            ImportError,
            OSError,
            ValueError,
            RuntimeError,
        ) as e:
            raise StoreOpenError(_open_error(self.url, e)) from None

    def _ensure_schema(self) -> None:
        with self.engine.connect() as conn:  # fast path: one read, no lock
            try:
                if conn.execute(select(schema_version.c.version)).scalar() == SCHEMA_VERSION:
                    return
            except SQLAlchemyError:
                conn.rollback()
        with self._writer.begin() as conn:
            if not self._sqlite and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            migrate(conn)

    def save_run(
        self,
        run: Mapping[str, Any],
        *,
        order_rows: Iterable[Mapping[str, Any]] | TableColumns,
        fill_rows: Iterable[Mapping[str, Any]] | TableColumns,
        trade_rows: Iterable[Mapping[str, Any]] | TableColumns,
        equity_rows: Sequence[Mapping[str, Any]] | EquityColumns,
        event_rows: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Insert one complete run and all its rows in a single transaction.

        ``equity_rows``: `EquityColumns` are stored as blocks, rows one per bar (see module).
        """
        run_id = run["run_id"]
        row = {**run, "status": "complete", "writer": None}
        row["params_json"] = params_json(str(run.get("config_toml", "")))
        tables = child_tables(order_rows, fill_rows, trade_rows, equity_rows, event_rows)

        def write(conn: Connection) -> None:
            conn.execute(runs.insert(), [row])
            insert_children(conn, run_id, tables, BATCH)

        self._write(f"saving run {run_id}", write)

    def begin_run(self, run: Mapping[str, Any]) -> None:
        """Insert a run's row as ``writing`` (hidden from queries) before its files exist."""
        row = {
            **run,
            "status": "writing",
            "writer": writer_id(),
            "params_json": params_json(str(run.get("config_toml", ""))),
        }
        self._write(f"saving run {run['run_id']}", lambda c: c.execute(runs.insert(), [row]))

    def complete_run(
        self,
        run: Mapping[str, Any],
        *,
        order_rows: Iterable[Mapping[str, Any]] | TableColumns,
        fill_rows: Iterable[Mapping[str, Any]] | TableColumns,
        trade_rows: Iterable[Mapping[str, Any]] | TableColumns,
        equity_rows: Sequence[Mapping[str, Any]] | EquityColumns,
        event_rows: Iterable[Mapping[str, Any]] = (),
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Insert a begun run's rows and mark it ``complete``, all in one transaction.

        Args:
            run: The run's row (its values replace the ones `begin_run` stored).
            order_rows: Orders (mappings, or `TableColumns`: the same rows by column);
                likewise ``fill_rows``, ``trade_rows``, ``equity_rows`` (one per bar, or
                `EquityColumns`: stored as blocks) and ``event_rows`` (numbered here, in
                order).
            before_commit: Called inside the transaction after every row is written and
                before it commits (the run folder is published there, so a crash leaves
                either a complete run or a ``writing`` one, never a complete row without
                its folder). If it raises, nothing is committed.
        """
        run_id = run["run_id"]
        tables = child_tables(order_rows, fill_rows, trade_rows, equity_rows, event_rows)
        values = {k: v for k, v in run.items() if k != "run_id"}
        values.update(status="complete", writer=None)
        values["params_json"] = params_json(str(run.get("config_toml", "")))

        def write(conn: Connection) -> None:
            insert_children(conn, run_id, tables, BATCH)
            found = conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))
            if not found.rowcount:
                raise PersistenceError(f"run {run_id} was deleted while it was being saved")
            if before_commit is not None:
                before_commit()

        self._write(f"saving run {run_id}", write)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest complete runs first (summary columns only)."""
        query = (
            select(*(runs.c[name] for name in RUN_SUMMARY_COLUMNS))
            .where(runs.c.status == "complete")
            .order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
            .limit(limit)
        )
        return self._rows(query)

    def query_runs(
        self,
        *,
        strategy: str | None = None,
        symbol: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        conditions: Sequence[tuple[str, str, float]] = (),
        sort: str = "created_at",
        descending: bool = True,
        limit: int | None = 50,
        include_incomplete: bool = False,
        extra: Sequence[dict[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """Return runs matching every filter, sorted, with ``metrics`` and ``params`` decoded.

        Args:
            strategy: Substring of the strategy path (case-insensitive).
            symbol: One of the run's symbols (exact, case-insensitive).
            since_ns: Runs created at or after this instant (ns since the epoch, UTC; the
                CLI parses ``--since`` with `engine.feeds.timeframe.parse_timestamp`).
            until_ns: Runs created before this instant (likewise). ``created_at`` is
                compared as an instant, never as text; a row whose ``created_at`` does not
                parse does not match either filter.
            conditions: ``(field, op, value)`` with op in ``<, <=, >, >=, ==, !=``; a field
                is a ``runs`` column, a metric key, a strategy parameter (``fast`` or
                ``params.fast``) or an alias in `FIELD_ALIASES` (``trades``); a run whose
                value is missing or not a number does not match.
            sort: A field as above: numbers first, then text, then runs without it
                (`engine.persistence.query.sort_rows`).
            descending: Largest first.
            limit: At most this many rows (None: all).
            include_incomplete: Also runs still being written or left by a crash.
            extra: More rows in the decoded shape, filtered and sorted with the stored
                runs (live accounts, `engine.runtime.live.accounts`).

        Raises:
            QueryError: A field no stored run has (with "did you mean").
        """
        query = select(runs)
        if not include_incomplete:
            query = query.where(runs.c.status == "complete")
        all_rows = [_decode(row) for row in self._rows(query)] + list(extra)
        names = [name for name, _, _ in conditions]
        known = field_names(all_rows)
        for name in [*names, sort]:
            check_field(name, known, have_runs=bool(all_rows))
        rows = []
        for row in sorted(all_rows, key=lambda r: (r["created_at"], r["run_id"]), reverse=True):
            if strategy and strategy.lower() not in row["strategy"].lower():
                continue
            if not created_within(row["created_at"], since_ns, until_ns):
                continue
            if symbol and symbol.lower() not in row["symbols"].lower().split(","):
                continue
            if all(matches(field_value(row, name), op, value) for name, op, value in conditions):
                rows.append(row)
        ordered = [dict(row) for row in sort_rows(rows, sort, descending=descending)]
        return ordered if limit is None else ordered[:limit]

    def find_run_ids(self, text: str, *, include_incomplete: bool = False) -> list[str]:
        """Return the run id equal to ``text``, else those starting with it (never a substring).

        An empty or blank ``text`` matches nothing (it would otherwise match every run).
        """
        if not text.strip():
            return []
        ids = self.run_ids(include_incomplete=include_incomplete)
        if text in ids:
            return [text]
        return sorted(run_id for run_id in ids if run_id.startswith(text))

    def resolve_id(self, text: str) -> str:
        """Return the one run id ``text`` names: the id itself or its unique beginning.

        Every command that names a run (``runs show|compare|export|delete``, ``report``)
        takes the same: never a substring from the middle (README, "Run folders").

        Raises:
            RunLookupError: ``text`` is blank, names no run, or begins several (listed).
        """
        if not text.strip():
            raise RunLookupError("an empty run id names no run; see `kestrel runs list`")
        matches = self.find_run_ids(text)
        if not matches:  # a mistyped id: name the closest one, if any is close
            ids = self.run_ids()
            inside = sorted(run_id for run_id in ids if text in run_id)
            close = difflib.get_close_matches(text, ids, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if inside:  # a piece from the middle: say what is taken instead
                hint = f" ({inside[0]!r} holds it, but give the run id or its beginning)"
            if text.startswith("live-"):  # `runs list` shows live accounts as live-<account>
                hint += (
                    " (a live account is not a run: `kestrel runs show` and "
                    "`kestrel live-report CONFIG --account NAME` take it)"
                )
            raise RunLookupError(
                f"no run {text!r} in {self.display_url}{hint}; see `kestrel runs list`"
            )
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (
                f" and {len(matches) - 5} more" if len(matches) > 5 else ""
            )
            raise RunLookupError(
                f"{text!r} matches {len(matches)} runs: {shown}; give more of the id"
            )
        return matches[0]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return one run's row with ``metrics`` and ``params`` decoded, or None."""
        rows = self._rows(select(runs).where(runs.c.run_id == run_id))
        return _decode(rows[0], keep_config=True) if rows else None

    def run_ids(self, *, include_incomplete: bool = False) -> list[str]:
        """Return every complete run id (and incomplete ones if asked)."""
        query = select(runs.c.run_id)
        if not include_incomplete:
            query = query.where(runs.c.status == "complete")
        return [row["run_id"] for row in self._rows(query)]

    def incomplete_runs(self) -> list[dict[str, Any]]:
        """Return runs whose saving never finished: run id, writer, folder, creation time."""
        query = select(runs.c.run_id, runs.c.writer, runs.c.artifacts_dir, runs.c.created_at).where(
            runs.c.status != "complete"
        )
        return self._rows(query.order_by(runs.c.created_at, runs.c.run_id))

    def table_rows(self, table_name: str, run_id: str) -> list[dict[str, Any]]:
        """Return a run's rows of ``orders``/``fills``/``trades``/``equity`` in key order.

        ``equity`` rows include those of the run's stored blocks, as one row per bar.
        """
        table = metadata.tables[table_name]
        keys = [c for c in table.primary_key.columns if c.name != "run_id"]
        rows = self._rows(select(table).where(table.c.run_id == run_id).order_by(*keys))
        if table is not equity:
            return rows
        return with_block_rows(rows, run_id, self._equity_blocks(run_id))

    def equity_columns(self, run_id: str) -> EquityColumns:
        """Return a run's equity curve as columns, in time order (empty if none is stored)."""
        query = select(equity).where(equity.c.run_id == run_id).order_by(equity.c.ts_event)
        return with_row_columns(self._equity_blocks(run_id), self._rows(query))

    def _equity_blocks(self, run_id: str) -> EquityColumns:
        query = select(equity_blocks).where(equity_blocks.c.run_id == run_id)
        try:
            return decode_blocks(self._rows(query.order_by(equity_blocks.c.block)))
        except ValueError as exc:
            raise PersistenceError(f"reading {self.display_url} failed: {exc}") from None

    def mark_deleting(self, run_id: str) -> None:
        """Hide a run as ``deleting`` (by this process) before its files are removed.

        A crash between removing the files and `delete_run` then leaves a hidden run that
        ``kestrel runs gc`` finishes deleting, never a listed run whose files are gone.
        """
        change = update(runs).where(runs.c.run_id == run_id)
        change = change.values(status="deleting", writer=writer_id())
        self._write(f"deleting run {run_id}", lambda c: c.execute(change))

    def delete_run(self, run_id: str) -> bool:
        """Delete a run and its rows; return False if it did not exist."""

        def remove(conn: Connection) -> bool:
            for table in (orders, fills, trades, equity, equity_blocks, events):
                conn.execute(delete(table).where(table.c.run_id == run_id))
            return bool(conn.execute(delete(runs).where(runs.c.run_id == run_id)).rowcount)

        return self._write(f"deleting run {run_id}", remove)

    def ensure_tables(self, *tables: Table) -> None:
        """Create any of ``tables`` the database lacks, under the schema lock (idempotent).

        For table sets a store may have been migrated past without (a sweep's tables, when
        another branch's release numbered its own tables with the same schema version):
        one read when they exist, else a locked ``CREATE TABLE`` of the missing ones.
        """

        def missing() -> list[Table]:
            with self.engine.connect() as conn:
                names = set(inspect(conn).get_table_names())
            return [table for table in tables if table.name not in names]

        if not self._retry(missing):
            return

        def create(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            for table in tables:
                table.create(conn, checkfirst=True)

        self._write(f"creating tables in {self.display_url}", create)

    def transact(self, what: str, work: Callable[[Connection], _T]) -> _T:
        """Run ``work(conn)`` in one write transaction (retried while busy); return its result.

        For the store's other writers (the paper journal, `engine.runtime.paper.journal`): the same
        locking, retries and one-line `PersistenceError` (``what`` failed: ...) as runs get.
        """
        return self._write(what, work)

    def read(self, query: Any) -> list[dict[str, Any]]:
        """Return the rows of a SQLAlchemy ``query`` as dicts (retried while busy)."""
        return self._rows(query)

    def _write(self, what: str, work: Callable[[Connection], _T]) -> _T:
        def attempt() -> _T:
            with self._writer.begin() as conn:
                return work(conn)

        try:
            return self._retry(attempt)
        except SQLAlchemyError as exc:
            raise self._error(f"{what} failed", exc) from None

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(query)]

        try:
            return self._retry(read)
        except SQLAlchemyError as exc:
            raise self._error(f"reading {self.display_url} failed", exc) from None

    def _retry(self, work: Callable[[], _T]) -> _T:
        """Run ``work``; retry it with backoff while the database says it is busy."""
        for attempt in range(RETRIES + 1):
            try:
                return work()
            except OperationalError as exc:
                if attempt == RETRIES or not _transient(exc):
                    raise
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _error(self, what: str, exc: BaseException) -> PersistenceError:
        """Return a `PersistenceError` for ``exc`` with the URL's password masked."""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return PersistenceError(scrub(f"{what}: {first}", self.url))


def _make_engine(url: str, *, sqlite: bool) -> Engine:
    if not sqlite:
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy then leaves BEGIN to the "begin" hook below (pysqlite's own would be
        # a deferred BEGIN, which fails at once instead of waiting when it must upgrade).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")  # persistent; readers never block
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("kestrel_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _transient(exc: OperationalError) -> bool:
    message = str(exc).lower()
    return any(
        text in message
        for text in (
            "database is locked",
            "database is busy",
            "deadlock detected",
            "could not serialize",
        )
    )


def _decode(row: dict[str, Any], *, keep_config: bool = False) -> dict[str, Any]:
    row["metrics"] = json.loads(row.pop("metrics_json"))
    raw = row.pop("params_json", None)
    row["params"] = json.loads(raw) if raw else json.loads(params_json(row["config_toml"]))
    if not keep_config:
        row.pop("config_toml", None)
    return row


def check_db_url(url: str | None) -> str:
    """Return the resolved store URL once it parses and its driver imports.

    Nothing is created or connected (no SQLite file, no folder): the CLI calls this before
    a backtest so a bad ``--db`` fails at once, and opens the store only after the run.

    Raises:
        StoreOpenError: The URL is malformed or names a driver that is not installed (a
            `PersistenceError` that is input to fix: exit code 2).
    """
    resolved = resolve_db_url(url)
    try:
        check_url(resolved)
        create_engine(resolved).dispose()
    except (ArgumentError, SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreOpenError(_open_error(resolved, exc)) from None
    return resolved


def _open_error(url: str, exc: BaseException) -> str:
    """Return the one-line reason a store cannot be opened (password masked), with the fix."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = f"cannot open run store {mask_url(url)!r}: {first}"
    if "://" not in url:  # a bare path (not taken as one: it may be a URL mistyped)
        text += f"; a SQLite file is named by a URL: --db sqlite:///{url}"
    if isinstance(exc, ImportError) and url.startswith("postgresql"):
        # A plain postgresql:// URL means psycopg2 to SQLAlchemy; the extra installs psycopg 3.
        text += (
            "; the PostgreSQL driver is missing: pip install 'kestrel[postgres]' and use a "
            "postgresql+psycopg://user@host:5432/db URL"
        )
    return scrub(text, url)
