"""The live account's orders and fills in the run store: the order manager's memory.

In: a `RunStore` and an account name. Out: `LiveOrder` rows (inserted before an order is
sent, updated as the exchange answers) and the exchange's fills (keyed by trade id, so
writing one twice keeps one row). Tables: ``live_orders`` and ``live_fills``
(`engine.persistence.schema`, version 4).

Nothing secret is written here: the rows hold ids, symbols, quantities and prices only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from engine.persistence import RunStore
from engine.persistence.schema import live_fills, live_orders

__all__ = ["LiveFill", "LiveLedger", "LiveOrder", "LiveStatus"]


class LiveStatus(StrEnum):
    """A live order's state as the node knows it."""

    SENDING = "sending"  # written, the request may or may not have left
    UNKNOWN = "unknown"  # sent, no answer says whether the exchange has it
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """True once nothing more can happen to the order."""
        return self in (
            LiveStatus.FILLED,
            LiveStatus.CANCELED,
            LiveStatus.REJECTED,
            LiveStatus.EXPIRED,
        )


@dataclass(frozen=True)
class LiveOrder:
    """One row of ``live_orders`` (``origin``: ``node`` or ``external``)."""

    client_id: str
    order_id: str
    strategy_id: str
    symbol: str
    side: str
    order_type: str
    quantity: float
    limit_price: float | None
    time_in_force: str
    status: LiveStatus
    origin: str = "node"
    exchange_order_id: str | None = None
    filled_quantity: float = 0.0
    average_price: float | None = None
    ts_created: int = 0
    ts_last: int = 0
    reason: str = ""

    def but(self, **changes: Any) -> LiveOrder:
        """Return a copy with ``changes``."""
        return replace(self, **changes)


@dataclass(frozen=True)
class LiveFill:
    """One row of ``live_fills``: the exchange's trade ``trade_id`` of order ``client_id``."""

    trade_id: str
    client_id: str
    exchange_order_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    fee_asset: str
    liquidity: str
    ts_event: int


def _order(row: dict[str, Any]) -> LiveOrder:
    row = {k: v for k, v in row.items() if k != "account"}
    row["status"] = LiveStatus(row["status"])
    return LiveOrder(**row)


class LiveLedger:
    """Read and write one live account's orders and fills."""

    def __init__(self, store: RunStore, account: str) -> None:
        """Use ``store`` for account ``account``."""
        self.store = store
        self.account = account

    def insert(self, order: LiveOrder) -> None:
        """Write a new order (one transaction; committed when this returns)."""
        row = {"account": self.account, **asdict(order), "status": str(order.status)}
        self.store.transact(
            f"recording live order {order.client_id}",
            lambda conn: conn.execute(live_orders.insert().values(**row)),
        )

    def save(self, order: LiveOrder) -> None:
        """Write an order's new state over its row."""
        values = {**asdict(order), "status": str(order.status)}
        values.pop("client_id")
        query = (
            update(live_orders)
            .where(live_orders.c.account == self.account)
            .where(live_orders.c.client_id == order.client_id)
            .values(**values)
        )
        self.store.transact(f"updating live order {order.client_id}", lambda c: c.execute(query))

    def get(self, client_id: str) -> LiveOrder | None:
        """Return the order with ``client_id``, if recorded."""
        rows = self.store.read(
            select(live_orders)
            .where(live_orders.c.account == self.account)
            .where(live_orders.c.client_id == client_id)
        )
        return _order(rows[0]) if rows else None

    def orders(self, statuses: Sequence[LiveStatus] | None = None) -> list[LiveOrder]:
        """Return the account's orders (of ``statuses``), oldest first."""
        query = select(live_orders).where(live_orders.c.account == self.account)
        if statuses is not None:
            query = query.where(live_orders.c.status.in_([str(s) for s in statuses]))
        rows = self.store.read(query.order_by(live_orders.c.ts_created, live_orders.c.client_id))
        return [_order(r) for r in rows]

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
        rows = self.store.read(
            select(func.max(live_fills.c.ts_event).label("last")).where(
                live_fills.c.account == self.account
            )
        )
        last = rows[0]["last"] if rows else None
        return int(last) if last is not None else None
