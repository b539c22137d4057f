"""The paper account in the run store: its row, its write-ahead journal and its outputs.

In: a `RunStore` and an account name. Out: the account (`Account`), the journal's entries
in order, and idempotent writes of the outputs (orders, fills, equity, the ``runs`` row).

The journal is the account's truth. Every input the node is about to process (a closed
bar, a trade, a quote, a firing of the strategy's timers with its time, a cancel of the open
orders at a graceful stop) is committed as one row *before* the node sees it, numbered by
``seq``. Replaying the rows in order through the same deterministic kernel rebuilds cash,
positions, open orders, fills and the strategy's state exactly, so a SIGKILL at any moment
loses nothing: what was committed is replayed, what was not was never processed (the feed
delivers it again on resume). A new account's warm-up bars (fetched once, before its start)
are its first rows, written with the account itself: every restart builds the node over the
same history, never a refetched one.

Outputs are derived data for ``kestrel runs`` and reports, written under the account's
``run_id`` by delete-then-insert on their keys (order id, fill id, equity time): the ids
are deterministic, so writing the same output twice (a restart re-derives everything)
leaves one row. An input's outputs are written with the next input's journal row, or on
their own once the feed has nothing ready (`PaperSession.flush_pending`); a crash before
they are written is repaired by the next start's replay.

One process runs an account at a time: `claim` records ``host:pid`` and refuses while
another live process on this host holds it (a SIGKILLed holder is dead: taken over).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from engine.errors import ConfigError, KestrelError
from engine.model import Bar, QuoteTick, TradeTick
from engine.persistence import RunStore
from engine.persistence.schema import (
    equity,
    fills,
    orders,
    paper_accounts,
    paper_journal,
    runs,
)
from engine.persistence.store import writer_id

__all__ = [
    "Account",
    "Entry",
    "Outputs",
    "PaperJournal",
    "bar_entry",
    "entry_bar",
    "entry_event",
    "event_entry",
]

_BAR_FIELDS = ("ts_init", "open", "high", "low", "close", "volume", "timeframe_ns")
_TRADE_FIELDS = ("ts_init", "price", "size", "aggressor_side", "trade_id")
_QUOTE_FIELDS = ("ts_init", "bid_price", "ask_price", "bid_size", "ask_size")


@dataclass(frozen=True)
class Account:
    """A paper account's row: ``parts`` maps each config part to its hash."""

    name: str
    run_id: str
    created_at: str
    start_ns: int
    config_toml: str
    parts: dict[str, str]
    writer: str | None


@dataclass(frozen=True)
class Entry:
    """One journaled input: ``bar``, ``trade``, ``quote``, ``timer``, ``cancel_open``, ``warmup``.

    ``payload`` holds its fields (a ``timer`` entry: none; its ``ts_event`` is the time the
    node's timers were fired up to). ``warmup`` entries (a bar's fields) come first: the
    history the node is built with, never delivered as an input (`PaperJournal.create`).
    """

    kind: str
    ts_event: int
    symbol: str | None
    payload: dict[str, Any]


def bar_entry(bar: Bar) -> Entry:
    """Return the journal entry of ``bar`` (JSON floats round-trip exactly)."""
    payload = {name: getattr(bar, name) for name in _BAR_FIELDS}
    return Entry("bar", bar.ts_event, bar.symbol, payload)


def entry_bar(entry: Entry) -> Bar:
    """Return the `Bar` a ``bar`` entry holds."""
    p = entry.payload
    assert entry.symbol is not None
    return Bar(
        entry.symbol,
        entry.ts_event,
        int(p["ts_init"]),
        float(p["open"]),
        float(p["high"]),
        float(p["low"]),
        float(p["close"]),
        float(p["volume"]),
        int(p["timeframe_ns"]),
    )


def event_entry(event: Bar | TradeTick | QuoteTick) -> Entry:
    """Return the journal entry of a bar, trade or quote (JSON floats round-trip exactly)."""
    if type(event) is Bar:
        return bar_entry(event)
    if type(event) is TradeTick:
        payload = {name: getattr(event, name) for name in _TRADE_FIELDS}
        return Entry("trade", event.ts_event, event.symbol, payload)
    payload = {name: getattr(event, name) for name in _QUOTE_FIELDS}
    return Entry("quote", event.ts_event, event.symbol, payload)


