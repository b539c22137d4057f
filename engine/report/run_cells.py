"""Strict reading of a run folder's CSV cells: a damaged cell is named, never guessed.

In: the rows of ``equity.csv``, ``fills.csv``, ``trades.csv`` or ``orders.csv`` as text
(`csv.DictReader` rows, or a pandas column). Out: numbers and ns times, or a `DataError`
naming the file, the row (1 = the first line under the header) and the column. A cut or
edited file used to read as 0.0 for an empty number and 1970-01-01 for an empty time, and
the page showed the figures that made (audit of the HTML reports, finding 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.report.series import IntArray

__all__ = ["damaged", "numbers", "require_cells", "times"]


def damaged(path: Path, why: str) -> DataError:
    """Return the one-line error of a run folder's file that is not as the run wrote it."""
    return DataError(
        f"{path}: damaged, not as the run wrote it ({why}); restore the file or run the "
        "backtest again"
    )


def _where(row_index: int, column: str) -> str:
    return f"row {row_index + 1}, column {column!r} (line {row_index + 2})"


def require_cells(path: Path, rows: Sequence[dict[Any, Any]], width: int) -> None:
    """Refuse a row with fewer or more cells than the header (a line cut or joined)."""
    for index, row in enumerate(rows):
        if None in row:  # DictReader's key for cells beyond the header
            raise damaged(
                path, f"row {index + 1} (line {index + 2}) has more cells than the header"
            )
        missing = [column for column, text in row.items() if text is None]
        if missing:
            raise damaged(
                path,
                f"{_where(index, str(missing[0]))}: missing, the row has "
                f"{width - len(missing)} of {width} cells",
            )


def numbers(
    path: Path, column: str, texts: Sequence[Any] | pd.Series, empty: float | None = None
) -> list[float]:
    """Return a column's cells as floats (``empty``: the value of an empty cell, else refused).

    Raises:
        DataError: A cell is empty (with ``empty`` None), missing or not a number.
    """
    values: list[float] = []
    for index, text in enumerate(texts):
        if text is None or text == "" or (isinstance(text, float) and text != text):
            if empty is None:
                raise damaged(path, f"{_where(index, column)}: empty")
            values.append(empty)
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise damaged(
                path, f"{_where(index, column)}: {str(text)[:40]!r} is not a number"
            ) from None
    return values


def number_column(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray[Any, Any]:
    """Return a pandas-read column as float64; an empty or non-number cell is refused."""
    series = frame[column]
    if series.dtype != np.float64:  # some cell is not a number (pandas kept text)
        numbers(path, column, series.tolist())
    values: np.ndarray[Any, Any] = series.to_numpy(np.float64)
    blank = np.flatnonzero(np.isnan(values))
    if blank.size:
        raise damaged(path, f"{_where(int(blank[0]), column)}: empty")
    return values


def times(
    path: Path, column: str, texts: Sequence[Any] | pd.Series, allow_empty: bool = False
) -> IntArray:
    """Return ISO-8601 UTC cells as int64 ns (an allowed empty cell: 0).

    Raises:
        DataError: A cell is empty (unless allowed), missing or not a time.
    """
    series = pd.Series(texts, dtype=object)
    blank = series.isna() | (series == "")
    if blank.any() and not allow_empty:
        raise damaged(path, f"{_where(int(np.flatnonzero(blank.to_numpy())[0]), column)}: empty")
    parsed = pd.to_datetime(series.where(~blank, None), utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero((parsed.isna() & ~blank).to_numpy())
    if bad.size:
        text = str(series.iloc[int(bad[0])])[:40]
        raise damaged(path, f"{_where(int(bad[0]), column)}: {text!r} is not a time")
    result: IntArray = np.array(parsed.dt.as_unit("ns").astype("int64").to_numpy(), dtype=np.int64)
    result[blank.to_numpy()] = 0
    return result
