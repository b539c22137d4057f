"""A live account's ``events.jsonl``: one JSON object per line, flushed as it is written.

In: a record's kind and its fields (never a key or a secret: none is ever passed here).
Out: lines ``{"kind": ..., "wall": <unix seconds>, ...}`` (keys sorted) appended to the file
in the account's folder (`engine.cli_live.account_folder`), folders created.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

__all__ = ["EventLog"]


class EventLog:
    """``events.jsonl``: one JSON object per line (no keys are ever passed to it)."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` for appending (its folders created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def write(self, kind: str, **data: Any) -> None:
        """Append one record (flushed at once)."""
        record = {"kind": kind, "wall": time.time(), **data}
        self._file.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()
