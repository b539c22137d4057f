"""A live account's ``events.jsonl``: one JSON object per line, flushed as it is written.

In: a record's kind and its fields (never a key or a secret: none is ever passed here).
Out: lines ``{"kind": ..., "wall": <unix seconds>, ...}`` (keys sorted) appended to the file
in the account's folder (`engine.cli_live.account_folder`), folders created; the run's
``stop`` record (`stop_record`), written however it ends, an error included.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runtime.live.checkpoint import Checkpoint
    from engine.runtime.live.orders import OrderManager
    from engine.runtime.live.perpetuals import ExchangeFunding
    from engine.runtime.live.serverclock import ServerClock
    from engine.runtime.live.stream import UserDataMonitor

__all__ = ["EventLog", "stop_record"]


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


def stop_record(
    log: EventLog,
    reason: str,
    bars: int,
    manager: OrderManager,
    checkpoint: Checkpoint,
    feed: Any,
    monitor: UserDataMonitor | None,
    server: ServerClock | None,
    funding: ExchangeFunding,
    **error: Any,
) -> None:
    """Write the run's ``stop`` record and close the log: why it stopped (``error: …``, the
    error's class and exit code when it ended on one), its bars, the checkpoint's, the
    streams' and the exchange clock's counts."""
    streams = {"feed": dataclasses.asdict(feed.stats)}
    if monitor is not None:
        streams["user_stream"] = vars(monitor.stats)
    reads = {"clock_reads": server.reads, "clock_failures": server.failures} if server else {}
    log.write("stop", reason=reason, bars=bars, halted=manager.halted,
              state_saves=checkpoint.state_saves, equity_rows=checkpoint.rows,
              equity_skipped=checkpoint.skipped, funding_booked=funding.booked,
              funding_payments=funding.payments, **streams, **reads, **error)  # fmt: skip
    log.close()
