"""The live node's tables (`engine.runtime.live`) in the run store's one `metadata`.

In: nothing; out: the `Table` objects `engine.persistence.schema` re-exports and its
migrations create (versions 5, 8-12: see that module's docstring). Split from it only to
keep each file readable; the ledger (`engine.runtime.live.ledger`) reads and writes them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, Table, Text

from engine.persistence.metadata import metadata

__all__ = [
    "live_accounts",
    "live_bars",
    "live_equity",
    "live_fills",
    "live_orders",
    "live_strategy_state",
    "live_timers",
    "live_trails",
]

# Live trading (`engine.runtime.live`): an account's wallet when the node first saw it
# (``baseline_json``: asset -> total, at exchange time ``baseline_ms``), the reference that
# reconciliation compares the exchange's wallet with after adding every fill since;
# ``sessions`` counts the node's starts (part of every client order id).
live_accounts = Table(
    "live_accounts",
    metadata,
    Column("account", Text, primary_key=True),
    Column("exchange", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("baseline_ms", BigInteger, nullable=False),
    Column("baseline_json", Text, nullable=False),
    Column("sessions", Integer, nullable=False, server_default="0"),
    Column("config_toml", Text),  # the latest session's config (version 11; None before)
)
# One row per order of an ``account``, keyed by the
# deterministic client order id, inserted *before* the order is sent (status ``sending``);
# ``origin`` is ``node`` or ``external`` (found on the exchange, never placed by the node).
live_orders = Table(
    "live_orders",
    metadata,
    Column("account", Text, primary_key=True),
    Column("client_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("strategy_id", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("order_type", Text, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("limit_price", Float),
    Column("time_in_force", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("exchange_order_id", Text),
    Column("filled_quantity", Float, nullable=False),
    Column("average_price", Float),
    Column("ts_created", BigInteger, nullable=False),
    Column("ts_last", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("stop_price", Float),
    Column("list_id", Text),
    Column("post_only", Integer),  # version 13: 1 for a post-only limit (LIMIT_MAKER)
    Column("expire_ns", BigInteger),  # version 13: when the node expires a DAY/GTD order
    Column("replaces", Text),  # version 13: the client id a modification replaces
    # version 14: the refused stop (client id) this order was sent in place of
    Column("triggered_from", Text),
    Column("amending", Text),  # version 15: a perpetual's in-place modification in flight
    Column("reduce_only", Integer),  # version 16: 1 if it went out reduceOnly
)
# A node-managed trailing stop (`engine.runtime.live.trailing`), one row per account and
# engine order id: the exchange holds a plain stop order, link ``link`` (0, 1, ...) of the
# order's chain, whose client id is ``client_id``; ``best`` is the best price since
# placement and ``stop`` the stop that link stands at. ``state`` is ``working``,
# ``replacing`` (written before the link ``replaces`` names is canceled and link ``link``
# is sent: a restart finishes the move) or ``done``.
live_trails = Table(
    "live_trails",
    metadata,
    Column("account", Text, primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("offset", Float, nullable=False),
    Column("offset_type", Text, nullable=False),
    Column("best", Float, nullable=False),
    Column("stop", Float, nullable=False),
    Column("link", Integer, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("replaces", Text, nullable=False),
    Column("state", Text, nullable=False),
)
# The exchange's fills of an account's orders, keyed by the exchange's trade id (writing one
# twice is a no-op); ``fee`` is in ``fee_asset``.
live_fills = Table(
    "live_fills",
    metadata,
    Column("account", Text, primary_key=True),
    Column("trade_id", Text, primary_key=True),
    Column("client_id", Text, nullable=False),
    Column("exchange_order_id", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("price", Float, nullable=False),
    Column("fee", Float, nullable=False),
    Column("fee_asset", Text, nullable=False),
    Column("liquidity", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
)

# A live strategy's own state (`Strategy.on_save`), one row per account and strategy id,
# overwritten as it changes: ``state_json`` (sorted keys) saved at wall time ``saved_at``
# (ISO 8601, UTC) after the bar closing at ``ts_event`` (ns since the epoch; 0 if none).
live_strategy_state = Table(
    "live_strategy_state",
    metadata,
    Column("account", Text, primary_key=True),
    Column("strategy_id", Text, primary_key=True),
    Column("saved_at", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("state_json", Text, nullable=False),
)

# A live strategy's recurring timers (``ctx.set_timer``), one row per account, strategy id,
# name and interval: ``due_ns`` is the next due time (ns) when the row was written. Only its
# phase (``due_ns`` modulo ``interval_ns``) matters: a restart puts a timer ``on_start`` sets
# again back on it. Rewritten as a whole when a phase, a name or an interval changes.
live_timers = Table(
    "live_timers",
    metadata,
    Column("account", Text, primary_key=True),
    Column("strategy_id", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("interval_ns", BigInteger, primary_key=True, autoincrement=False),
    Column("due_ns", BigInteger, nullable=False),
)
# A live account's equity after each bar (``ts_ns``: the bar's close, ns), in the account
# currency, written in the bar's checkpoint; ``session`` is the node's start that wrote it
# (`live_accounts.sessions`). Appended: a restart never rewrites an earlier session's row.
live_equity = Table(
    "live_equity",
    metadata,
    Column("account", Text, primary_key=True),
    Column("ts_ns", BigInteger, primary_key=True, autoincrement=False),
    Column("session", Integer, nullable=False),
    Column("cash", Float, nullable=False),
    Column("equity", Float, nullable=False),
    Column("gross_exposure", Float, nullable=False),
)


# The closed bars a live node handled (``ts_ns``: the bar's close, ns; ``timeframe_ns`` its
# length), one row per account, symbol and close, written in the bar's checkpoint with its
# equity row; ``session`` is the node's start that wrote it. Appended: never rewritten.
live_bars = Table(
    "live_bars",
    metadata,
    Column("account", Text, primary_key=True),
    Column("symbol", Text, primary_key=True),
    Column("ts_ns", BigInteger, primary_key=True, autoincrement=False),
    Column("timeframe_ns", BigInteger, nullable=False),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    Column("session", Integer, nullable=False),
)
