"""`SweepStore`: parameter sweeps, their trials and walk-forward analyses in the run store.

In: a `RunStore` (its engine, locking and retries) and plain rows built by the optimizer
(`engine.optimize.search.trial_row`, `engine.optimize.walkforward.stored_row`). Out: the
``sweeps``, ``sweep_trials``, ``sweep_runs`` (a trial's full run, written by
``--keep-best``) and ``walkforwards`` rows (`engine.persistence.schema`). Each finished
trial is committed in its own short transaction as soon as it arrives, so a sweep killed at
any moment keeps every trial that finished; ``--resume`` reads them back (`trials`) and
runs only the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from engine.errors import RunLookupError, did_you_mean
from engine.persistence.schema import sweep_runs, sweep_trials, sweeps, walkforwards
from engine.persistence.store import RunStore

__all__ = ["SweepStore"]


class SweepStore:
    """Sweeps and trials in a `RunStore`'s database (same locking, retries and errors)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        # Version 4 creates these tables; a store at version 4 from a branch that gave the
        # number to other tables lacks them: create them then, never drop or change anything.
        store.ensure_tables(sweeps, sweep_trials, sweep_runs, walkforwards)

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
        return self.resolve_any(text, walkforward=False)[1]

    def resolve_any(self, text: str, *, walkforward: bool = True) -> tuple[str, str]:
        """Return ``(kind, id)`` of the one sweep or walk-forward that ``text`` names.

        ``kind`` is ``"sweep"`` or ``"walkforward"`` (only sweeps unless ``walkforward``);
        ``text`` is the id or its unique beginning.

        Raises:
            RunLookupError: Nothing, or several, match.
        """
        ids = {str(r["sweep_id"]): "sweep" for r in self.store.read(select(sweeps.c.sweep_id))}
        if walkforward:
            found_wf = self.store.read(select(walkforwards.c.walkforward_id))
            ids.update({str(r["walkforward_id"]): "walkforward" for r in found_wf})
        what = "sweep or walk-forward" if walkforward else "sweep"
        if text in ids:
            return ids[text], text
        found = sorted(key for key in ids if key.startswith(text))
        if len(found) == 1:
            return ids[found[0]], found[0]
        if found:
            raise RunLookupError(f"{what} {text!r} is ambiguous: {', '.join(found[:5])}")
        hint = did_you_mean(text, list(ids))
        raise RunLookupError(f"no {what} {text!r} in {self.store.display_url}{hint}")

    def list_sweeps(self) -> list[dict[str, Any]]:
        """Return every sweep (newest first) with its trial count."""
        rows = self.store.read(
            select(sweeps.c.sweep_id, sweeps.c.name, sweeps.c.created_at, sweeps.c.status)
        )
        counted = select(sweep_trials.c.sweep_id, func.count().label("trials")).group_by(
            sweep_trials.c.sweep_id
        )
        counts = {r["sweep_id"]: int(r["trials"]) for r in self.store.read(counted)}
        for row in rows:
            row["trials"] = counts.get(row["sweep_id"], 0)
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

    def link_run(self, sweep_id: str, trial: int, run_id: str) -> None:
        """Record ``run_id`` as the full run of trial ``trial`` (replacing an earlier one)."""

        def link(conn: Connection) -> None:
            conn.execute(
                delete(sweep_runs).where(
                    (sweep_runs.c.sweep_id == sweep_id) & (sweep_runs.c.trial == trial)
                )
            )
            conn.execute(sweep_runs.insert(), [{"sweep_id": sweep_id, "trial": trial,
                                                "run_id": run_id}])  # fmt: skip

        self.store.transact(f"linking run {run_id} to sweep {sweep_id}", link)

    def kept_runs(self, sweep_id: str) -> dict[int, str]:
        """Return trial number -> run id of a sweep's full runs."""
        rows = self.store.read(
            select(sweep_runs.c.trial, sweep_runs.c.run_id).where(sweep_runs.c.sweep_id == sweep_id)
        )
        return {int(r["trial"]): str(r["run_id"]) for r in rows}

    def sweeps_of_runs(self, run_ids: list[str]) -> dict[str, tuple[str, int]]:
        """Return run id -> (sweep id, trial) for the given runs that are a trial's run."""
        if not run_ids:
            return {}
        rows = self.store.read(select(sweep_runs).where(sweep_runs.c.run_id.in_(run_ids)))
        return {str(r["run_id"]): (str(r["sweep_id"]), int(r["trial"])) for r in rows}

    def save_walkforward(self, row: Mapping[str, Any]) -> None:
        """Store a walk-forward analysis, replacing the one with the same id (a rerun)."""
        wf_id = row["walkforward_id"]

        def save(conn: Connection) -> None:
            conn.execute(delete(walkforwards).where(walkforwards.c.walkforward_id == wf_id))
            conn.execute(walkforwards.insert(), [dict(row)])

        self.store.transact(f"saving walk-forward {wf_id}", save)

    def list_walkforwards(self) -> list[dict[str, Any]]:
        """Return every walk-forward analysis (newest first), windows decoded."""
        rows = [self._decoded(r) for r in self.store.read(select(walkforwards))]
        return sorted(rows, key=lambda r: (r["created_at"], r["walkforward_id"]), reverse=True)

    def get_walkforward(self, wf_id: str) -> dict[str, Any] | None:
        """Return one walk-forward analysis (JSON columns decoded), or None."""
        rows = self.store.read(select(walkforwards).where(walkforwards.c.walkforward_id == wf_id))
        return self._decoded(rows[0]) if rows else None

    @staticmethod
    def _decoded(row: dict[str, Any]) -> dict[str, Any]:
        for name in ("spec", "windows", "metrics", "stability"):
            row[name] = json.loads(row.pop(f"{name}_json"))
        return row

    def delete_sweep(self, sweep_id: str) -> bool:
        """Delete a sweep and its trials; return whether it existed."""

        def remove(conn: Connection) -> bool:
            conn.execute(delete(sweep_runs).where(sweep_runs.c.sweep_id == sweep_id))
            conn.execute(delete(sweep_trials).where(sweep_trials.c.sweep_id == sweep_id))
            return bool(conn.execute(delete(sweeps).where(sweeps.c.sweep_id == sweep_id)).rowcount)

        return self.store.transact(f"deleting sweep {sweep_id}", remove)
