"""Schema version 12: ``live_orders.list_id`` (exchange OCOs) and ``live_trails``
(node-managed trailing stops), issue 15."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import LiveOrder, LiveStatus, StoredTrail
from tests.unit.persistence.test_live_stop_price_store import reopened
from tests.unit.persistence.test_live_strategy_state import _url


def _leg(client_id: str, list_id: str | None) -> LiveOrder:
    return LiveOrder(client_id, "s-000002", "s", "BTC/USDT", "sell", "market", 0.01, None,
                     "GTC", LiveStatus.OPEN, stop_price=18_000.0, list_id=list_id)  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_10_store_gains_lists_and_trails(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    store = RunStore(url)
    LiveLedger(store, "acct").insert(_leg("kst-old", None))
    upgraded = reopened(
        store, url, 10, "ALTER TABLE live_orders DROP COLUMN list_id", "DROP TABLE live_trails"
    )
    with upgraded.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        assert version == schema_module.SCHEMA_VERSION
        assert "list_id" in {c["name"] for c in inspect(conn).get_columns("live_orders")}
        assert "live_trails" in inspect(conn).get_table_names()
    ledger = LiveLedger(upgraded, "acct")
    assert ledger.get("kst-old") == _leg("kst-old", None)
    ledger.insert_many([_leg("kst-a", "kst-list"), _leg("kst-b", "kst-list")])
    lists = {o.client_id: o.list_id for o in ledger.orders()}
    assert lists == {"kst-old": None, "kst-a": "kst-list", "kst-b": "kst-list"}
    trail = StoredTrail("s-000002", 100.0, "price", 18_900.0, 18_800.0, 0, "kst-a", "", "working")
    ledger.save_trail(trail)
    moved = trail.but(best=19_000.0, stop=18_900.0, link=1, client_id="kst-c",
                      replaces="kst-a", state="replacing")  # fmt: skip
    ledger.save_trail(moved)  # over its row
    assert ledger.trails() == [moved]
    assert ledger.trails(["working"]) == []
    upgraded.engine.dispose()


def test_version_12_adds_lists_and_trails() -> None:
    assert schema_module.SCHEMA_VERSION >= 12
    assert schema_module.MIGRATIONS[10].__name__ == "_v12_live_lists_trails"
