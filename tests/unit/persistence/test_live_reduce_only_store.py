"""Schema version 16: ``live_orders.reduce_only`` (a restarted node adopts a reduce-only
order as reduce-only, issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import LiveOrder, LiveStatus
from tests.unit.persistence.test_live_stop_price_store import reopened
from tests.unit.persistence.test_live_strategy_state import _url


def _order(client_id: str, reduce_only: bool) -> LiveOrder:
    return LiveOrder(client_id, "s-000001", "s", "BTC/USDT", "sell", "market", 0.01, None,
                     "GTC", LiveStatus.OPEN, stop_price=18_000.0,
                     reduce_only=reduce_only)  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_15_store_gains_the_column_and_its_orders_read_as_not_reduce_only(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    store = RunStore(url)
    LiveLedger(store, "acct").insert(_order("kst-old", False))
    upgraded = reopened(store, url, 15, "ALTER TABLE live_orders DROP COLUMN reduce_only")
    with upgraded.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        assert version == schema_module.SCHEMA_VERSION
        columns = {c["name"] for c in inspect(conn).get_columns("live_orders")}
        assert "reduce_only" in columns
    ledger = LiveLedger(upgraded, "acct")
    assert ledger.get("kst-old") == _order("kst-old", False)  # NULL: not reduce-only
    ledger.insert(_order("kst-new", True))
    found = ledger.get("kst-new")
    assert found is not None
    assert found.reduce_only is True
    ledger.save(found.but(status=LiveStatus.CANCELED))
    assert ledger.get("kst-new") == _order("kst-new", True).but(status=LiveStatus.CANCELED)
    upgraded.engine.dispose()


def test_version_16_adds_reduce_only() -> None:
    assert schema_module.MIGRATIONS[14].__name__ == "_v16_live_order_reduce_only"
