"""Schema version 11: ``live_bars`` (the closed bars a live node handled) and
``live_accounts.config_toml`` (the config its latest session ran with), issue 15, on SQLite
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from engine.model import Bar
from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import Baseline, EquityRow
from tests.unit.persistence.test_live_stop_price_store import reopened
from tests.unit.persistence.test_live_strategy_state import _url

HOUR = 3_600 * 10**9
T = 1_700_000_000 * 10**9  # a bar's close, ns: needs 64 bits


def _bar(symbol: str, ts: int, close: float) -> Bar:
    return Bar(
        symbol, ts, ts, close - 1.5, close + 2.25, close - 3.125, close, 0.1 + close / 7, HOUR
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bars_are_written_with_a_checkpoint_and_read_back_exactly(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store = RunStore(_url(backend, tmp_path, request))
    ledger = LiveLedger(store, "acct")
    assert (ledger.bars(), ledger.last_bar_ts()) == ([], {})
    btc = [_bar("BTC/USDT", T + k * HOUR, 30_000.1 + k) for k in range(3)]
    eth = _bar("ETH/USDT", T + HOUR, 2_000.3)
    ledger.checkpoint("s", bars=[btc[0]], equity=EquityRow(T, 1, 1.0, 1.0, 0.0))
    ledger.checkpoint("s", bars=[btc[1], eth])
    ledger.checkpoint("s", bars=[btc[2]])
    assert ledger.bars() == [btc[0], btc[1], btc[2], eth]  # per symbol, in time order
    assert ledger.bars("ETH/USDT") == [eth]
    assert ledger.last_bar_ts() == {"BTC/USDT": T + 2 * HOUR, "ETH/USDT": T + HOUR}
    assert ledger.equity_rows() == [EquityRow(T, 1, 1.0, 1.0, 0.0)]
    other = LiveLedger(store, "other")  # accounts are apart
    assert (other.bars(), other.last_bar_ts()) == ([], {})
    store.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_each_session_records_the_config_it_runs_with(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store = RunStore(_url(backend, tmp_path, request))
    ledger = LiveLedger(store, "acct")
    ledger.create_account(Baseline("binance", 5, {"USDT": 10.0}), [])
    assert ledger.config_toml() is None
    assert ledger.begin_session('[run]\nname = "a"\n') == 1
    assert ledger.config_toml() == '[run]\nname = "a"\n'
    assert ledger.begin_session('[run]\nname = "b"\n') == 2
    assert ledger.config_toml() == '[run]\nname = "b"\n'  # the latest session's
    assert ledger.begin_session() == 3  # none given: the stored one stays
    assert ledger.config_toml() == '[run]\nname = "b"\n'
    assert LiveLedger.account_names(store) == ["acct"]
    store.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_10_store_gains_the_table_and_column_keeping_its_live_rows(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    store = RunStore(url)
    old = LiveLedger(store, "acct")
    old.create_account(Baseline("binance", 5, {"USDT": 10.0}), [])
    old.checkpoint("s", equity=EquityRow(T, 1, 1.0, 2.0, 0.5))
    upgraded = reopened(
        store, url, 10, "DROP TABLE live_bars", "ALTER TABLE live_accounts DROP COLUMN config_toml"
    )
    with upgraded.engine.connect() as conn:
        assert (
            conn.execute(select(schema_module.schema_version.c.version)).scalar()
            == schema_module.SCHEMA_VERSION
        )
        assert "live_bars" in inspect(conn).get_table_names()
        columns = {c["name"] for c in inspect(conn).get_columns("live_accounts")}
        assert "config_toml" in columns
    ledger = LiveLedger(upgraded, "acct")
    assert ledger.equity_rows() == [EquityRow(T, 1, 1.0, 2.0, 0.5)]
    assert ledger.config_toml() is None  # an account started before 11 has none yet
    assert ledger.begin_session("[run]\n") == 1
    assert ledger.config_toml() == "[run]\n"
    bar = _bar("BTC/USDT", T + HOUR, 30_000.0)
    ledger.checkpoint("s", bars=[bar])
    assert ledger.bars() == [bar]
    upgraded.engine.dispose()


def test_version_11_adds_live_bars_and_the_config() -> None:
    assert schema_module.SCHEMA_VERSION >= 11
    assert schema_module.MIGRATIONS[9].__name__ == "_v11_live_bars_config"
