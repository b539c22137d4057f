"""The rows of a live account's tables as values: orders, fills, baseline, state, timers.

In: nothing (pure values, and the check of a strategy state's JSON). Out: `LiveOrder`,
`LiveFill`, `Baseline`, `SavedState`, `StoredTimer`, `StoredTrail`, `EquityRow`,
`LiveStatus` and `encode_state`, which `engine.runtime.live.ledger` reads and writes (and
re-exports: import them from there). Split from the ledger to keep it under ~600 lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, NamedTuple

from engine.errors import StrategyError

__all__ = [
    "BASELINE",
    "Baseline",
    "EquityRow",
    "LiveFill",
    "LiveOrder",
    "LiveStatus",
    "SavedState",
    "StoredTimer",
    "StoredTrail",
    "encode_state",
]

BASELINE = "baseline"  # the client id of fills already in the baseline wallet


@dataclass(frozen=True)
class Baseline:
    """The wallet (asset -> total) at exchange time ``at_ms``, when the node first saw it."""

    exchange: str
    at_ms: int
    wallet: dict[str, float]


class LiveStatus(StrEnum):
    """A live order's state as the node knows it."""

    STAGED = "staged"  # written, not sent: a perpetual stop's move (`.stopmove`)
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
        return self in (LiveStatus.FILLED, LiveStatus.CANCELED, LiveStatus.REJECTED,
                        LiveStatus.EXPIRED)  # fmt: skip


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
    stop_price: float | None = None  # a stop's trigger price (None: not a stop)
    list_id: str | None = None  # the exchange-side OCO's listClientOrderId (None: no list)
    post_only: bool = False  # a post-only limit, sent as LIMIT_MAKER
    expire_ns: int | None = None  # when the node expires it (DAY/GTD; ns UTC)
    replaces: str | None = None  # a modification's new order: the client id it replaces
    triggered_from: str | None = None  # the refused stop it stands in for (`.triggered`)
    amending: str | None = None  # a perpetual's in-place modification in flight (JSON)
    reduce_only: bool = False  # it went out reduceOnly (a perpetual's; version 16)

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


@dataclass(frozen=True)
class SavedState:
    """One row of ``live_strategy_state``: ``state`` saved at wall time ``saved_at`` (ISO
    8601, UTC) after the bar closing at ``ts_event`` (ns since the epoch; 0 if none)."""

    strategy_id: str
    saved_at: str
    ts_event: int
    state: dict[str, Any]


class StoredTimer(NamedTuple):
    """One row of ``live_timers``: timer ``name`` every ``interval_ns``, next due ``due_ns``."""

    name: str
    interval_ns: int
    due_ns: int


@dataclass(frozen=True)
class StoredTrail:
    """One row of ``live_trails``: a node-managed trailing stop (see the schema's comment).

    ``offset_type`` is the engine's `TrailingOffsetType` value; ``client_id`` is the
    current link's (the one being sent while ``replacing``), ``replaces`` the link a move
    cancels ("" for none); ``state`` ``working``, ``replacing`` or ``done``.
    """

    order_id: str
    offset: float
    offset_type: str
    best: float
    stop: float
    link: int
    client_id: str
    replaces: str
    state: str

    def but(self, **changes: Any) -> StoredTrail:
        """Return a copy with ``changes``."""
        return replace(self, **changes)


class EquityRow(NamedTuple):
    """One row of ``live_equity``: the account after the bar closing at ``ts_ns`` (ns)."""

    ts_ns: int
    session: int
    cash: float
    equity: float
    gross_exposure: float


_JSON_SCALARS = (str, int, float, bool, type(None))


def _unfit(value: Any, where: str) -> str | None:
    """Return where in ``value`` something JSON cannot hold sits (and its type), else None."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has a key {key!r} of type {type(key).__name__} (keys are str)"
            found = _unfit(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _unfit(item, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, _JSON_SCALARS):
        return None
    return f"{where} is a {type(value).__name__}"


def encode_state(strategy_id: str, state: dict[str, Any]) -> str:
    """Return ``state`` as JSON with sorted keys (the stored and compared form).

    Raises:
        StrategyError: A value JSON cannot hold (a datetime, a numpy number, a set, an
            object) or a key that is not a str; the message names the key and the type.
    """
    unfit = _unfit(state, "state")
    if unfit:
        raise StrategyError(
            f"strategy {strategy_id!r}: on_save returned a state JSON cannot hold: {unfit}; "
            "return str, int, float, bool, None, lists and dicts with str keys (a time as "
            "int ns, a numpy number through float() or int())"
        )
    return json.dumps(state, sort_keys=True)