def entry_event(entry: Entry) -> Bar | TradeTick | QuoteTick:
    """Return the bar, trade or quote a ``bar`` / ``trade`` / ``quote`` entry holds."""
    if entry.kind == "bar":
        return entry_bar(entry)
    p = entry.payload
    assert entry.symbol is not None
    if entry.kind == "trade":
        return TradeTick(
            entry.symbol,
            entry.ts_event,
            int(p["ts_init"]),
            float(p["price"]),
            float(p["size"]),
            str(p["aggressor_side"]),
            str(p["trade_id"]),
        )
    return QuoteTick(
        entry.symbol,
        entry.ts_event,
        int(p["ts_init"]),
        float(p["bid_price"]),
        float(p["ask_price"]),
        float(p["bid_size"]),
        float(p["ask_size"]),
    )


@dataclass
class Outputs:
    """Rows to (re)write for ``kestrel runs``: keyed, so writing them twice is harmless."""

    run_row: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    equity: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.run_row or self.orders or self.fills or self.equity)

    def merge(self, later: Outputs) -> None:
        """Add ``later``'s rows (a later version of a row replaces an earlier one)."""
        if later.run_row is not None:
            self.run_row = later.run_row
        for mine, theirs, key in (
            (self.orders, later.orders, "order_id"),
            (self.fills, later.fills, "fill_id"),
            (self.equity, later.equity, "ts_event"),
        ):
            replaced = {row[key] for row in theirs}
            mine[:] = [row for row in mine if row[key] not in replaced] + theirs


class PaperJournal:
    """The store side of one paper account."""

    def __init__(self, store: RunStore, account: str) -> None:
        self.store = store
        self.name = account
        self._seq = 0

    def load(self) -> Account | None:
        """Return the account, or None if the store has no account of that name."""
        rows = self.store.read(select(paper_accounts).where(paper_accounts.c.account == self.name))
        if not rows:
            return None
        row = rows[0]
        return Account(
            row["account"],
            row["run_id"],
            row["created_at"],
            int(row["start_ns"]),
            row["config_toml"],
            json.loads(row["config_parts"]),
            row["writer"],
        )

    def names(self) -> list[str]:
        """Return every paper account's name in the store, sorted."""
        query = select(paper_accounts.c.account).order_by(paper_accounts.c.account)
        return [row["account"] for row in self.store.read(query)]

    def create(
        self,
        run_id: str,
        created_at: str,
        start_ns: int,
        config_toml: str,
        parts: dict[str, str],
        warmup: Sequence[Bar] = (),
    ) -> Account:
        """Insert the account (claimed by this process); it starts after ``start_ns``.

        ``warmup``: the bars closed at or before ``start_ns`` its indicators are warmed
        with, journaled first as ``warmup`` entries in the same transaction (an account
        never exists with part of its warm-up).
        """
        late = [bar for bar in warmup if bar.ts_event > start_ns]
        if late:
            raise ConfigError(
                f"paper account {self.name!r}: warm-up bar {late[0].symbol} closing at "
                f"{late[0].ts_event} is after the account's start {start_ns}"
            )
        row = {
            "account": self.name,
            "run_id": run_id,
            "created_at": created_at,
            "start_ns": start_ns,
            "config_toml": config_toml,
            "config_parts": json.dumps(parts, sort_keys=True),
            "writer": writer_id(),
        }
        entries = [
            self._row(index + 1, Entry("warmup", e.ts_event, e.symbol, e.payload))
            for index, e in enumerate(bar_entry(bar) for bar in warmup)
        ]

        def write(conn: Connection) -> None:
            conn.execute(paper_accounts.insert(), [row])
            if entries:
                conn.execute(paper_journal.insert(), entries)

        self.store.transact(f"creating paper account {self.name!r}", write)
        self._seq = len(entries)
        return Account(self.name, run_id, created_at, start_ns, config_toml, parts, writer_id())

    def claim(self, parts: dict[str, str] | None = None) -> None:
        """Record this process as the account's writer, unless a live process holds it.

        ``parts``: config parts to store in its place (an older account's completed ones,
        `engine.runtime.paper.parts.check_parts`), in the same transaction.

        Raises:
            ConfigError: Another running process (on this host) holds the account.
        """
        me = writer_id()

        def take(conn: Connection) -> None:
            held = conn.execute(
                select(paper_accounts.c.writer).where(paper_accounts.c.account == self.name)
            ).scalar()
            if held and held != me and _alive(held):
                raise ConfigError(
                    f"paper account {self.name!r} is running in process {held}; stop it "
                    "first (Ctrl-C or kill -TERM) or use another --account"
                )
            change = update(paper_accounts).where(paper_accounts.c.account == self.name)
            stored = {} if parts is None else {"config_parts": json.dumps(parts, sort_keys=True)}
            conn.execute(change.values(writer=me, **stored))

        self.store.transact(f"opening paper account {self.name!r}", take)

    def release(self) -> None:
        """Clear the writer (a graceful stop)."""
        change = update(paper_accounts).where(paper_accounts.c.account == self.name)
        self.store.transact(
            f"closing paper account {self.name!r}",
            lambda conn: conn.execute(change.values(writer=None)),
        )

    def entries(self) -> Iterator[Entry]:
        """Yield the journal in ``seq`` order (and position `append` after it)."""
        query = (
            select(paper_journal)
            .where(paper_journal.c.account == self.name)
            .order_by(paper_journal.c.seq)
        )
        rows = self.store.read(query)
        self._seq = int(rows[-1]["seq"]) if rows else 0
        for row in rows:
            yield Entry(
                row["kind"], int(row["ts_event"]), row["symbol"], json.loads(row["payload"])
            )

    def count(self) -> int:
        """Return how many entries the journal holds."""
        query = select(func.count()).select_from(paper_journal)
        rows = self.store.read(query.where(paper_journal.c.account == self.name))
        return int(next(iter(rows[0].values())))

    def append(self, entry: Entry, run_id: str = "", outputs: Outputs | None = None) -> None:
        """Commit ``entry`` as the next row: durable before the node processes it.

        ``outputs`` of earlier entries still unwritten ride in the same transaction (one
        commit per input while catching up instead of two).
        """
        row = self._row(self._seq + 1, entry)

        def write(conn: Connection) -> None:
            conn.execute(paper_journal.insert(), [row])
            if outputs:
                _write_outputs(conn, run_id, outputs)

        self.store.transact(f"journaling paper account {self.name!r}", write)
        self._seq += 1

    def _row(self, seq: int, entry: Entry) -> dict[str, Any]:
        return {
            "account": self.name,
            "seq": seq,
            "kind": entry.kind,
            "ts_event": entry.ts_event,
            "symbol": entry.symbol,
            "payload": json.dumps(entry.payload, sort_keys=True),
        }

    def warmup(self) -> list[Bar]:
        """Return the account's warm-up bars (its ``warmup`` entries, in journal order)."""
        query = (
            select(paper_journal)
            .where(paper_journal.c.account == self.name, paper_journal.c.kind == "warmup")
            .order_by(paper_journal.c.seq)
        )
        return [
            entry_bar(Entry("warmup", int(r["ts_event"]), r["symbol"], json.loads(r["payload"])))
            for r in self.store.read(query)
        ]

    def write_outputs(self, run_id: str, outputs: Outputs) -> None:
        """Write ``outputs`` under ``run_id`` in one transaction, replacing rows by key."""
        if outputs:
            self.store.transact(
                f"saving paper account {self.name!r}",
                lambda conn: _write_outputs(conn, run_id, outputs),
            )


