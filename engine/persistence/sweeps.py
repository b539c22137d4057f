"""`SweepStore`: parameter sweeps and their trials in the run store's database.

In: a `RunStore` (its engine, locking and retries) and plain rows built by the optimizer
(`engine.optimize.search.trial_row`). Out: the ``sweeps`` and ``sweep_trials`` rows
(`engine.persistence.schema`). Each finished trial is committed in its own short
transaction as soon as it arrives, so a sweep killed at any moment keeps every trial that
finished; ``--resume`` reads them back (`trials`) and runs only the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from engine.errors import RunLookupError, did_you_mean
from engine.persistence.schema import sweep_trials, sweeps
from engine.persistence.store import RunStore

__all__ = ["SweepStore"]


class SweepStore:
    """Sweeps and trials in a `RunStore`'s database (same locking, retries and errors)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        # Version 4 creates these tables; a store at version 4 from a branch that gave the
        # number to other tables lacks them: create them then, never drop or change anything.
        store.ensure_tables(sweeps, sweep_trials)

    def get_sweep(self, sweep_id: str) -> dict[str, Any] | None:
        """Return a sweep's row (``spec`` and ``guards`` decoded), or None."""
        rows = self.store.read(select(sweeps).where(sweeps.c.sweep_id == sweep_id))
        if not rows:
            return None
        row = rows[0]
        row["spec"] = json.loads(row.pop("spec_json"))
        guards = row.pop("guards_json")
        row["guards"] = json.loads(guards) if guards else None
        return row

    def resolve_id(self, text: str) -> str:
        """Return the one sweep id equal to or starting with ``text``.

        Raises:
            RunLookupError: No sweep, or several, match.
        """
        ids = [str(r["sweep_id"]) for r in self.store.read(select(sweeps.c.sweep_id))]
        if text in ids:
            return text
        found = [sweep_id for sweep_id in ids if sweep_id.startswith(text)]
        if len(found) == 1:
            return found[0]
        if found:
            raise RunLookupError(f"sweep {text!r} is ambiguous: {', '.join(sorted(found)[:5])}")
        hint = did_you_mean(text, ids)
        raise RunLookupError(f"no sweep {text!r} in {self.store.display_url}{hint}")

    def list_sweeps(self) -> list[dict[str, Any]]:
        """Return every sweep (newest first) with its trial count."""
        rows = self.store.read(
            select(sweeps.c.sweep_id, sweeps.c.name, sweeps.c.created_at, sweeps.c.status)
        )
        counts = self.store.read(select(sweep_trials.c.sweep_id))
        for row in rows:
            row["trials"] = sum(1 for c in counts if c["sweep_id"] == row["sweep_id"])
        return sorted(rows, key=lambda r: (r["created_at"], r["sweep_id"]), reverse=True)

    def begin_sweep(self, row: Mapping[str, Any]) -> None:
        """Insert a new sweep's row with ``status = 'running'``."""
        values = {**row, "status": "running", "guards_json": None}
        self.store.transact(
            f"saving sweep {row['sweep_id']}", lambda c: c.execute(sweeps.insert(), [values])
        )

    def set_status(self, sweep_id: str, status: str, guards: Mapping[str, Any] | None) -> None:
        """Set a sweep's status (and its guards, when given)."""
        values: dict[str, Any] = {"status": status}
        if guards is not None:
            values["guards_json"] = json.dumps(guards, sort_keys=True)
        self.store.transact(
            f"updating sweep {sweep_id}",
            lambda c: c.execute(update(sweeps).where(sweeps.c.sweep_id == sweep_id).values(values)),
        )

    def save_trial(self, sweep_id: str, row: Mapping[str, Any]) -> None:
        """Insert one finished trial in its own transaction."""
        values = {**row, "sweep_id": sweep_id}
        self.store.transact(
            f"saving trial {row['trial']} of sweep {sweep_id}",
            lambda c: c.execute(sweep_trials.insert(), [values]),
        )

    def trials(self, sweep_id: str, *, with_returns: bool = False) -> list[dict[str, Any]]:
        """Return a sweep's stored trials by number (``params``/``metrics`` decoded)."""
        columns = [c for c in sweep_trials.columns if with_returns or c.name != "returns"]
        rows = self.store.read(
            select(*columns)
            .where(sweep_trials.c.sweep_id == sweep_id)
            .order_by(sweep_trials.c.trial)
        )
        for row in rows:
            row["params"] = json.loads(row.pop("params_json"))
            metrics = row.pop("metrics_json")
            row["metrics"] = json.loads(metrics) if metrics else None
        return rows

    def drop_returns(self, sweep_id: str) -> None:
        """Forget a sweep's per-trial returns (kept only while it is unfinished)."""
        self.store.transact(
            f"updating sweep {sweep_id}",
            lambda c: c.execute(
                update(sweep_trials).where(sweep_trials.c.sweep_id == sweep_id).values(returns=None)
            ),
        )

    def delete_sweep(self, sweep_id: str) -> bool:
        """Delete a sweep and its trials; return whether it existed."""

        def remove(conn: Connection) -> bool:
            conn.execute(delete(sweep_trials).where(sweep_trials.c.sweep_id == sweep_id))
            return bool(conn.execute(delete(sweeps).where(sweeps.c.sweep_id == sweep_id)).rowcount)

        return self.store.transact(f"deleting sweep {sweep_id}", remove)
