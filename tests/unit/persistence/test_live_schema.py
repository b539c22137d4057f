"""Schema version 4: a version-3 store (with a paper account) gains the live tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, create_engine, inspect, select

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger, LiveOrder, LiveStatus


def version_3_store(url: str) -> None:
    old = MetaData()
    for name, table in schema_module.metadata.tables.items():
        if not name.startswith("live_"):
            table.to_metadata(old)
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(old.tables["schema_version"].insert().values(id=1, version=3))
        conn.execute(
            old.tables["paper_accounts"].insert().values(
                account="p1", run_id="paper-p1", created_at="2026-01-01", start_ns=1,
                config_toml="", config_parts="{}",
            )
        )  # fmt: skip
    engine.dispose()


def test_version_3_upgrades_to_the_current_version_keeping_paper_accounts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v3.db'}"
    version_3_store(url)
    store = RunStore(url)
    with store.engine.connect() as conn:
        assert (
            conn.execute(select(schema_module.schema_version.c.version)).scalar()
            == schema_module.SCHEMA_VERSION
        )
        assert {"live_accounts", "live_orders", "live_fills"} <= set(
            inspect(conn).get_table_names()
        )
        accounts = conn.execute(select(schema_module.paper_accounts.c.account)).scalars().all()
    assert accounts == ["p1"]
    ledger = LiveLedger(store, "a")
    order = LiveOrder("kst-1", "s-1", "s", "BTC/USDT", "buy", "market", 0.01, None, "GTC",
                      LiveStatus.SENDING, ts_created=5, ts_last=5)  # fmt: skip
    ledger.insert(order)
    assert ledger.get("kst-1") == order
    assert LiveLedger(store, "b").get("kst-1") is None  # accounts are apart
    store.engine.dispose()
