"""Schema version 8: ``live_strategy_state``, a live strategy's own state (issue 15)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import inspect, select

from engine.errors import StrategyError
from engine.persistence import RunStore
from engine.persistence import schema as schema_module
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import SavedState, encode_state


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'k.db'}"
    return str(request.getfixturevalue("fresh_postgres"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_state_is_saved_read_back_and_overwritten_per_account_and_strategy(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store = RunStore(_url(backend, tmp_path, request))
    ledger = LiveLedger(store, "acct")
    assert ledger.load_state("s") is None
    state: dict[str, Any] = {"bars_seen": 3, "regime": "up", "last": [1, 2.5, None, True]}
    text = ledger.save_state("s", 1_000, state)
    assert text == json.dumps(state, sort_keys=True)
    saved = ledger.load_state("s")
    assert saved is not None
    assert (saved.strategy_id, saved.ts_event, saved.state) == ("s", 1_000, state)
    assert datetime.fromisoformat(saved.saved_at).tzinfo is not None
    ledger.save_state("s", 2_000, {"bars_seen": 4})  # an upsert: one row per strategy
    again = ledger.load_state("s")
    assert again is not None
    assert (again.ts_event, again.state) == (2_000, {"bars_seen": 4})
    assert LiveLedger(store, "other").load_state("s") is None  # accounts are apart
    assert ledger.load_state("t") is None  # strategy ids too
    ledger.save_state("t", 5, {})
    rows = store.read(select(schema_module.live_strategy_state).order_by("strategy_id"))
    assert [(r["account"], r["strategy_id"], r["ts_event"]) for r in rows] == [
        ("acct", "s", 2_000),
        ("acct", "t", 5),
    ]
    assert rows[0]["state_json"] == '{"bars_seen": 4}'
    store.engine.dispose()


@pytest.mark.parametrize(
    ("state", "named"),
    [
        ({"when": datetime(2026, 1, 1)}, "state['when'] is a datetime"),
        ({"n": np.int64(3)}, "state['n'] is a int64"),
        ({"deep": {"seen": {1, 2}}}, "state['deep']['seen'] is a set"),
        ({"xs": [1, object()]}, "state['xs'][1] is a object"),
        ({"by_id": {7: "a"}}, "state['by_id'] has a key 7 of type int"),
    ],
)
def test_a_state_json_cannot_hold_is_one_line_naming_the_key(
    tmp_path: Path, state: dict[str, Any], named: str
) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    ledger = LiveLedger(store, "acct")
    with pytest.raises(StrategyError) as caught:
        ledger.save_state("s", 1, state)
    message = str(caught.value)
    assert "\n" not in message
    assert named in message
    assert message.startswith("strategy 's': on_save returned a state JSON cannot hold")
    assert ledger.load_state("s") is None  # nothing written
    store.engine.dispose()


def test_encoding_sorts_keys_so_equal_states_compare_equal() -> None:
    assert encode_state("s", {"b": 1, "a": {"d": 2, "c": 3}}) == encode_state(
        "s", {"a": {"c": 3, "d": 2}, "b": 1}
    )
    assert encode_state("s", {"a": (1, 2)}) == '{"a": [1, 2]}'  # a tuple comes back a list


def test_a_version_7_store_gains_the_state_table_keeping_its_live_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = RunStore(url)
    ledger = LiveLedger(store, "acct")
    with store.engine.begin() as conn:  # back to what version 7 created, with a live account
        schema_module.live_strategy_state.drop(conn)
        conn.execute(
            schema_module.live_accounts.insert().values(
                account="acct", exchange="binance", created_at="2026", baseline_ms=1,
                baseline_json='{"USDT": 10000.0}',
            )
        )  # fmt: skip
        conn.execute(schema_module.schema_version.update().values(version=7))
    store.engine.dispose()
    upgraded = RunStore(url)
    with upgraded.engine.connect() as conn:
        version = conn.execute(select(schema_module.schema_version.c.version)).scalar()
        assert version == schema_module.SCHEMA_VERSION
        assert "live_strategy_state" in inspect(conn).get_table_names()
    ledger = LiveLedger(upgraded, "acct")
    baseline = ledger.baseline()
    assert baseline is not None
    assert baseline.wallet == {"USDT": 10000.0}
    ledger.save_state("s", 9, {"bars_seen": 1})
    saved = ledger.load_state("s")
    assert isinstance(saved, SavedState)
    assert (saved.strategy_id, saved.ts_event, saved.state) == ("s", 9, {"bars_seen": 1})
    upgraded.engine.dispose()


def test_version_8_is_the_state_table() -> None:
    assert schema_module.MIGRATIONS[8 - 2].__name__ == "_v8_live_strategy_state"