def _write_outputs(conn: Connection, run_id: str, outputs: Outputs) -> None:
    if outputs.run_row is not None:
        values = {k: v for k, v in outputs.run_row.items() if k != "run_id"}
        found = conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))
        if not found.rowcount:
            conn.execute(runs.insert(), [{**values, "run_id": run_id}])
    for table, key, rows in (
        (orders, "order_id", outputs.orders),
        (fills, "fill_id", outputs.fills),
        (equity, "ts_event", outputs.equity),
    ):
        _replace(conn, table, key, run_id, rows)


def _replace(
    conn: Connection, table: Any, key: str, run_id: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    if not rows:
        return
    keys = [row[key] for row in rows]
    for start in range(0, len(keys), 500):  # bound the IN list (SQLite's variable limit)
        chunk = keys[start : start + 500]
        conn.execute(delete(table).where(table.c.run_id == run_id, table.c[key].in_(chunk)))
    conn.execute(table.insert(), [{**row, "run_id": run_id} for row in rows])


def _alive(writer: str) -> bool:
    """True if ``host:pid`` names a running process on this host (other hosts: assume so)."""
    host, _, pid = writer.rpartition(":")
    if host != socket.gethostname():
        return True  # cannot tell; the user stops it there
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def missing_account(name: str, known: Sequence[str], url: str) -> KestrelError:
    """Return the error for ``--resume`` of an account the store does not have."""
    from engine.errors import did_you_mean

    hint = did_you_mean(name, known) if known else ""
    return ConfigError(f"no paper account {name!r} in {url}{hint}; drop --resume to start it")
