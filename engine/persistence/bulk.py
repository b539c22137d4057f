"""Bulk inserts of a run's child rows (orders, fills, trades, equity, events).

In: a connection, the run id, (table, rows) pairs and a batch size (`engine.persistence.store`
passes its ``BATCH``). Out: the rows inserted, in batches, inside the caller's transaction.
Tables of plain columns go straight to the driver's ``executemany`` as tuples; the rest take
SQLAlchemy Core's insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Float, Integer, String
from sqlalchemy.engine import Connection

from engine.persistence.schema import equity, events, fills, orders, trades

__all__ = ["Rows", "child_tables", "insert_children"]

Rows = list[tuple[Any, Sequence[Mapping[str, Any]]]]


def child_tables(
    order_rows: Iterable[Mapping[str, Any]],
    fill_rows: Iterable[Mapping[str, Any]],
    trade_rows: Iterable[Mapping[str, Any]],
    equity_rows: Iterable[Mapping[str, Any]],
    event_rows: Iterable[Mapping[str, Any]],
) -> Rows:
    """Return (table, rows) pairs, lists made once so that a retried transaction reuses them."""
    return [
        (orders, list(order_rows)),
        (fills, list(fill_rows)),
        (trades, list(trade_rows)),
        # a Sequence stays as it is: the caller may make its rows a batch at a time
        (equity, equity_rows if isinstance(equity_rows, Sequence) else list(equity_rows)),
        (events, [{**row, "seq": i} for i, row in enumerate(event_rows)]),
    ]


def insert_children(conn: Connection, run_id: str, tables: Rows, batch_size: int) -> None:
    """Insert a run's rows in batches of ``batch_size`` (lists made once; retries reuse them).

    Tables of plain columns (text, integers, floats: ``equity``, ``fills``, …) go to the
    driver's ``executemany`` as tuples, without SQLAlchemy's per-row parameter processing
    (1 M equity rows: seconds, not tens of seconds); others take the Core path.
    """
    for table, rows in tables:
        if not rows:
            continue
        if all(isinstance(c.type, _PLAIN_TYPES) for c in table.columns):
            _insert_plain(conn, table, run_id, rows, batch_size)
            continue
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            conn.execute(table.insert(), [{**row, "run_id": run_id} for row in batch])


_PLAIN_TYPES = (String, Float, Integer)  # Text and BigInteger are subclasses


def _insert_plain(
    conn: Connection,
    table: Any,
    run_id: str,
    rows: Sequence[Mapping[str, Any]],
    batch_size: int,
) -> None:
    keys = ["run_id", *(k for k in rows[0] if k != "run_id")]
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    sql = str(compiled)
    if compiled.positional:
        order = list(compiled.positiontup or ())
        for start in range(0, len(rows), batch_size):
            params: list[Any] = [
                tuple(run_id if k == "run_id" else row[k] for k in order)
                for row in rows[start : start + batch_size]
            ]
            conn.exec_driver_sql(sql, params)
    else:
        for start in range(0, len(rows), batch_size):
            batch = [{**row, "run_id": run_id} for row in rows[start : start + batch_size]]
            conn.exec_driver_sql(sql, batch)
