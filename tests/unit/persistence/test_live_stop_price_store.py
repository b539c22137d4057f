"""Schema version 10: ``live_orders.stop_price`` (exchange-side stops, issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import LiveOrder, LiveStatus
from tests.unit.persistence.test_live_strategy_state import _url


def reopened(store: RunStore, url: str, version: int, *undo: str) -> RunStore:
    """Take ``store`` back to schema ``version`` (run the ``undo`` DDL), open it again."""
    with store.engine.begin() as conn:
        for statement in undo:
            conn.execute(text(statement))
        conn.execute(schema_module.schema_version.update().values(version=version))
    store.engine.dispose()
    return RunStore(url)


def _order(client_id: str, stop_price: float | None) -> LiveOrder:
    return LiveOrder(client_id, "s-000001", "s", "BTC/USDT", "sell", "limit", 0.01, 18_000.0,
                     "GTC", LiveStatus.OPEN, stop_price=stop_price)  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_9_store_gains_the_column_keeping_its_orders(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    store = RunStore(url)
    LiveLedger(store, "acct").insert(_order("kst-old", None))
    upgraded = reopened(store, url, 9, "ALTER TABLE live_orders DROP COLUMN stop_price")
    with upgraded.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        assert version == schema_module.SCHEMA_VERSION  # 10, and the later ones
        columns = {c["name"] for c in inspect(conn).get_columns("live_orders")}
        assert "stop_price" in columns
    ledger = LiveLedger(upgraded, "acct")
    assert ledger.get("kst-old") == _order("kst-old", None)
    ledger.insert(_order("kst-new", 18_100.5))
    found = ledger.get("kst-new")
    assert found is not None
    assert found.stop_price == 18_100.5
    upgraded.engine.dispose()


def test_version_10_adds_the_stop_price() -> None:
    assert schema_module.SCHEMA_VERSION >= 10
    assert schema_module.MIGRATIONS[8].__name__ == "_v10_live_stop_price"
