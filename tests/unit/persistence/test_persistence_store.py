"""RunStore on a SQLite file and on PostgreSQL: save, list, get, delete, atomic saves.

The tables have fixed names and the PostgreSQL database is shared, so every run id made
here is unique to this test session and deleted again at teardown; assertions look only
at this session's runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from engine.errors import PersistenceError
from engine.persistence import DEFAULT_DB_URL, RunStore, resolve_db_url
from engine.persistence import bulk as bulk_module
from engine.persistence import store as store_module
from engine.persistence.bulk import EquityColumns, TableColumns
from engine.persistence.schema import equity_blocks

SESSION = uuid.uuid4().hex[:10]
TS = 1_609_459_200_000_000_000  # 2021-01-01 in ns: needs a 64-bit column


class Runs:
    """A store plus the ids this test created (deleted at teardown)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.ids: list[str] = []

    def new_id(self, label: str) -> str:
        run_id = f"unit-{SESSION}-{label}-{len(self.ids)}"
        self.ids.append(run_id)
        return run_id

    def save(self, run_id: str, created_at: str = "2030-01-01T00:00:00+00:00", **rows: Any) -> None:
        self.store.save_run(
            run_row(run_id, created_at),
            order_rows=rows.get("orders", [order_row("S1-000001")]),
            fill_rows=rows.get("fills", [fill_row("F-0000001")]),
            trade_rows=rows.get("trades", [trade_row(0)]),
            equity_rows=rows.get("equity", [equity_row(TS), equity_row(TS + 1)]),
        )


def run_row(run_id: str, created_at: str) -> dict[str, Any]:
    metrics = {"sharpe": None, "total_return": 0.125, "bars": 2, "nested": {"a": [1, 2]}}
    return {
        "run_id": run_id,
        "name": "unit test",
        "strategy": "strategies.sma_cross:SmaCross",
        "symbols": "BTC/USDT,ETH/USDT",
        "created_at": created_at,
        "start_ns": TS,
        "end_ns": TS + 3_600 * 10**9,
        "bars": 2,
        "initial_cash": 10_000.0,
        "final_equity": 11_250.0,
        "total_return": 0.125,
        "sharpe": None,
        "max_drawdown": -0.0625,
        "num_trades": 1,
        "artifacts_dir": "backtests/x",
        "config_toml": '[run]\nname = "unit test"\n',
        "metrics_json": json.dumps(metrics, sort_keys=True),
    }


def order_row(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "strategy_id": "S1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "limit",
        "quantity": 0.12345678,
        "limit_price": 29_000.5,
        "stop_price": None,
        "time_in_force": "gtc",
        "status": "filled",
        "filled_quantity": 0.12345678,
        "average_fill_price": 28_999.25,
        "fees": 3.58,
        "ts_requested": TS,
        "ts_last": TS + 1,
        "check": "",
        "reason": "",
        "tag": "entry",
    }


def fill_row(fill_id: str) -> dict[str, Any]:
    return {
        "fill_id": fill_id,
        "order_id": "S1-000001",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": 0.12345678,
        "price": 28_999.25,
        "fee": 3.58,
        "liquidity": "maker",
        "ts_event": TS + 1,
    }


def trade_row(trade_id: int) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "symbol": "BTC/USDT",
        "side": "long",
        "entry_time": TS,
        "exit_time": TS + 10,
        "quantity": 0.5,
        "entry_price": 100.0,
        "exit_price": 110.0,
        "gross_pnl": 5.0,
        "fees": 0.105,
        "net_pnl": 4.895,
        "return_pct": 9.79,
    }


def equity_row(ts: int) -> dict[str, Any]:
    return {"ts_event": ts, "cash": 100.5, "equity": 101.25, "gross_exposure": 0.75}


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def runs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runs]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'kestrel.db'}"
    else:
        # a database of its own: the shared one may hold another branch's schema version
        url = request.getfixturevalue("fresh_postgres")
    store = RunStore(url)
    created = Runs(store)
    yield created
    for run_id in created.ids:
        store.delete_run(run_id)
    store.engine.dispose()


