"""Small readers of a run's report inputs: its event rows and the benchmark's note.

In: a result's event rows, or a run folder's ``events.csv``; the symbols whose bars a
re-render could and could not read. Out: the text cells the page's events table shows,
and the note saying what the buy & hold benchmark holds. Used by `engine.report.data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["benchmark_left_out", "event_cells", "read_events"]


def benchmark_left_out(missing: list[str], read: list[str]) -> str:
    """Return the note on the buy & hold benchmark when some symbols' bars are not read."""
    if not read:
        return (
            "without bars the buy & hold benchmark is left out: its line on the equity "
            "chart and the benchmark figures (benchmark return and CAGR, alpha, beta, "
            "information ratio, correlation) are empty unless --benchmark is given"
        )
    return (
        f"the buy & hold benchmark and its figures hold {', '.join(read)} only, without "
        f"{', '.join(missing)}, unless --benchmark is given"
    )


def event_cells(row: dict[str, Any]) -> dict[str, str]:
    from engine.report.artifacts import iso  # artifacts imports this module's users

    amount = row["amount"]
    return {
        "ts_event": iso(row["ts_event"]),
        "kind": str(row["kind"]),
        "symbol": str(row["symbol"]),
        "amount": "" if amount is None else f"{amount:,.2f}",
        "detail": str(row["detail"]),
    }


def read_events(path: Path) -> list[dict[str, str]]:
    """Return ``events.csv`` rows as text cells (older runs have no such file: none)."""
    if not path.is_file():
        return []
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows: list[dict[str, str]] = []
    for record in frame.to_dict("records"):
        cells = {str(key): str(value) for key, value in record.items()}
        if cells.get("amount"):
            cells["amount"] = f"{float(cells['amount']):,.2f}"
        rows.append(cells)
    return rows
