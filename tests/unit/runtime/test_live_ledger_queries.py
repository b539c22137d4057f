"""`LiveLedger.orders` asked for one order's rows (``order_id``, ``replaces``, ``list_id``,
``strategy_id``) returns what filtering every row returned, in the same order, on SQLite and
PostgreSQL: the callers that want one order's exchange orders (a modification's links, a
pair's legs, a trailing stop's chain) now read those rows only, not the whole account's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import LiveOrder, LiveStatus
from tests.unit.persistence.test_live_strategy_state import _url


def _row(number: int, order_id: str, **extra: object) -> LiveOrder:
    row = LiveOrder(f"kst-{number:03d}", order_id, "s", "BTC/USDT", "buy", "limit", 0.01,
                    18_000.0 + number, "GTC", LiveStatus.OPEN, ts_created=100 - number)  # fmt: skip
    return row.but(**extra)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_orders_rows_are_the_filtered_rows_in_the_same_order(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    ledger = LiveLedger(RunStore(_url(backend, tmp_path, request)), "acct")
    other = LiveLedger(ledger.store, "other")  # another account's rows: never read
    rows = [
        _row(1, "s-000001"),
        _row(2, "s-000002", list_id="oco-1"),
        _row(3, "s-000003", list_id="oco-1"),
        _row(4, "s-000001", replaces="kst-001", status=LiveStatus.REJECTED),
        _row(5, "s-000001", replaces="kst-001"),
        _row(6, "kill-1", strategy_id="kill-switch"),
        _row(7, "s-000001", origin="external"),
    ]
    ledger.insert_many(rows)
    other.insert_many([_row(8, "s-000001", replaces="kst-001", list_id="oco-1")])
    every = ledger.orders()
    assert [o.client_id for o in every] == ["kst-006", "kst-005", "kst-004", "kst-003",
                                            "kst-002", "kst-001"]  # fmt: skip
    cases = {
        "order_id": "s-000001",
        "replaces": "kst-001",
        "list_id": "oco-1",
        "strategy_id": "kill-switch",
    }
    for column, value in cases.items():
        found = ledger.orders(**{column: value})
        assert found == [o for o in every if getattr(o, column) == value], column
        assert found  # each case matches something
    assert [o.client_id for o in ledger.orders(order_id="s-000001")] == [
        "kst-005", "kst-004", "kst-001",
    ]  # fmt: skip
    opened = ledger.orders([LiveStatus.OPEN], order_id="s-000001")
    assert [o.client_id for o in opened] == ["kst-005", "kst-001"]
    assert [o.client_id for o in ledger.orders(origin=None, order_id="s-000001")] == [
        "kst-007", "kst-005", "kst-004", "kst-001",
    ]  # fmt: skip