def without_run_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "run_id"} for row in rows]


def test_save_and_get_round_trip(runs: Runs) -> None:
    run_id = runs.new_id("roundtrip")
    runs.save(run_id)
    row = runs.store.get_run(run_id)
    assert row is not None
    expected = run_row(run_id, "2030-01-01T00:00:00+00:00")
    metrics = json.loads(expected.pop("metrics_json"))
    assert row.pop("metrics") == metrics
    assert row.pop("params") == {}  # the config has no [strategy.params]
    assert (row.pop("status"), row.pop("writer")) == ("complete", None)
    assert row == expected
    assert run_id in runs.store.run_ids()


def test_child_rows_round_trip_in_key_order(runs: Runs) -> None:
    run_id = runs.new_id("children")
    orders = [order_row("S1-000002"), order_row("S1-000001")]
    fills = [fill_row("F-0000002"), fill_row("F-0000001")]
    trades = [trade_row(1), trade_row(0)]
    equity = [equity_row(TS + 5), equity_row(TS)]
    runs.save(run_id, orders=orders, fills=fills, trades=trades, equity=equity)
    store = runs.store
    for name, rows, key in [
        ("orders", orders, "order_id"),
        ("fills", fills, "fill_id"),
        ("trades", trades, "trade_id"),
        ("equity", equity, "ts_event"),
    ]:
        stored = store.table_rows(name, run_id)
        assert all(r["run_id"] == run_id for r in stored)
        assert without_run_id(stored) == sorted(rows, key=lambda r: r[key]), name
    assert store.table_rows("equity", run_id)[1]["ts_event"] == TS + 5  # 64-bit intact


