"""Bulk inserts of a run's child rows (orders, fills, trades, equity, events).

In: a connection, the run id, (table, rows) pairs and a batch size (`engine.persistence.store`
passes its ``BATCH``). Out: the rows inserted, in batches, inside the caller's transaction.
Rows come as mappings, or by column as `TableColumns` (what a backtest's artifacts hold:
`engine.report.artifacts.RunTables`). Tables of plain columns go straight to the driver's
``executemany`` as tuples (from columns, zipped in C); the rest take SQLAlchemy Core's
insert. A backtest's equity curve comes as `EquityColumns` and goes to
``equity_blocks`` (`encode_blocks`), a block of `EQUITY_BLOCK_ROWS` bars per row, encoded one
block at a time; `decode_blocks` turns the stored blocks back into the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Float, Integer, String
from sqlalchemy.engine import Connection

from engine.persistence.schema import (
    EQUITY_BLOCK_ROWS,
    equity,
    equity_blocks,
    events,
    fills,
    orders,
    trades,
)

if TYPE_CHECKING:  # numpy loads when a curve is encoded or decoded, not with the store
    import numpy as np

__all__ = [
    "EquityColumns",
    "Rows",
    "TableColumns",
    "child_tables",
    "decode_blocks",
    "encode_blocks",
    "insert_children",
    "with_block_rows",
    "with_row_columns",
]

Rows = list[tuple[Any, "Sequence[Mapping[str, Any]] | EquityColumns | TableColumns"]]

# Stored byte order and widths, whatever the machine: the blocks are portable.
_INT = "<i8"
_FLOAT = "<f8"
_FLOAT_COLUMNS = ("cash", "equity", "gross_exposure")


class EquityColumns(NamedTuple):
    """An equity curve by column: ts_event (int64 ns) and float64 cash/equity/exposure."""

    ts_event: np.ndarray
    cash: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray


@dataclass(frozen=True)
class TableColumns:
    """A table's rows by column: each column name to its values, all of one length."""

    columns: Mapping[str, Sequence[Any]]

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(next(iter(self.columns.values()), ()))

    def rows(self) -> list[dict[str, Any]]:
        """Return the rows as mappings."""
        names = list(self.columns)
        return [
            dict(zip(names, values, strict=True))
            for values in zip(*self.columns.values(), strict=True)
        ]


def encode_blocks(curve: EquityColumns) -> Iterator[dict[str, Any]]:
    """Yield the ``equity_blocks`` rows of ``curve`` (without ``run_id``), block by block."""
    import numpy as np

    def raw(values: np.ndarray, dtype: str) -> memoryview:
        # the values' bytes in place (a view: no copy of a block's ~2 MB), as tobytes() has them
        return np.ascontiguousarray(values, dtype=dtype).data.cast("B")

    for block, start in enumerate(range(0, len(curve.ts_event), EQUITY_BLOCK_ROWS)):
        end = start + EQUITY_BLOCK_ROWS
        row: dict[str, Any] = {
            "block": block,
            "rows": len(curve.ts_event[start:end]),
            "ts_event": raw(curve.ts_event[start:end], _INT),
        }
        for name in _FLOAT_COLUMNS:
            row[name] = raw(getattr(curve, name)[start:end], _FLOAT)
        yield row


def decode_blocks(rows: Sequence[Mapping[str, Any]]) -> EquityColumns:
    """Return the columns of stored ``equity_blocks`` rows (in ``block`` order).

    Raises:
        ValueError: A block's bytes do not hold its ``rows`` values (a damaged store).
    """
    import numpy as np

    columns: dict[str, list[np.ndarray]] = {name: [] for name in EquityColumns._fields}
    for row in rows:
        for name in EquityColumns._fields:
            values = np.frombuffer(bytes(row[name]), dtype=_INT if name == "ts_event" else _FLOAT)
            if values.size != row["rows"]:
                raise ValueError(
                    f"equity block {row['block']} holds {values.size} {name} values, "
                    f"not {row['rows']}"
                )
            columns[name].append(values)
    return EquityColumns(
        *(
            np.concatenate(parts).astype(np.int64 if name == "ts_event" else np.float64)
            if parts
            else np.empty(0, dtype=np.int64 if name == "ts_event" else np.float64)
            for name, parts in columns.items()
        )
    )


def with_block_rows(
    rows: list[dict[str, Any]], run_id: str, curve: EquityColumns
) -> list[dict[str, Any]]:
    """Return ``equity`` table rows plus the rows of a run's decoded blocks, by time."""
    names = ("run_id", *EquityColumns._fields)
    columns = (column.tolist() for column in curve)
    blocks = [dict(zip(names, (run_id, *row), strict=True)) for row in zip(*columns, strict=True)]
    if not rows:
        return blocks
    return sorted(rows + blocks, key=lambda row: row["ts_event"])


