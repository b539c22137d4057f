"""`format_column` formats a column in bulk exactly as `cell_text` formats each value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.report.csv_text import cell_text, format_column

CASES: list[list[Any]] = [
    [1.0, -0.0, 0.1 + 0.2, 1e-300, 123456789.125],
    [1.5, math.nan, -math.inf, 2.0],
    [1.5, None, 2.0],
    [None, None],
    ["buy", "sell", "a,b", ""],
    [1, 0, -7, 10**20],
    [True, False, 1],
    [np.float64(0.5), 0.25],
    [1, 2.5, "x", None],
    [],
]


def texts(cells: Any) -> list[str]:
    """`format_column`'s cells as a list (bulk-formatted columns stay Arrow string arrays)."""
    return cells if isinstance(cells, list) else cells.to_pylist()


@pytest.mark.parametrize("values", CASES)
def test_bulk_formatting_gives_the_text_of_each_cell(values: list[Any]) -> None:
    assert texts(format_column("price", values)) == [cell_text("price", v) for v in values]


def test_random_float_columns_match_cell_by_cell() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(0, 1e6, 5_000).tolist()
    values[::97] = [math.nan] * len(values[::97])
    assert texts(format_column("pnl", values)) == [cell_text("pnl", v) for v in values]
