"""Schema version 9: ``live_timers`` and ``live_equity`` (issue 15), SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import EquityRow, StoredTimer
from tests.unit.persistence.test_live_stop_price_store import reopened
from tests.unit.persistence.test_live_strategy_state import _url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_checkpoint_writes_timers_and_equity_per_account(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store = RunStore(_url(backend, tmp_path, request))
    ledger = LiveLedger(store, "acct")
    assert (ledger.load_timers("s"), ledger.equity_rows(), ledger.last_equity_ts()) == (
        [],
        [],
        None,
    )
    big = 1_700_000_000_000_000_000  # ns since the epoch: needs 64 bits
    timers = [StoredTimer("daily", 86_400 * 10**9, big + 1), StoredTimer("h", 3_600 * 10**9, big)]
    row = EquityRow(big, 1, 9_811.712345678901, 10_020.000000000002, 208.28765432109)
    ledger.checkpoint("s", state=(big, '{"n": 1}'), timers=timers, equity=row)
    assert ledger.load_timers("s") == timers
    assert ledger.equity_rows() == [row]  # floats come back exactly
    saved = ledger.load_state("s")
    assert saved is not None
    assert (saved.ts_event, saved.state) == (big, {"n": 1})
    # the timers are replaced as a whole; the same time's equity row overwritten on request
    ledger.checkpoint("s", timers=[timers[1]], equity=row._replace(equity=1.5), replace_equity=True)
    ledger.checkpoint("s", equity=EquityRow(big + 1, 2, 1.0, 2.0, 0.0))
    assert ledger.load_timers("s") == [timers[1]]
    assert ledger.equity_rows() == [row._replace(equity=1.5), EquityRow(big + 1, 2, 1.0, 2.0, 0.0)]
    assert ledger.last_equity_ts() == big + 1
    other = LiveLedger(store, "other")  # accounts are apart
    assert (other.load_timers("s"), other.equity_rows()) == ([], [])
    assert ledger.load_timers("t") == []  # strategy ids too
    store.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_8_store_gains_the_tables_keeping_its_live_rows(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    store = RunStore(url)
    LiveLedger(store, "acct").save_state("s", 7, {"n": 3})
    upgraded = reopened(store, url, 8, "DROP TABLE live_timers", "DROP TABLE live_equity")
    with upgraded.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        assert version == schema_module.SCHEMA_VERSION  # 9's tables, and later versions'
        assert {"live_timers", "live_equity"} <= set(inspect(conn).get_table_names())
    ledger = LiveLedger(upgraded, "acct")
    saved = ledger.load_state("s")
    assert saved is not None
    assert saved.state == {"n": 3}
    ledger.checkpoint("s", equity=EquityRow(5, 1, 1.0, 1.0, 0.0))
    assert ledger.equity_rows() == [EquityRow(5, 1, 1.0, 1.0, 0.0)]
    upgraded.engine.dispose()