def with_row_columns(curve: EquityColumns, rows: Sequence[Mapping[str, Any]]) -> EquityColumns:
    """Return a run's decoded blocks plus its ``equity`` table rows, as columns by time."""
    import numpy as np

    if not rows:
        return curve
    merged = [
        np.concatenate((np.array([r[name] for r in rows]), old)).astype(old.dtype)
        for name, old in zip(EquityColumns._fields, curve, strict=True)
    ]
    order = np.argsort(merged[0], kind="stable")
    return EquityColumns(*(column[order] for column in merged))


def child_tables(
    order_rows: Iterable[Mapping[str, Any]] | TableColumns,
    fill_rows: Iterable[Mapping[str, Any]] | TableColumns,
    trade_rows: Iterable[Mapping[str, Any]] | TableColumns,
    equity_rows: Iterable[Mapping[str, Any]] | EquityColumns,
    event_rows: Iterable[Mapping[str, Any]],
) -> Rows:
    """Return (table, rows) pairs, lists made once so that a retried transaction reuses them.

    `EquityColumns` go to ``equity_blocks`` (encoded while inserted); rows to ``equity``.
    `TableColumns` stay columns (zipped into rows as they are inserted).
    """
    curve: tuple[Any, Any]
    if isinstance(equity_rows, EquityColumns):
        curve = (equity_blocks, equity_rows)
    else:  # a Sequence stays as it is: the caller may make its rows a batch at a time
        curve = (equity, equity_rows if isinstance(equity_rows, Sequence) else list(equity_rows))

    def rows(given: Iterable[Mapping[str, Any]] | TableColumns) -> Any:
        return given if isinstance(given, TableColumns) else list(given)

    # the curve first: its blocks are written by SQLite outside the GIL, while a backtest's
    # files and page are formatted in Python in other threads (`engine.runtime.runs`)
    return [
        curve,
        (orders, rows(order_rows)),
        (fills, rows(fill_rows)),
        (trades, rows(trade_rows)),
        (events, [{**row, "seq": i} for i, row in enumerate(event_rows)]),
    ]


def insert_children(conn: Connection, run_id: str, tables: Rows, batch_size: int) -> None:
    """Insert a run's rows in batches of ``batch_size`` (lists made once; retries reuse them).

    Tables of plain columns (text, integers, floats: ``equity``, ``fills``, …) go to the
    driver's ``executemany`` as tuples, without SQLAlchemy's per-row parameter processing
    (1 M equity rows: seconds, not tens of seconds); others take the Core path.
    """
    for table, rows in tables:
        if isinstance(rows, EquityColumns):  # one block (~2 MB) encoded and sent at a time
            for block in encode_blocks(rows):
                conn.execute(table.insert(), [{**block, "run_id": run_id}])
            continue
        if not len(rows):
            continue
        plain = all(isinstance(c.type, _PLAIN_TYPES) for c in table.columns)
        if isinstance(rows, TableColumns):
            if plain:
                _insert_columns(conn, table, run_id, rows.columns, batch_size)
                continue
            rows = rows.rows()
        if plain:
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
        at = order.index("run_id")
        # one C-level itemgetter call per row, run_id spliced in at its position
        get = itemgetter(*(k for k in order if k != "run_id"))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            values = map(get, batch) if len(order) > 2 else ((get(row),) for row in batch)
            params: list[Any] = [(*v[:at], run_id, *v[at:]) for v in values]
            conn.exec_driver_sql(sql, params)
    else:
        for start in range(0, len(rows), batch_size):
            batch = [{**row, "run_id": run_id} for row in rows[start : start + batch_size]]
            conn.exec_driver_sql(sql, batch)


def _insert_columns(
    conn: Connection,
    table: Any,
    run_id: str,
    columns: Mapping[str, Sequence[Any]],
    batch_size: int,
) -> None:
    """`_insert_plain` of rows given by column: each row's tuple made by ``zip``, in C."""
    keys = ["run_id", *(k for k in columns if k != "run_id")]
    if len({len(columns[k]) for k in keys[1:]}) > 1:
        raise ValueError(f"{table.name}: columns of different lengths")
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    sql = str(compiled)
    order = list(compiled.positiontup or ()) if compiled.positional else keys
    # run_id repeats for as long as the columns last (they are of one length: checked)
    values = zip(*(repeat(run_id) if k == "run_id" else columns[k] for k in order), strict=False)
    rows: Iterator[Any] = (
        values if compiled.positional else (dict(zip(keys, row, strict=True)) for row in values)
    )
    while batch := list(islice(rows, batch_size)):
        conn.exec_driver_sql(sql, batch)
