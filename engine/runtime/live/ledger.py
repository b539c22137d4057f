"""The live account's orders and fills in the run store: the order manager's memory.

In: a `RunStore` and an account name. Out: `LiveOrder` rows (inserted before an order is sent,
updated as the exchange answers) and the exchange's fills (keyed by trade id, so writing one
twice keeps one row), and the account's baseline: its wallet when the node first saw it. Tables:
``live_accounts``, ``live_orders`` and ``live_fills`` (`engine.persistence.schema`, version 5).
Fills marked ``baseline`` (``client_id``) were already in the baseline wallet: they are recorded
only so they are not adopted again. ``live_strategy_state`` (version 8) holds the strategy's own
state, the JSON of its ``on_save`` hook (`save_state`, `load_state`): one row per strategy id,
overwritten. ``live_timers`` (version 9) holds its recurring timers (`load_timers`) and
``live_equity`` (version 9) the account's equity after each bar (`equity_rows`); ``live_bars``
(version 11) the closed bars the node handled (`bars`); `checkpoint` writes a bar's equity row,
the bar, state and timers in one transaction (`engine.runtime.live.checkpoint`).
``live_accounts.config_toml`` (version 11): the config the latest session ran with.
``live_orders.list_id`` (version 12) names the exchange-side OCO an order is a leg of and
``live_trails`` (version 12) holds the node-managed trailing stops (`StoredTrail`,
`engine.runtime.live.trailing`). ``live_orders.post_only``, ``expire_ns``, ``replaces`` (13): a
LIMIT_MAKER, a DAY/GTD order's expiry (`.expiry`), the client id a modification's new order
replaces (`.modify`); ``triggered_from`` (14): the refused stop an order stands in for
(`.triggered`); ``amending`` (15): a perpetual's modification in flight (`.amend`);
``reduce_only`` (16): it went out reduce-only (a restart adopts it so: `.restore`).

The account's **client-id nonce** (`client_nonce`) is a random number drawn when the account
is created, kept in ``live_accounts.baseline_json`` under `NONCE_KEY` beside the baseline
wallet (no asset is named so): client order ids hash it (`engine.runtime.live.orders.
client_order_id`), so two stores that hold an account of the same name never send the same
id (audit F3: a fresh store's first orders went out under another store's ids and adopted
its orders). An account created before it gets one at its next session (`begin_session`).

Nothing secret is written here: the rows hold ids, symbols, quantities and prices, and
the strategy's own state (what its ``on_save`` returns; the strategy never sees the keys).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Table, delete, func, select, update
from sqlalchemy.engine import Connection

from engine.model import Bar
from engine.persistence import RunStore
from engine.persistence.schema import (
    live_accounts,
    live_bars,
    live_equity,
    live_fills,
    live_orders,
    live_strategy_state,
    live_timers,
    live_trails,
)
from engine.runtime.live.rows import (
    BASELINE,
    Baseline,
    EquityRow,
    LiveFill,
    LiveOrder,
    LiveStatus,
    SavedState,
    StoredTimer,
    StoredTrail,
    encode_state,
)

__all__ = [
    "BASELINE",
    "NONCE_KEY",
    "Baseline",
    "EquityRow",
    "LiveFill",
    "LiveLedger",
    "LiveOrder",
    "LiveStatus",
    "SavedState",
    "StoredTimer",
    "StoredTrail",
    "encode_state",
]


def _order(row: dict[str, Any]) -> LiveOrder:
    row = {k: v for k, v in row.items() if k != "account"}
    row["status"] = LiveStatus(row["status"])
    row.update(post_only=bool(row.get("post_only")), reduce_only=bool(row.get("reduce_only")))
    return LiveOrder(**row)


NONCE_KEY = "~client-id-nonce"  # baseline_json's key of the account's client-id nonce


def _with_nonce(wallet: dict[str, Any]) -> str:
    """Return ``wallet`` as baseline JSON with a new client-id nonce (see the module).

    52 random bits, never 0: a JSON number every reader takes as the float it is exactly.
    """
    return json.dumps({**wallet, NONCE_KEY: secrets.randbits(52) | 1}, sort_keys=True)


class LiveLedger:
    """Read and write one live account's orders and fills."""

    def __init__(self, store: RunStore, account: str) -> None:
        """Use ``store`` for account ``account``."""
        self.store = store
        self.account = account
        self._nonce: int | None = None  # read once it exists (it never changes then)

    def baseline(self) -> Baseline | None:
        """Return the account's baseline, or None for an account never started."""
        rows = self.store.read(select(live_accounts).where(live_accounts.c.account == self.account))
        if not rows:
            return None
        row = rows[0]
        stored = json.loads(row["baseline_json"])
        stored.pop(NONCE_KEY, None)
        wallet = {str(k): float(v) for k, v in stored.items()}
        return Baseline(str(row["exchange"]), int(row["baseline_ms"]), wallet)

    def client_nonce(self) -> int | None:
        """Return the account's client-id nonce (see the module); None before it has one."""
        if self._nonce is None:
            mine = live_accounts.c.account == self.account
            rows = self.store.read(select(live_accounts.c.baseline_json).where(mine))
            nonce = json.loads(rows[0]["baseline_json"]).get(NONCE_KEY) if rows else None
            self._nonce = int(nonce) if nonce else None
        return self._nonce

    def create_account(self, baseline: Baseline, known: Sequence[LiveFill]) -> None:
        """Record a new account's baseline and the fills already in it, in one transaction."""

        def write(conn: Connection) -> None:
            conn.execute(
                live_accounts.insert().values(
                    account=self.account,
                    exchange=baseline.exchange,
                    created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    baseline_ms=baseline.at_ms,
                    baseline_json=_with_nonce(baseline.wallet),
                )
            )
            if known:
                rows = [
                    {"account": self.account, **asdict(f), "client_id": BASELINE} for f in known
                ]
                conn.execute(live_fills.insert(), rows)

        self.store.transact(f"creating live account {self.account}", write)

    def begin_session(self, config_toml: str | None = None) -> int:
        """Count one more start of the node; return its number (1 for the first).

        ``config_toml`` (the config this session runs with, as TOML text) replaces the
        stored one; None keeps it. Its money-deciding parts are the stored ones: ``kestrel
        live`` refuses a config that changes them (`.restore.check_same_config`).
        """

        def write(conn: Connection) -> int:
            where = live_accounts.c.account == self.account
            values: dict[str, Any] = {"sessions": live_accounts.c.sessions + 1}
            if config_toml is not None:
                values["config_toml"] = config_toml
            stored = conn.execute(select(live_accounts.c.baseline_json).where(where)).scalar()
            if stored is not None and NONCE_KEY not in json.loads(stored):  # an older account
                values["baseline_json"] = _with_nonce(json.loads(stored))
            conn.execute(update(live_accounts).where(where).values(**values))
            return int(conn.execute(select(live_accounts.c.sessions).where(where)).scalar_one())

        return self.store.transact(f"starting live account {self.account}", write)

    def config_toml(self) -> str | None:
        """Return the config (TOML text) the latest session ran with (None: none stored)."""
        rows = self.store.read(
            select(live_accounts.c.config_toml).where(live_accounts.c.account == self.account)
        )
        text = rows[0]["config_toml"] if rows else None
        return str(text) if text is not None else None

    @staticmethod
    def account_names(store: RunStore) -> list[str]:
        """Return the names of every live account in ``store``, sorted."""
        rows = store.read(select(live_accounts.c.account).order_by(live_accounts.c.account))
        return [str(row["account"]) for row in rows]

    def insert(self, order: LiveOrder) -> None:
        """Write a new order (one transaction; committed when this returns)."""
        self.insert_many([order])

    def save(self, order: LiveOrder) -> None:
        """Write an order's new state over its row."""
        query = self._saving(order)
        self.store.transact(f"updating live order {order.client_id}", lambda c: c.execute(query))

    def _saving(self, order: LiveOrder) -> Any:
        values = {k: v for k, v in asdict(order).items() if k not in ("client_id", "status")}
        mine = live_orders.c.account == self.account
        where = mine & (live_orders.c.client_id == order.client_id)
        return update(live_orders).where(where).values(**values, status=str(order.status))

    def get(self, client_id: str) -> LiveOrder | None:
        """Return the order with ``client_id``, if recorded."""
        rows = self.store.read(
            select(live_orders)
            .where(live_orders.c.account == self.account)
            .where(live_orders.c.client_id == client_id)
        )
        return _order(rows[0]) if rows else None

    def orders(
        self,
        statuses: Sequence[LiveStatus] | None = None,
        origin: str | None = "node",
        **matching: str,
    ) -> list[LiveOrder]:
        """Return the account's orders (of ``statuses``, of ``origin``: None: all), oldest first.

        ``matching``: columns the rows must equal (``order_id``, ``replaces``, ``list_id``,
        ``strategy_id``), asked of the database: the callers that want one order's rows
        read those, not every row of the account (the live parity tests re-read the
        whole table for each modification, cancel and trailing move).
        """
        query = select(live_orders).where(live_orders.c.account == self.account)
        if origin is not None:
            query = query.where(live_orders.c.origin == origin)
        if statuses is not None:
            query = query.where(live_orders.c.status.in_([str(s) for s in statuses]))
        for name, value in matching.items():
            query = query.where(live_orders.c[name] == value)
        rows = self.store.read(query.order_by(live_orders.c.ts_created, live_orders.c.client_id))
        return [_order(r) for r in rows]

    def insert_many(self, orders: Sequence[LiveOrder], ended: Sequence[LiveOrder] = ()) -> None:
        """Write new orders and the rows ``ended`` in one transaction (an OCO's legs)."""
        rows = [{"account": self.account, **asdict(o), "status": str(o.status)} for o in orders]

        def write(conn: Connection) -> None:
            for order in ended:  # a refused stop, ended with its stand-in's insert
                conn.execute(self._saving(order))
            conn.execute(live_orders.insert(), rows)

        self.store.transact("recording live order " + ", ".join(o.client_id for o in orders), write)

    def save_trail(self, trail: StoredTrail) -> None:
        """Write ``trail`` over its row (or as a new one); committed when this returns."""
        values = asdict(trail)
        order_id = values.pop("order_id")
        table = live_trails

        def write(conn: Connection) -> None:
            changed = conn.execute(
                update(table)
                .where(table.c.account == self.account)
                .where(table.c.order_id == order_id)
                .values(**values)
            )
            if changed.rowcount == 0:
                conn.execute(
                    table.insert().values(account=self.account, order_id=order_id, **values)
                )

        self.store.transact(f"recording trailing stop {order_id}", write)

    def trails(self, states: Sequence[str] | None = None) -> list[StoredTrail]:
        """Return the account's trailing stops (in ``states``), by order id."""
        query = select(live_trails).where(live_trails.c.account == self.account)
        if states is not None:
            query = query.where(live_trails.c.state.in_(list(states)))
        rows = self.store.read(query.order_by(live_trails.c.order_id))
        return [StoredTrail(**{k: v for k, v in r.items() if k != "account"}) for r in rows]

    def add_fills(self, new: Sequence[LiveFill]) -> list[LiveFill]:
        """Write the fills not yet recorded (by trade id); return those, in the given order."""

        def write(conn: Connection) -> list[LiveFill]:
            known = set(
                conn.execute(
                    select(live_fills.c.trade_id)
                    .where(live_fills.c.account == self.account)
                    .where(live_fills.c.trade_id.in_([f.trade_id for f in new]))
                ).scalars()
            )
            added = [f for f in new if f.trade_id not in known]
            if added:
                conn.execute(
                    live_fills.insert(), [{"account": self.account, **asdict(f)} for f in added]
                )
            return added

        return self.store.transact("recording live fills", write) if new else []

    def fills(self, client_id: str | None = None) -> list[LiveFill]:
        """Return the account's fills (of one order), in exchange time order."""
        query = select(live_fills).where(live_fills.c.account == self.account)
        if client_id is not None:
            query = query.where(live_fills.c.client_id == client_id)
        rows = self.store.read(query.order_by(live_fills.c.ts_event, live_fills.c.trade_id))
        return [LiveFill(**{k: v for k, v in r.items() if k != "account"}) for r in rows]

    def last_fill_ms(self) -> int | None:
        """Return the exchange time of the latest recorded fill (ms), if any."""
        return self._latest(live_fills, live_fills.c.ts_event)

    def _latest(self, table: Table, column: Column[Any]) -> int | None:
        """Return the account's largest ``column`` in ``table`` (None without rows)."""
        rows = self.store.read(
            select(func.max(column).label("last")).where(table.c.account == self.account)
        )
        last = rows[0]["last"] if rows else None
        return int(last) if last is not None else None

    def save_state(self, strategy_id: str, ts_event: int, state: dict[str, Any]) -> str:
        """Write ``strategy_id``'s state saved after the bar closing at ``ts_event`` (ns)
        over its row (or as a new one); return the JSON written.

        Raises:
            StrategyError: ``state`` is not JSON-serialisable (`encode_state`).
        """
        text = encode_state(strategy_id, state)
        self.store.transact(
            f"saving strategy {strategy_id}'s state",
            lambda conn: self._write_state(conn, strategy_id, ts_event, text),
        )
        return text

    def _write_state(self, conn: Connection, strategy_id: str, ts_event: int, text: str) -> None:
        values = {
            "saved_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "ts_event": ts_event,
            "state_json": text,
        }
        table = live_strategy_state
        changed = conn.execute(
            update(table)
            .where(table.c.account == self.account)
            .where(table.c.strategy_id == strategy_id)
            .values(**values)
        )
        if changed.rowcount == 0:
            conn.execute(
                table.insert().values(account=self.account, strategy_id=strategy_id, **values)
            )

    def load_state(self, strategy_id: str) -> SavedState | None:
        """Return ``strategy_id``'s last saved state, or None if none was saved."""
        table = live_strategy_state
        rows = self.store.read(
            select(table)
            .where(table.c.account == self.account)
            .where(table.c.strategy_id == strategy_id)
        )
        if not rows:
            return None
        row = rows[0]
        return SavedState(
            strategy_id,
            str(row["saved_at"]),
            int(row["ts_event"]),
            json.loads(row["state_json"]),
        )

    def load_timers(self, strategy_id: str) -> list[StoredTimer]:
        """Return ``strategy_id``'s stored timers, by name and interval."""
        table = live_timers
        rows = self.store.read(
            select(table.c.name, table.c.interval_ns, table.c.due_ns)
            .where(table.c.account == self.account)
            .where(table.c.strategy_id == strategy_id)
            .order_by(table.c.name, table.c.interval_ns)
        )
        return [StoredTimer(str(r["name"]), int(r["interval_ns"]), int(r["due_ns"])) for r in rows]

    def last_equity_ts(self) -> int | None:
        """Return the close (ns) of the account's last stored equity row, if any."""
        return self._latest(live_equity, live_equity.c.ts_ns)

    def equity_rows(self) -> list[EquityRow]:
        """Return the account's equity rows, oldest first (every session's)."""
        table = live_equity
        rows = self.store.read(
            select(table).where(table.c.account == self.account).order_by(table.c.ts_ns)
        )
        return [EquityRow(*(row[key] for key in EquityRow._fields)) for row in rows]

    def bars(self, symbol: str | None = None) -> list[Bar]:
        """Return the stored bars (of ``symbol``), by symbol then close time.

        ``ts_event`` is the bar's close (ns), as the node handled it; ``ts_init`` equals it.
        """
        table = live_bars
        query = select(table).where(table.c.account == self.account)
        if symbol is not None:
            query = query.where(table.c.symbol == symbol)
        rows = self.store.read(query.order_by(table.c.symbol, table.c.ts_ns))
        return [
            Bar(str(r["symbol"]), int(r["ts_ns"]), int(r["ts_ns"]), r["open"], r["high"],
                r["low"], r["close"], r["volume"], int(r["timeframe_ns"]))
            for r in rows
        ]  # fmt: skip

    def last_bar_ts(self) -> dict[str, int]:
        """Return each symbol's last stored bar close (ns); symbols without bars are absent."""
        table = live_bars
        rows = self.store.read(
            select(table.c.symbol, func.max(table.c.ts_ns).label("last"))
            .where(table.c.account == self.account)
            .group_by(table.c.symbol)
        )
        return {str(r["symbol"]): int(r["last"]) for r in rows}

    def checkpoint(
        self,
        strategy_id: str,
        *,
        state: tuple[int, str] | None = None,
        timers: list[StoredTimer] | None = None,
        equity: EquityRow | None = None,
        replace_equity: bool = False,
        bars: Sequence[Bar] = (),
        session: int = 0,
    ) -> None:
        """Write what a bar changed in one transaction (each part only if given).

        Args:
            strategy_id: The node's strategy.
            state: ``(ts_event, state JSON)``: written over the strategy's state row.
            timers: Every timer the strategy has now: they replace its stored ones.
            equity: A new equity row; with ``replace_equity`` it overwrites the row at its
                time (a later bar closing at the same time, in the same session).
            bars: New closed bars (never stored before: the caller checks), of ``session``.
        """

        def write(conn: Connection) -> None:
            if bars:
                conn.execute(
                    live_bars.insert(),
                    [
                        {"account": self.account, "symbol": b.symbol, "ts_ns": b.ts_event,
                         "timeframe_ns": b.timeframe_ns, "open": b.open, "high": b.high,
                         "low": b.low, "close": b.close, "volume": b.volume, "session": session}
                        for b in bars
                    ],
                )  # fmt: skip
            if state is not None:
                self._write_state(conn, strategy_id, *state)
            if timers is not None:
                table = live_timers
                conn.execute(
                    delete(table)
                    .where(table.c.account == self.account)
                    .where(table.c.strategy_id == strategy_id)
                )
                if timers:
                    conn.execute(
                        table.insert(),
                        [
                            {"account": self.account, "strategy_id": strategy_id, **t._asdict()}
                            for t in timers
                        ],
                    )
            if equity is not None:
                values = equity._asdict()
                if replace_equity:
                    conn.execute(
                        update(live_equity)
                        .where(live_equity.c.account == self.account)
                        .where(live_equity.c.ts_ns == equity.ts_ns)
                        .values(**values)
                    )
                else:
                    conn.execute(live_equity.insert().values(account=self.account, **values))

        self.store.transact(f"checkpointing live account {self.account}", write)
