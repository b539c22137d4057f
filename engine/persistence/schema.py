"""The store's tables, its schema version and the migrations between versions.

Tables (``run_id`` ties them together; deleting a run deletes its rows): ``runs`` (one row
per run: identity, config, headline metrics, metrics JSON, strategy parameters JSON and a
``status``), ``orders``, ``fills``, ``trades``, ``equity_blocks`` (a backtest's curve, see 4),
``equity`` (one row per bar timestamp: paper accounts, runs stored before 4),
``events`` (account and risk events), ``paper_accounts`` and ``paper_journal`` (a paper
account and the write-ahead journal of its inputs, `engine.runtime.paper.journal`), and
``schema_version`` (one row: the version).

Versions: 1 is the schema of the first release (no ``schema_version`` table: a store whose
``runs`` table exists without it is version 1). 2 adds ``runs.status`` (``writing`` until a
run's rows and folder are complete, then ``complete``; ``deleting`` while ``runs delete``
removes its files; existing runs become ``complete``), ``runs.writer``
(``host:pid`` of the process saving it, so ``kestrel runs gc`` can tell a crashed writer from
a live one) and ``runs.params_json`` (the strategy parameters, backfilled from each stored
config, so ``runs list`` can filter and sort on them), plus an index on ``created_at``.
3 adds ``paper_accounts`` and ``paper_journal``. 4 adds ``sweeps`` and ``sweep_trials`` (a
parameter sweep and one row per trial: `engine.persistence.sweeps`). 5 adds ``live_accounts``,
``live_orders`` and ``live_fills`` (a live account's starting wallet, its order manager's
orders, written before each is sent, and the exchange's fills, `engine.runtime.live.ledger`).
6 adds ``equity_blocks``: a backtest's equity curve as columnar blocks (one row per
`EQUITY_BLOCK_ROWS` bars, each column the little-endian int64 / float64 bytes of its values)
instead of one ``equity`` row per bar, which cost ~143 bytes and most of the saving time per
bar (``equity`` keeps the rows of runs stored before, and paper accounts', which grow a
snapshot at a time). 7 adds ``sweep_runs`` (the full run that ``optimize --keep-best`` or
``sweeps best`` wrote for a trial: ``runs list`` shows it as the trial's, ``runs compare
--sweep`` compares them; deleting the run deletes the link), ``sweeps.base_dir`` (the
config's folder, so ``sweeps best`` can rerun a trial) and ``walkforwards`` (a
walk-forward analysis: its windows, their chosen parameters and metrics, the stitched
out-of-sample metrics, efficiency and stability; the curve stays in its artifacts folder).
8 adds ``live_strategy_state`` (a live strategy's own state, the JSON its ``on_save`` hook
returned, one row per account and strategy id: `engine.runtime.live.ledger`). 9 adds
``live_timers`` (the phase of a live strategy's recurring timers, so a restart keeps their
schedule: `engine.runtime.live.timers`) and ``live_equity`` (a live account's equity after
each bar, appended across restarts: `engine.runtime.live.checkpoint`). 10 adds
``live_orders.stop_price`` (an exchange-side stop's trigger price, so a restarted node
adopts its stop orders as stops; NULL for the rows before, which were never stops). 11 adds
``live_bars`` (every closed bar a live node handled, written in the bar's checkpoint: the
live report's price chart, marks and buy-and-hold benchmark) and ``live_accounts.config_toml``
(the config the account's latest session ran with, so ``kestrel runs list`` can show and
measure a live account from the store alone; NULL until a session starts after the upgrade).
12 adds ``live_orders.list_id`` (the ``listClientOrderId`` of the exchange-side OCO an order
is a leg of; NULL for plain orders) and ``live_trails`` (a node-managed trailing stop: its
offset, best price, current stop and the link of its chain of exchange stop orders,
`engine.runtime.live.trailing`). 13 adds ``live_orders.post_only`` (a post-only limit, sent
as LIMIT_MAKER), ``live_orders.expire_ns`` (when the node expires a DAY or GTD order: Binance
spot has neither) and ``live_orders.replaces`` (the client id of the order a modification,
sent as a cancel-replace, replaces: `engine.runtime.live.modify`); NULL for the rows before.
14 adds ``live_orders.triggered_from`` (the client id of the stop the exchange refused as
already triggered, whose market or limit order this row is: `engine.runtime.live.triggered`);
NULL for the rows before and for every other order.
15 adds ``live_orders.amending`` (the terms of a perpetual's in-place modification in
flight, JSON, written before ``PUT /fapi/v1/order`` leaves: `engine.runtime.live.amend`).
16 adds ``live_orders.reduce_only`` (1: the order went out ``reduceOnly``, so a restarted
node adopts it as reduce-only: `engine.runtime.live.restore`); NULL for the rows before.
17 makes every string column unbounded ``TEXT``: PostgreSQL enforced the ``VARCHAR(n)``
lengths SQLite ignores, so a run over ~120 symbols (``runs.symbols`` > 1,000 characters), a
250-character run name or a long tag was stored in SQLite and lost on PostgreSQL after the
whole backtest. On PostgreSQL each such column becomes ``TEXT`` in place (rows kept); SQLite
has nothing to change. No column has a length any more (a test checks it).
Migrations only create tables, add nullable columns or widen a column's type. A later
release appends a function to `MIGRATIONS`; stored runs are kept.

Why not Alembic: migrations here must run inside the same locked transaction that creates
a fresh store (many processes start together), on SQLite and PostgreSQL alike, from an
installed wheel with no migration scripts folder. A version row plus ordered functions run
under that lock does this in one screen; the functions use Alembic-style plain DDL.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

__all__ = [
    "EQUITY_BLOCK_ROWS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "equity",
    "equity_blocks",
    "events",
    "fills",
    "live_accounts",
    "live_bars",
    "live_equity",
    "live_fills",
    "live_orders",
    "live_strategy_state",
    "live_timers",
    "live_trails",
    "metadata",
    "migrate",
    "orders",
    "paper_accounts",
    "paper_journal",
    "params_json",
    "runs",
    "schema_version",
    "sweep_runs",
    "sweep_trials",
    "sweeps",
    "trades",
    "walkforwards",
]

from engine.persistence.live_tables import (
    live_accounts,
    live_bars,
    live_equity,
    live_fills,
    live_orders,
    live_strategy_state,
    live_timers,
    live_trails,
)
from engine.persistence.metadata import metadata

runs = Table(
    "runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("symbols", Text, nullable=False),
    Column("created_at", Text, nullable=False, index=True),
    Column("start_ns", BigInteger),
    Column("end_ns", BigInteger),
    Column("bars", Integer, nullable=False),
    Column("initial_cash", Float, nullable=False),
    Column("final_equity", Float, nullable=False),
    Column("total_return", Float, nullable=False),
    Column("sharpe", Float),
    Column("max_drawdown", Float),
    Column("num_trades", Integer, nullable=False),
    Column("artifacts_dir", Text),
    Column("config_toml", Text, nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="complete"),
    Column("writer", Text),
    Column("params_json", Text),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)


def _child(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        metadata,
        Column(
            "run_id",
            Text,
            ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        *columns,
    )


orders = _child(
    "orders",
    Column("order_id", Text, primary_key=True),
    Column("strategy_id", Text),
    Column("symbol", Text),
    Column("side", Text),
    Column("order_type", Text),
    Column("quantity", Float),
    Column("limit_price", Float),
    Column("stop_price", Float),
    Column("time_in_force", Text),
    Column("status", Text),
    Column("filled_quantity", Float),
    Column("average_fill_price", Float),
    Column("fees", Float),
    Column("ts_requested", BigInteger),
    Column("ts_last", BigInteger),
    Column("check", Text),
    Column("reason", Text),
    Column("tag", Text),
)
fills = _child(
    "fills",
    Column("fill_id", Text, primary_key=True),
    Column("order_id", Text),
    Column("symbol", Text),
    Column("side", Text),
    Column("quantity", Float),
    Column("price", Float),
    Column("fee", Float),
    Column("liquidity", Text),
    Column("ts_event", BigInteger),
)
trades = _child(
    "trades",
    Column("trade_id", Integer, primary_key=True, autoincrement=False),
    Column("symbol", Text),
    Column("side", Text),
    Column("entry_time", BigInteger),
    Column("exit_time", BigInteger),
    Column("quantity", Float),
    Column("entry_price", Float),
    Column("exit_price", Float),
    Column("gross_pnl", Float),
    Column("fees", Float),
    Column("net_pnl", Float),
    Column("return_pct", Float),
)
events = _child(
    "events",
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts_event", BigInteger),
    Column("kind", Text),
    Column("symbol", Text),
    Column("amount", Float),
    Column("detail", Text),
)
equity = _child(
    "equity",
    Column("ts_event", BigInteger, primary_key=True, autoincrement=False),
    Column("cash", Float),
    Column("equity", Float),
    Column("gross_exposure", Float),
)
# A backtest's equity curve, `EQUITY_BLOCK_ROWS` bars a row: ``rows`` values per column, as
# little-endian int64 (``ts_event``, ns) and float64 bytes, blocks numbered from 0 in time
# order. Exact (the bytes are the values) and ~32 bytes per bar, written in a few statements.
EQUITY_BLOCK_ROWS = 65_536
equity_blocks = _child(
    "equity_blocks",
    Column("block", Integer, primary_key=True, autoincrement=False),
    Column("rows", Integer, nullable=False),
    Column("ts_event", LargeBinary, nullable=False),
    Column("cash", LargeBinary, nullable=False),
    Column("equity", LargeBinary, nullable=False),
    Column("gross_exposure", LargeBinary, nullable=False),
)

# A paper account (`engine.runtime.paper`): its outputs live under ``run_id`` in the tables above;
# ``config_parts`` holds a hash per decision-making part of its config (resume refuses a
# change); ``writer`` is ``host:pid`` of the process running it, None once stopped.
paper_accounts = Table(
    "paper_accounts",
    metadata,
    Column("account", Text, primary_key=True),
    Column("run_id", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("config_toml", Text, nullable=False),
    Column("config_parts", Text, nullable=False),
    Column("writer", Text),
)
# The write-ahead journal: every input of the account's node, committed before it is
# processed; ``payload`` is the event's fields as JSON (floats round-trip exactly).
paper_journal = Table(
    "paper_journal",
    metadata,
    Column(
        "account",
        Text,
        ForeignKey("paper_accounts.account", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("symbol", Text),
    Column("payload", Text, nullable=False),
)


# A parameter sweep (`kestrel optimize`): ``spec_json`` is what defines it (searched
# parameters, method, seed, trial budget, constraint, objectives), ``sweep_id`` a hash of that
# and of the config; ``status`` is ``running``, ``interrupted`` or ``complete``; ``guards_json``
# the overfitting guards of its last completion. A trial is a row, not a run: its metrics as
# JSON; ``returns`` (per-day returns, float64 little-endian) only while the sweep is unfinished
# (resume needs them for the guards) or when asked to keep them.
sweeps = Table(
    "sweeps",
    metadata,
    Column("sweep_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("config_toml", Text, nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("guards_json", Text),
    Column("base_dir", Text),  # the config's folder: its relative paths resolve from there
)
sweep_trials = Table(
    "sweep_trials",
    metadata,
    Column(
        "sweep_id",
        Text,
        ForeignKey("sweeps.sweep_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("trial", Integer, primary_key=True, autoincrement=False),
    Column("params_json", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("value", Float),
    Column("value2", Float),
    Column("sharpe", Float),
    Column("metrics_json", Text),
    Column("error", Text),
    Column("returns", LargeBinary),
)
# A trial's full run (``--keep-best``): one per trial at most; the link goes with either side.
sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column(
        "sweep_id",
        Text,
        ForeignKey("sweeps.sweep_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("trial", Integer, primary_key=True, autoincrement=False),
    Column(
        "run_id",
        Text,
        ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
)
# A walk-forward analysis (`engine.optimize.walkforward`): ``spec_json`` holds the search and
# the window plan, ``windows_json`` one object per window (bar ranges, chosen parameters,
# in-sample and out-of-sample metrics), ``metrics_json`` the stitched out-of-sample metrics.
walkforwards = Table(
    "walkforwards",
    metadata,
    Column("walkforward_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("config_toml", Text, nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("windows_json", Text, nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("efficiency", Float),
    Column("stability_json", Text, nullable=False),
    Column("artifacts_dir", Text),
)


def params_json(config_toml: str) -> str:
    """Return the ``[strategy.params]`` table of a stored config as sorted JSON (``{}``)."""
    try:
        params = tomllib.loads(config_toml).get("strategy", {}).get("params", {})
    except tomllib.TOMLDecodeError:
        params = {}
    return json.dumps(params if isinstance(params, dict) else {}, sort_keys=True, default=str)


def _v2_status_writer_params(conn: Connection) -> None:
    columns = {c["name"] for c in inspect(conn).get_columns("runs")}
    if "status" not in columns:
        conn.execute(
            text("ALTER TABLE runs ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'complete'")
        )
    if "writer" not in columns:
        conn.execute(text("ALTER TABLE runs ADD COLUMN writer VARCHAR(200)"))
    if "params_json" not in columns:
        conn.execute(text("ALTER TABLE runs ADD COLUMN params_json TEXT"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_runs_created_at ON runs (created_at)"))
    for run_id, config in conn.execute(select(runs.c.run_id, runs.c.config_toml)).all():
        conn.execute(
            update(runs).where(runs.c.run_id == run_id).values(params_json=params_json(config))
        )


def _v3_paper_tables(conn: Connection) -> None:
    paper_accounts.create(conn, checkfirst=True)
    paper_journal.create(conn, checkfirst=True)


def _v4_sweep_tables(conn: Connection) -> None:
    sweeps.create(conn, checkfirst=True)
    sweep_trials.create(conn, checkfirst=True)


def _v5_live_tables(conn: Connection) -> None:
    live_accounts.create(conn, checkfirst=True)
    live_orders.create(conn, checkfirst=True)
    live_fills.create(conn, checkfirst=True)


def _v6_equity_blocks(conn: Connection) -> None:
    equity_blocks.create(conn, checkfirst=True)


def _v7_sweep_runs_walkforwards(conn: Connection) -> None:
    if "base_dir" not in {c["name"] for c in inspect(conn).get_columns("sweeps")}:
        conn.execute(text("ALTER TABLE sweeps ADD COLUMN base_dir TEXT"))
    sweep_runs.create(conn, checkfirst=True)
    walkforwards.create(conn, checkfirst=True)


def _v8_live_strategy_state(conn: Connection) -> None:
    live_strategy_state.create(conn, checkfirst=True)


def _v9_live_timers_equity(conn: Connection) -> None:
    live_timers.create(conn, checkfirst=True)
    live_equity.create(conn, checkfirst=True)


def _v10_live_stop_price(conn: Connection) -> None:
    if "stop_price" not in {c["name"] for c in inspect(conn).get_columns("live_orders")}:
        conn.execute(text("ALTER TABLE live_orders ADD COLUMN stop_price FLOAT"))


def _v11_live_bars_config(conn: Connection) -> None:
    live_bars.create(conn, checkfirst=True)
    if "config_toml" not in {c["name"] for c in inspect(conn).get_columns("live_accounts")}:
        conn.execute(text("ALTER TABLE live_accounts ADD COLUMN config_toml TEXT"))


def _v12_live_lists_trails(conn: Connection) -> None:
    if "list_id" not in {c["name"] for c in inspect(conn).get_columns("live_orders")}:
        conn.execute(text("ALTER TABLE live_orders ADD COLUMN list_id VARCHAR(64)"))
    live_trails.create(conn, checkfirst=True)


def _v13_live_order_terms(conn: Connection) -> None:
    have = {c["name"] for c in inspect(conn).get_columns("live_orders")}
    for name, kind in (("post_only", "INTEGER"), ("expire_ns", "BIGINT"),
                       ("replaces", "VARCHAR(64)")):  # fmt: skip
        if name not in have:
            conn.execute(text(f"ALTER TABLE live_orders ADD COLUMN {name} {kind}"))


def _v14_live_triggered_from(conn: Connection) -> None:
    if "triggered_from" not in {c["name"] for c in inspect(conn).get_columns("live_orders")}:
        conn.execute(text("ALTER TABLE live_orders ADD COLUMN triggered_from VARCHAR(64)"))


def _v15_live_order_amending(conn: Connection) -> None:
    if "amending" not in {c["name"] for c in inspect(conn).get_columns("live_orders")}:
        conn.execute(text("ALTER TABLE live_orders ADD COLUMN amending TEXT"))


def _v16_live_order_reduce_only(conn: Connection) -> None:
    if "reduce_only" not in {c["name"] for c in inspect(conn).get_columns("live_orders")}:
        conn.execute(text("ALTER TABLE live_orders ADD COLUMN reduce_only INTEGER"))


def _v17_unbounded_text(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":  # SQLite never enforces a VARCHAR's length
        return
    quote = conn.dialect.identifier_preparer.quote
    found = inspect(conn)
    for table in sorted(set(found.get_table_names()) & set(metadata.tables)):
        bounded = [
            c["name"] for c in found.get_columns(table) if getattr(c["type"], "length", None)
        ]
        if bounded:  # varchar to text needs no rewrite: a catalog change, indexes kept
            changes = ", ".join(f"ALTER COLUMN {quote(name)} TYPE TEXT" for name in bounded)
            conn.execute(text(f"ALTER TABLE {quote(table)} {changes}"))


#: ``MIGRATIONS[k]`` upgrades a store from version ``k + 1`` to ``k + 2``.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _v2_status_writer_params,
    _v3_paper_tables,
    _v4_sweep_tables,
    _v5_live_tables,
    _v6_equity_blocks,
    _v7_sweep_runs_walkforwards,
    _v8_live_strategy_state,
    _v9_live_timers_equity,
    _v10_live_stop_price,
    _v11_live_bars_config,
    _v12_live_lists_trails,
    _v13_live_order_terms,
    _v14_live_triggered_from,
    _v15_live_order_amending,
    _v16_live_order_reduce_only,
    _v17_unbounded_text,
)
SCHEMA_VERSION = len(MIGRATIONS) + 1


def stored_version(conn: Connection) -> int | None:
    """Return the store's schema version (1 for a first-release store, None if empty)."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        found = conn.execute(select(schema_version.c.version)).scalar()
        if found is not None:
            return int(found)
    return 1 if "runs" in tables else None


def migrate(conn: Connection) -> tuple[int | None, int]:
    """Create or upgrade the schema on ``conn``; return ``(version before, version after)``.

    Runs inside the caller's transaction, which must hold the store's schema lock (see
    `engine.persistence.store`), so concurrent first openings create the tables once.

    Raises:
        RuntimeError: The store was written by a newer release (its version is higher).
    """
    before = stored_version(conn)
    if before is not None and before > SCHEMA_VERSION:
        raise RuntimeError(
            f"its schema version {before} is newer than this Kestrel's ({SCHEMA_VERSION}); "
            "upgrade Kestrel"
        )
    if before is None:
        metadata.create_all(conn, checkfirst=True)
    else:
        for step in MIGRATIONS[before - 1 :]:
            step(conn)
        schema_version.create(conn, checkfirst=True)
    if conn.execute(select(schema_version.c.version)).scalar() is None:
        conn.execute(schema_version.insert().values(id=1, version=SCHEMA_VERSION))
    else:
        conn.execute(update(schema_version).values(version=SCHEMA_VERSION))
    return before, SCHEMA_VERSION
