"""`trade_columns` and `RunTables`: a run's tables by column, the values of the row builders."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.report.artifacts import TRADE_COLUMNS, _trade_row, trade_columns
from engine.report.recorder import TradeRecord


def random_trades(count: int, seed: int, fx: bool = False) -> list[TradeRecord]:
    rng = np.random.default_rng(seed)
    trades = []
    for i in range(count):
        quantity = float(rng.choice([0.0, 0.001, 1.0, 996.0, rng.uniform(0, 50)]))
        price = float(rng.lognormal(4, 1))
        trade = TradeRecord(
            symbol=f"S{i % 3}",
            side="long" if rng.random() < 0.5 else "short",
            entry_ts=1_600_000_000 * 10**9 + i * 60 * 10**9,
            entry_quantity=quantity,
            entry_value=quantity * price if i % 11 else 0.0,  # some without an entry value
            exit_quantity=quantity if i % 7 else 0.0,  # some never exited
            exit_value=quantity * float(rng.lognormal(4, 1)),
            fees=float(rng.uniform(0, 3)),
            exit_ts=1_600_000_000 * 10**9 + (i + 5) * 60 * 10**9,
        )
        if fx and i % 2:
            trade.entry_cost = trade.entry_value * 1.1
            trade.exit_proceeds = trade.exit_value * 1.2
        trades.append(trade)
    return trades


def expected_columns(closed: list[TradeRecord], still_open: list[TradeRecord]) -> dict[str, Any]:
    """trades.csv's rows as `write_trades` built them before it built columns."""
    rows = [{**_trade_row(n, t), "status": "closed", "unrealized_pnl": 0.0}
            for n, t in enumerate(closed, start=1)]  # fmt: skip
    rows += [{**_trade_row(n, t), "status": "open", "unrealized_pnl": t.unrealized_pnl}
             for n, t in enumerate(still_open, start=len(closed) + 1)]  # fmt: skip
    return {k: [row[k] for row in rows] for k in TRADE_COLUMNS}


def typed(values: list[Any]) -> list[tuple[type, str]]:
    """Each value's type and repr: the same bits and the same kind (the int 0 of return_pct)."""
    return [(type(v), repr(v)) for v in values]


@pytest.mark.parametrize("fx", [False, True])
def test_trade_columns_hold_the_row_builder_values_bit_for_bit(fx: bool) -> None:
    trades = random_trades(400, seed=5, fx=fx)
    still_open = random_trades(3, seed=6, fx=fx)
    for trade in still_open:
        trade.is_open, trade.unrealized_pnl = True, 12.5
    got = trade_columns(trades, still_open)
    expected = expected_columns(trades, still_open)
    assert list(got) == list(TRADE_COLUMNS)
    for name in TRADE_COLUMNS:
        assert typed(got[name]) == typed(expected[name]), name
    assert 0 in got["return_pct"]  # the trades without an entry value


def test_trade_columns_of_no_trades_and_of_an_int_quantity() -> None:
    assert trade_columns([], []) == {k: [] for k in TRADE_COLUMNS}
    trades = random_trades(20, seed=9)
    trades[3].entry_quantity = 7  # an int: its text stays "7" (computed trade by trade)
    got = trade_columns(trades, [])
    expected = expected_columns(trades, [])
    for name in TRADE_COLUMNS:
        assert typed(got[name]) == typed(expected[name]), name
