"""SQLAlchemy Core tables and `RunStore` (save, list, query, show, delete runs).

Tables (``run_id`` ties them together; deleting a run deletes its rows):
``runs`` (one row per run: identity, config, headline metrics, metrics JSON),
``orders``, ``fills``, ``trades``, ``equity`` (one row per bar timestamp), ``events``
(account and risk events: borrow fees, funding, margin calls, liquidations, trading-state
changes).
Rows are written in one transaction per run: a failed save leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from engine.errors import PersistenceError

__all__ = [
    "DEFAULT_DB_URL",
    "OPERATORS",
    "RunStore",
    "check_db_url",
    "metadata",
    "resolve_db_url",
]

DEFAULT_DB_URL = "sqlite:///backtests/kestrel.db"
BATCH = 50_000

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(96), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("strategy", String(300), nullable=False),
    Column("symbols", String(1000), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("start_ns", BigInteger),
    Column("end_ns", BigInteger),
    Column("bars", Integer, nullable=False),
    Column("initial_cash", Float, nullable=False),
    Column("final_equity", Float, nullable=False),
    Column("total_return", Float, nullable=False),
    Column("sharpe", Float),
    Column("max_drawdown", Float),
    Column("num_trades", Integer, nullable=False),
    Column("artifacts_dir", String(1000)),
    Column("config_toml", Text, nullable=False),
    Column("metrics_json", Text, nullable=False),
)


def _child(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        metadata,
        Column(
            "run_id",
            String(96),
            ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        *columns,
    )


orders = _child(
    "orders",
    Column("order_id", String(64), primary_key=True),
    Column("strategy_id", String(64)),
    Column("symbol", String(64)),
    Column("side", String(8)),
    Column("order_type", String(16)),
    Column("quantity", Float),
    Column("limit_price", Float),
    Column("stop_price", Float),
    Column("time_in_force", String(8)),
    Column("status", String(24)),
    Column("filled_quantity", Float),
    Column("average_fill_price", Float),
    Column("fees", Float),
    Column("ts_requested", BigInteger),
    Column("ts_last", BigInteger),
    Column("check", String(64)),
    Column("reason", Text),
    Column("tag", String(200)),
)
fills = _child(
    "fills",
    Column("fill_id", String(32), primary_key=True),
    Column("order_id", String(64)),
    Column("symbol", String(64)),
    Column("side", String(8)),
    Column("quantity", Float),
    Column("price", Float),
    Column("fee", Float),
    Column("liquidity", String(8)),
    Column("ts_event", BigInteger),
)
trades = _child(
    "trades",
    Column("trade_id", Integer, primary_key=True, autoincrement=False),
    Column("symbol", String(64)),
    Column("side", String(8)),
    Column("entry_time", BigInteger),
    Column("exit_time", BigInteger),
    Column("quantity", Float),
    Column("entry_price", Float),
    Column("exit_price", Float),
    Column("gross_pnl", Float),
    Column("fees", Float),
    Column("net_pnl", Float),
    Column("return_pct", Float),
)
events = _child(
    "events",
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts_event", BigInteger),
    Column("kind", String(32)),
    Column("symbol", String(200)),
    Column("amount", Float),
    Column("detail", Text),
)
equity = _child(
    "equity",
    Column("ts_event", BigInteger, primary_key=True, autoincrement=False),
    Column("cash", Float),
    Column("equity", Float),
    Column("gross_exposure", Float),
)

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
    """Return ``url``, else ``$KESTREL_DB_URL``, else the default SQLite file."""
    return url or os.environ.get("KESTREL_DB_URL") or DEFAULT_DB_URL


class RunStore:
    """Save and query runs in any SQLAlchemy database."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_db_url(url)
        try:
            if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:////:"):
                path = self.url.removeprefix("sqlite:///")
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url)
            metadata.create_all(self.engine)
        except (ArgumentError, SQLAlchemyError, ModuleNotFoundError, OSError) as exc:
            raise PersistenceError(_open_error(self.url, exc)) from exc

    def save_run(
        self,
        run: Mapping[str, Any],
        *,
        order_rows: Iterable[Mapping[str, Any]],
        fill_rows: Iterable[Mapping[str, Any]],
        trade_rows: Iterable[Mapping[str, Any]],
        equity_rows: Sequence[Mapping[str, Any]],
        event_rows: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Insert one run and all its rows in a single transaction."""
        run_id = run["run_id"]
        try:
            with self.engine.begin() as conn:
                conn.execute(runs.insert(), [dict(run)])
                for table, rows in (
                    (orders, order_rows),
                    (fills, fill_rows),
                    (trades, trade_rows),
                    (equity, equity_rows),
                    (events, [{**row, "seq": i} for i, row in enumerate(event_rows)]),
                ):
                    _insert(conn, table, [{**row, "run_id": run_id} for row in rows])
        except SQLAlchemyError as exc:
            raise PersistenceError(f"saving run {run_id} failed: {_first_line(exc)}") from exc

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest runs first (summary columns only)."""
        query = (
            select(*(runs.c[name] for name in RUN_SUMMARY_COLUMNS))
            .order_by(runs.c.created_at.desc(), runs.c.run_id.desc())
            .limit(limit)
        )
        return self._rows(query)

    def query_runs(
        self,
        *,
        strategy: str | None = None,
        symbol: str | None = None,
        since: str | None = None,
        until: str | None = None,
        conditions: Sequence[tuple[str, str, float]] = (),
        sort: str = "created_at",
        descending: bool = True,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Return runs matching every filter, sorted, with ``metrics`` decoded.

        Args:
            strategy: Substring of the strategy path (case-insensitive).
            symbol: One of the run's symbols (exact, case-insensitive).
            since: Runs created on or after this ISO date/time (UTC).
            until: Runs created before this ISO date/time (UTC).
            conditions: ``(metric, op, value)`` with op in ``<, <=, >, >=, ==, !=``; a
                metric is a ``runs`` column or any key of the run's metrics; a run whose
                metric is missing or null does not match.
            sort: A ``runs`` column or metric key; runs without it sort last.
            descending: Largest first.
            limit: At most this many rows (None: all).
        """
        query = select(runs)
        if strategy:
            query = query.where(runs.c.strategy.ilike(f"%{strategy}%"))
        if since:
            query = query.where(runs.c.created_at >= since)
        if until:
            query = query.where(runs.c.created_at < until)
        rows = []
        for row in self._rows(query.order_by(runs.c.created_at.desc(), runs.c.run_id.desc())):
            row["metrics"] = json.loads(row.pop("metrics_json"))
            row.pop("config_toml", None)
            if symbol and symbol.lower() not in row["symbols"].lower().split(","):
                continue
            if all(_matches(_value(row, name), op, value) for name, op, value in conditions):
                rows.append(row)
        present = [r for r in rows if isinstance(_value(r, sort), int | float | str)]
        missing = [r for r in rows if not isinstance(_value(r, sort), int | float | str)]
        present.sort(key=lambda r: _value(r, sort), reverse=descending)
        ordered = present + missing
        return ordered if limit is None else ordered[:limit]

    def find_run_ids(self, text: str) -> list[str]:
        """Return run ids equal to ``text``, else starting with it, else containing it."""
        ids = self.run_ids()
        for test in (str.__eq__, str.startswith, str.__contains__):
            found = sorted(run_id for run_id in ids if test(run_id, text))
            if found:
                return found
        return []

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return one run's row with ``metrics`` decoded, or None if there is no such run."""
        rows = self._rows(select(runs).where(runs.c.run_id == run_id))
        if not rows:
            return None
        row = rows[0]
        row["metrics"] = json.loads(row.pop("metrics_json"))
        return row

    def run_ids(self) -> list[str]:
        """Return every stored run id."""
        return [row["run_id"] for row in self._rows(select(runs.c.run_id))]

    def table_rows(self, table_name: str, run_id: str) -> list[dict[str, Any]]:
        """Return a run's rows of ``orders``/``fills``/``trades``/``equity`` in key order."""
        table = metadata.tables[table_name]
        keys = [c for c in table.primary_key.columns if c.name != "run_id"]
        return self._rows(select(table).where(table.c.run_id == run_id).order_by(*keys))

    def delete_run(self, run_id: str) -> bool:
        """Delete a run and its rows; return False if it did not exist."""
        try:
            with self.engine.begin() as conn:
                for table in (orders, fills, trades, equity, events):
                    conn.execute(delete(table).where(table.c.run_id == run_id))
                result = conn.execute(delete(runs).where(runs.c.run_id == run_id))
                return bool(result.rowcount)
        except SQLAlchemyError as exc:
            raise PersistenceError(f"deleting run {run_id} failed: {_first_line(exc)}") from exc

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise PersistenceError(f"reading {self.url!r} failed: {_first_line(exc)}") from exc


_OPERATORS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
OPERATORS = tuple(_OPERATORS)


def _value(row: Mapping[str, Any], name: str) -> Any:
    value = row[name] if name in row and name != "metrics" else row["metrics"].get(name)
    return value if not isinstance(value, bool) else int(value)


def _matches(actual: Any, op: str, expected: float) -> bool:
    if not isinstance(actual, int | float):
        return False
    return bool(_OPERATORS[op](actual, expected))


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])


def check_db_url(url: str | None) -> str:
    """Return the resolved store URL once it parses and its driver imports.

    Nothing is created or connected (no SQLite file, no folder): the CLI calls this before
    a backtest so a bad ``--db`` fails at once, and opens the store only after the run.

    Raises:
        PersistenceError: The URL is malformed or names a driver that is not installed.
    """
    resolved = resolve_db_url(url)
    try:
        create_engine(resolved).dispose()
    except (ArgumentError, SQLAlchemyError, ModuleNotFoundError) as exc:
        raise PersistenceError(_open_error(resolved, exc)) from exc
    return resolved


def _open_error(url: str, exc: BaseException) -> str:
    """Return the one-line reason a store cannot be opened, with the fix when it is known."""
    text = f"cannot open run store {url!r}: {_first_line(exc)}"
    if isinstance(exc, ModuleNotFoundError) and url.startswith("postgresql"):
        # A plain postgresql:// URL means psycopg2 to SQLAlchemy; the extra installs psycopg 3.
        text += (
            "; the PostgreSQL driver is missing: pip install 'kestrel[postgres]' and use a "
            "postgresql+psycopg://user@host:5432/db URL"
        )
    return text


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
