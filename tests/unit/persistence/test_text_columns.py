"""No stored value is lost for its length: every string column is unbounded, on both backends.

PostgreSQL enforces ``VARCHAR(n)``, SQLite ignores it: a run over 120 symbols
(``runs.symbols`` of 1,559 characters > ``VARCHAR(1000)``) or named with 250 characters was
stored in SQLite and, on PostgreSQL, failed after the whole backtest ("value too long for
type character varying(1000)"), nothing kept. Version 17 makes every string column ``TEXT``
and upgrades a version-16 store in place, its rows kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import String, create_engine, inspect, select, text

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from tests.unit.persistence.test_persistence_store import fill_row, order_row, run_row, trade_row

HERE = Path(__file__).parent
LONG_SYMBOLS = ",".join(f"SYM{i:03d}/USDT" for i in range(130))  # 1,559 characters
LONG_NAME = "n" * 250


def test_no_string_column_has_a_length() -> None:
    bounded = [
        f"{table.name}.{column.name} {column.type}"
        for table in schema_module.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    ]
    assert bounded == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kestrel.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres")


def _long_run(run_id: str) -> dict[str, object]:
    return {**run_row(run_id, "2030-01-01T00:00:00+00:00"), "symbols": LONG_SYMBOLS,
            "name": LONG_NAME, "strategy": "./" + "s" * 400 + ".py:S"}  # fmt: skip


def test_a_run_of_any_length_is_stored(url: str) -> None:
    store = RunStore(url)
    long_symbol = "X" * 300 + "/USDT"
    store.save_run(
        _long_run("long-run"),
        order_rows=[
            {
                **order_row("S1-000001"),
                "symbol": long_symbol,
                "tag": "t" * 500,
                "check": "c" * 100,
                "strategy_id": "s" * 100,
            }
        ],
        fill_rows=[{**fill_row("F-0000001"), "symbol": long_symbol}],
        trade_rows=[{**trade_row(0), "symbol": long_symbol}],
        equity_rows=[],
    )
    run = store.get_run("long-run")
    assert run is not None
    assert (run["symbols"], run["name"]) == (LONG_SYMBOLS, LONG_NAME)
    assert store.table_rows("orders", "long-run")[0]["tag"] == "t" * 500
    store.engine.dispose()


def test_a_version_16_store_is_upgraded_with_its_rows(url: str) -> None:
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    lines = (HERE / "schema_v16.sql").read_text().splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    if backend == "sqlite":
        ddl = ddl.replace("BYTEA", "BLOB")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO schema_version (id, version) VALUES (1, 16)"))
        conn.execute(schema_module.runs.insert(), [run_row("old-run", "2025-01-01T00:00:00+00:00")])
        conn.execute(
            schema_module.orders.insert(), [{**order_row("S1-000001"), "run_id": "old-run"}]
        )
    engine.dispose()
    store = RunStore(url)
    with store.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        runs_columns = {c["name"]: c["type"] for c in inspect(conn).get_columns("runs")}
    assert version == schema_module.SCHEMA_VERSION == 17
    if backend == "postgresql":  # SQLite never enforced a length: nothing to change there
        assert getattr(runs_columns["symbols"], "length", None) is None
    old = store.get_run("old-run")
    assert old is not None
    assert old["symbols"] == "BTC/USDT,ETH/USDT"
    assert [r["order_id"] for r in store.table_rows("orders", "old-run")] == ["S1-000001"]
    store.save_run(_long_run("long-run"), order_rows=[], fill_rows=[], trade_rows=[],
                   equity_rows=[])  # fmt: skip
    assert sorted(store.run_ids()) == ["long-run", "old-run"]
    store.engine.dispose()