def test_rows_given_by_column_are_stored_as_the_same_rows(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`TableColumns` (a backtest's tables as its artifacts hold them) store the rows that
    mappings of the same values store, in batches."""
    monkeypatch.setattr(store_module, "BATCH", 3)
    orders = [{**order_row(f"S1-{i:06d}"), "stop_price": 1.5 * i or None} for i in range(7)]
    fills = [{**fill_row(f"F-{i:07d}"), "quantity": i / 3} for i in range(7)]
    trades = [{**trade_row(i), "return_pct": 0 if i == 2 else i / 7} for i in range(7)]
    by_rows, by_columns = runs.new_id("rows"), runs.new_id("columns")
    runs.save(by_rows, orders=orders, fills=fills, trades=trades)

    def columns(rows: list[dict[str, Any]]) -> TableColumns:
        return TableColumns({k: [row[k] for row in rows] for k in rows[0]})

    runs.save(by_columns, orders=columns(orders), fills=columns(fills), trades=columns(trades))
    for name in ("orders", "fills", "trades"):
        stored = without_run_id(runs.store.table_rows(name, by_columns))
        assert stored == without_run_id(runs.store.table_rows(name, by_rows)), name
        assert len(stored) == 7
    assert runs.store.table_rows("trades", by_columns)[2]["return_pct"] == 0


def test_empty_child_tables(runs: Runs) -> None:
    run_id = runs.new_id("empty")
    runs.save(run_id, orders=[], fills=[], trades=[], equity=[])
    assert runs.store.get_run(run_id) is not None
    for name in ("orders", "fills", "trades", "equity"):
        assert runs.store.table_rows(name, run_id) == []


def test_rows_are_written_in_batches(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BATCH", 3)
    run_id = runs.new_id("batches")
    equity = [equity_row(TS + i) for i in range(8)]
    runs.save(run_id, equity=equity)
    assert [r["ts_event"] for r in runs.store.table_rows("equity", run_id)] == [
        TS + i for i in range(8)
    ]


def test_list_runs_newest_first_with_summary_columns(runs: Runs) -> None:
    # far-future creation times keep this session's runs at the top of a shared table
    stamps = ["9999-01-01T00:00:01", "9999-01-01T00:00:03", "9999-01-01T00:00:02"]
    ids = []
    for stamp in stamps:
        run_id = runs.new_id("list")
        runs.save(run_id, created_at=f"{stamp}.{SESSION}")
        ids.append(run_id)
    listed = [r for r in runs.store.list_runs(limit=1_000) if r["run_id"] in ids]
    assert [r["run_id"] for r in listed] == [ids[1], ids[2], ids[0]]
    assert set(listed[0]) == set(store_module.RUN_SUMMARY_COLUMNS)
    assert listed[0]["final_equity"] == 11_250.0
    assert listed[0]["sharpe"] is None
    assert len(runs.store.list_runs(limit=2)) == 2


def test_delete_removes_the_run_and_its_rows_only(runs: Runs) -> None:
    keep, gone = runs.new_id("keep"), runs.new_id("gone")
    runs.save(keep)
    runs.save(gone)
    assert runs.store.delete_run(gone) is True
    assert runs.store.get_run(gone) is None
    assert gone not in runs.store.run_ids()
    for name in ("orders", "fills", "trades", "equity"):
        assert runs.store.table_rows(name, gone) == []
        assert runs.store.table_rows(name, keep) != []
    assert runs.store.delete_run(gone) is False
    assert runs.store.get_run(keep) is not None


def test_get_unknown_run_is_none(runs: Runs) -> None:
    assert runs.store.get_run(f"unit-{SESSION}-never-saved") is None


def test_a_failed_save_leaves_nothing_behind(runs: Runs) -> None:
    run_id = runs.new_id("atomic")
    duplicate_fills = [fill_row("F-0000001"), fill_row("F-0000001")]
    with pytest.raises(PersistenceError, match=f"saving run {run_id} failed"):
        runs.save(run_id, fills=duplicate_fills)
    assert runs.store.get_run(run_id) is None
    assert runs.store.table_rows("orders", run_id) == []
    runs.save(run_id)  # the id is free: nothing was half-written
    assert runs.store.get_run(run_id) is not None


def test_saving_the_same_run_id_twice_fails(runs: Runs) -> None:
    run_id = runs.new_id("twice")
    runs.save(run_id)
    with pytest.raises(PersistenceError, match="saving run"):
        runs.save(run_id)
    assert len(runs.store.table_rows("equity", run_id)) == 2


def test_bad_url_is_a_persistence_error() -> None:
    with pytest.raises(PersistenceError, match="cannot open run store 'nosuchdb://x'"):
        RunStore("nosuchdb://x")


def test_sqlite_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "runs.db"
    store = RunStore(f"sqlite:///{path}")
    assert path.is_file()
    assert store.run_ids() == []
    store.engine.dispose()


def test_resolve_db_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KESTREL_DB_URL", raising=False)
    assert resolve_db_url(None) == DEFAULT_DB_URL == "sqlite:///backtests/kestrel.db"
    monkeypatch.setenv("KESTREL_DB_URL", "sqlite:///from/env.db")
    assert resolve_db_url(None) == "sqlite:///from/env.db"
    assert resolve_db_url("sqlite:///given.db") == "sqlite:///given.db"


def test_a_run_being_written_is_hidden_until_complete(runs: Runs) -> None:
    run_id = runs.new_id("twophase")
    row = run_row(run_id, "9998-01-01T00:00:00+00:00")
    runs.store.begin_run(row)
    assert run_id not in runs.store.run_ids()
    assert run_id in runs.store.run_ids(include_incomplete=True)
    assert run_id not in [r["run_id"] for r in runs.store.list_runs(limit=1_000)]
    assert runs.store.find_run_ids(run_id) == []
    pending = [r for r in runs.store.incomplete_runs() if r["run_id"] == run_id]
    assert pending[0]["writer"] == store_module.writer_id()
    published = []
    runs.store.complete_run(
        row,
        order_rows=[order_row("S1-000001")],
        fill_rows=[],
        trade_rows=[],
        equity_rows=[equity_row(TS), equity_row(TS + 1)],
        before_commit=lambda: published.append(run_id),
    )
    assert published == [run_id]
    stored = runs.store.get_run(run_id)
    assert stored is not None
    assert (stored["status"], stored["writer"]) == ("complete", None)
    assert run_id in runs.store.run_ids()
    assert len(runs.store.table_rows("equity", run_id)) == 2


def test_a_failing_before_commit_commits_nothing(runs: Runs) -> None:
    run_id = runs.new_id("nocommit")
    row = run_row(run_id, "9998-01-01T00:00:00+00:00")
    runs.store.begin_run(row)

    def fail() -> None:
        raise OSError("rename failed")

    with pytest.raises(OSError, match="rename failed"):
        runs.store.complete_run(
            row, order_rows=[], fill_rows=[], trade_rows=[],
            equity_rows=[equity_row(TS)], before_commit=fail,
        )  # fmt: skip
    stored = runs.store.get_run(run_id)
    assert stored is not None
    assert stored["status"] == "writing"
    assert runs.store.table_rows("equity", run_id) == []


def curve_columns(n: int) -> EquityColumns:
    """A curve whose values are exact only if every bit survives (-0.0, tiny, huge, NaN)."""
    values = np.array([0.1, -0.0, 1e-300, 1.7976931348623157e308, 2.5, np.nan, -3.25])
    return EquityColumns(
        TS + np.arange(n, dtype=np.int64) * 60 * 10**9,
        np.resize(values, n),
        np.resize(values[::-1], n),
        np.arange(n, dtype=np.float64) / 7.0,
    )


def test_an_equity_curve_is_stored_as_blocks_and_read_back_exactly(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_module, "EQUITY_BLOCK_ROWS", 4)  # 10 bars: blocks of 4, 4, 2
    run_id = runs.new_id("blocks")
    curve = curve_columns(10)
    runs.save(run_id, equity=curve)
    store = runs.store
    blocks = select(equity_blocks.c.block, equity_blocks.c.rows).where(
        equity_blocks.c.run_id == run_id
    )
    assert store.read(blocks.order_by(equity_blocks.c.block)) == [
        {"block": 0, "rows": 4},
        {"block": 1, "rows": 4},
        {"block": 2, "rows": 2},
    ]
    stored = store.equity_columns(run_id)
    for name, expected, got in zip(EquityColumns._fields, curve, stored, strict=True):
        assert got.dtype == expected.dtype, name
        assert got.tobytes() == expected.tobytes(), name  # bit for bit, -0.0 and NaN too
    rows = store.table_rows("equity", run_id)  # one row per bar, as for per-row runs
    assert [r["ts_event"] for r in rows] == curve.ts_event.tolist()
    assert np.array([r["equity"] for r in rows]).tobytes() == curve.equity.tobytes()
    assert {r["run_id"] for r in rows} == {run_id}
    store.delete_run(run_id)
    runs.ids.remove(run_id)
    assert store.read(select(equity_blocks).where(equity_blocks.c.run_id == run_id)) == []
    assert store.equity_columns(run_id).ts_event.size == 0


def test_equity_columns_read_per_row_runs_too(runs: Runs) -> None:
    run_id = runs.new_id("rowcurve")
    runs.save(run_id, equity=[equity_row(TS + 5), equity_row(TS)])
    curve = runs.store.equity_columns(run_id)
    assert curve.ts_event.tolist() == [TS, TS + 5]
    assert curve.ts_event.dtype == np.int64
    assert curve.equity.tolist() == [101.25, 101.25]


def test_a_damaged_block_is_one_clear_error(runs: Runs) -> None:
    run_id = runs.new_id("damaged")
    runs.save(run_id, equity=curve_columns(3))
    runs.store.transact(
        "damaging",
        lambda conn: conn.execute(
            update(equity_blocks).where(equity_blocks.c.run_id == run_id).values(rows=5)
        ),
    )
    with pytest.raises(PersistenceError, match="equity block 0 holds 3 ts_event values, not 5"):
        runs.store.equity_columns(run_id)
