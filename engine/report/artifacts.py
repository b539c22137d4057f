"""Run artifacts: the files a backtest leaves in its output folder.

In: a `BacktestResult`. Out, in ``DIR``: ``config.toml`` (resolved config), ``metrics.json``,
``trades.csv`` (closed round trips, then the positions still open at the end with
``status = open``: exit time and price are the mark — the symbol's last close at its last
bar's close time —, PnL includes ``unrealized_pnl``, fees are those paid so far),
``orders.csv``, ``fills.csv``, ``equity.csv`` — all
byte-identical for the same inputs — and ``run.json`` with what differs between runs
(run id, creation time, wall time), kept apart so the others can be compared with ``cmp``.
Times are ISO-8601 UTC with a ``Z``; floats are written with ``repr`` (shortest exact).

The CSVs are built column by column and written by `engine.report.csv_text` (whole
columns formatted at once, the same bytes as the csv module row by row), so a 10 M-bar
equity curve costs seconds and a bounded amount of memory, not a Python ``datetime`` per
row. equity.csv, one row per bar, goes faster still: its cells stay Arrow strings (no
Python ``str`` per cell), a float column is ``repr``-ed once per run of equal values
(`repr_runs`: cash changes only at fills, equity and exposure not while flat), and Arrow's
CSV writer lays the rows out unquoted, since no cell ever needs quotes (timestamps and
numbers).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import tomli_w

from engine.config import dump_config
from engine.report import csv_text
from engine.report.csv_text import (
    format_column,
    format_numbers,
    iso,
    iso_arrow,
    iso_many,
    repr_many,
    repr_runs,
    repr_runs_arrow,
    write_columns,
    write_rows,
)

if TYPE_CHECKING:
    from engine.report.outputs import EquityCurve
    from engine.report.outputs import RunOutputs as BacktestResult  # see outputs.py
    from engine.report.recorder import TradeRecord

__all__ = [
    "ARTIFACT_FILES",
    "RunTables",
    "iso",
    "iso_many",
    "open_trade_rows",
    "order_rows",
    "repr_many",
    "repr_runs",
    "trade_columns",
    "trade_rows",
    "write_artifacts",
    "write_equity",
    "write_metrics",
    "write_trades",
]

ARTIFACT_FILES = (
    "config.toml",
    "metrics.json",
    "trades.csv",
    "orders.csv",
    "fills.csv",
    "equity.csv",
    "events.csv",
)

EVENT_COLUMNS = ("ts_event", "kind", "symbol", "amount", "detail")
EQUITY_COLUMNS = ("ts_event", "cash", "equity", "gross_exposure")
TRADE_COLUMNS = (
    "trade_id",
    "symbol",
    "side",
    "entry_time",
    "exit_time",
    "quantity",
    "entry_price",
    "exit_price",
    "gross_pnl",
    "fees",
    "net_pnl",
    "return_pct",
    "status",
    "unrealized_pnl",
)


def _trade_row(number: int, trade: TradeRecord) -> dict[str, Any]:
    gross = trade.gross_pnl
    net = gross - trade.fees  # `TradeRecord.net_pnl`, without computing gross_pnl again
    return {
        "trade_id": number,
        "symbol": trade.symbol,
        "side": trade.side,
        "entry_time": trade.entry_ts,
        "exit_time": trade.exit_ts,
        "quantity": trade.entry_quantity,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "gross_pnl": gross,
        "fees": trade.fees,
        "net_pnl": net,
        "return_pct": net / trade.entry_value_account * 100 if trade.entry_value else 0,
    }


def trade_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """Return closed round trips as rows (``return_pct`` = net PnL / entry value × 100).

    Prices are in the instrument's quote currency; ``gross_pnl``, ``fees`` and ``net_pnl``
    in the account currency (``return_pct`` divides by the entry value in it too). These
    are the run store's trade rows; trades.csv adds ``status`` and the open positions.
    """
    return [_trade_row(n, trade) for n, trade in enumerate(result.recorder.trades, start=1)]


def open_trade_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """Return the positions open at the end as trade rows marked to their last close.

    Numbered after the closed trades, with ``status = "open"`` and ``unrealized_pnl``
    (account currency); ``exit_time`` / ``exit_price`` are the mark, ``gross_pnl`` is
    realized + unrealized and ``fees`` are those paid so far (no exit fee is assumed).
    """
    return _open_rows(len(result.recorder.trades), result.open_trades)


def _open_rows(closed: int, still_open: Sequence[TradeRecord]) -> list[dict[str, Any]]:
    return [
        {**_trade_row(n, trade), "status": "open", "unrealized_pnl": trade.unrealized_pnl}
        for n, trade in enumerate(still_open, start=closed + 1)
    ]


def write_trades(
    path: Path, closed: Sequence[TradeRecord], still_open: Sequence[TradeRecord]
) -> None:
    """Write ``trades.csv``: the closed round trips, then the open ones marked (see the module).

    The backtest's file (`write_artifacts`) and a live account's (`engine.runtime.live.report`)
    are written here: the same trades give the same bytes.
    """
    _write_trade_columns(path, trade_columns(closed, still_open))


def _write_trade_columns(path: Path, columns: dict[str, list[Any]]) -> None:
    write_columns(path, TRADE_COLUMNS, [format_column(k, columns[k]) for k in TRADE_COLUMNS])


def trade_columns(
    closed: Sequence[TradeRecord], still_open: Sequence[TradeRecord]
) -> dict[str, list[Any]]:
    """Return trades.csv's columns (`TRADE_COLUMNS`): the closed trades, then the open ones.

    The values of `trade_rows` and `open_trade_rows`, column by column: closed trades have
    ``status = "closed"`` and ``unrealized_pnl = 0.0``. Trades without account-currency
    values (a run in one currency) are computed a column at a time in numpy — the same
    operations on the same floats as `TradeRecord`'s properties, so the same bits; others
    trade by trade.
    """
    trades = [*closed, *still_open]
    columns = _plain_trade_columns(trades)
    if columns is None:
        rows = [_trade_row(n, trade) for n, trade in enumerate(trades, start=1)]
        columns = {k: list(map(itemgetter(k), rows)) for k in TRADE_COLUMNS[:-2]}
    columns["status"] = ["closed"] * len(closed) + ["open"] * len(still_open)
    columns["unrealized_pnl"] = [0.0] * len(closed) + [t.unrealized_pnl for t in still_open]
    return columns


def _plain_trade_columns(trades: list[TradeRecord]) -> dict[str, list[Any]] | None:
    """Return `_trade_row`'s values by column, computed in numpy; None where that could
    differ: account-currency values (fx), or an amount that is not a Python float."""
    if any(t.entry_cost is not None or t.exit_proceeds is not None for t in trades):
        return None
    if not trades:
        return {k: [] for k in TRADE_COLUMNS[:-2]}
    raw = {
        name: list(map(attrgetter(name), trades))
        for name in ("entry_quantity", "entry_value", "exit_quantity", "exit_value", "fees")
    }
    if any(set(map(type, values)) - {float} for values in raw.values()):
        return None
    entry_quantity, entry_value, exit_quantity, exit_value, fees = (
        np.array(values, dtype=np.float64) for values in raw.values()
    )
    # TradeRecord.entry_price / exit_price: value / quantity, 0.0 without a quantity
    entry_price = np.divide(
        entry_value, entry_quantity, out=np.zeros(len(trades)), where=entry_quantity != 0
    )
    exit_price = np.divide(
        exit_value, exit_quantity, out=np.zeros(len(trades)), where=exit_quantity != 0
    )
    sides = list(map(attrgetter("side"), trades))
    direction = np.where(np.array(sides) == "long", 1.0, -1.0)
    gross = direction * (exit_value - entry_price * exit_quantity)  # TradeRecord.gross_pnl
    net = gross - fees
    with np.errstate(divide="ignore", invalid="ignore"):  # only where entry_value is 0
        percent = net / entry_value * 100
    return_pct: list[Any] = percent.tolist()
    for i in np.flatnonzero(entry_value == 0).tolist():  # `_trade_row`: the int 0 there
        return_pct[i] = 0
    return {
        "trade_id": list(range(1, len(trades) + 1)),
        "symbol": list(map(attrgetter("symbol"), trades)),
        "side": sides,
        "entry_time": list(map(attrgetter("entry_ts"), trades)),
        "exit_time": list(map(attrgetter("exit_ts"), trades)),
        "quantity": raw["entry_quantity"],
        "entry_price": entry_price.tolist(),
        "exit_price": exit_price.tolist(),
        "gross_pnl": gross.tolist(),
        "fees": raw["fees"],
        "net_pnl": net.tolist(),
        "return_pct": return_pct,
    }


ORDER_COLUMNS = (
    "order_id",
    "strategy_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "status",
    "filled_quantity",
    "average_fill_price",
    "fees",
    "ts_requested",
    "ts_last",
    "check",
    "reason",
    "tag",
)


def order_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """Return every order with its final status, in request order."""
    return list(result.recorder.orders.values())


FILL_COLUMNS = (
    "fill_id",
    "order_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
    "liquidity",
    "ts_event",
)


class RunTables(NamedTuple):
    """A run's orders, fills and trades, built once for its files, its store rows and its page.

    ``orders`` are `order_rows` (the report reads them); the ``*_columns`` hold the raw
    values of orders.csv, fills.csv and trades.csv by column (`ORDER_COLUMNS`,
    `FILL_COLUMNS` with the side as text, `TRADE_COLUMNS`: the closed trades, then the
    open ones), which the CSVs format and the run store inserts as they are.
    """

    orders: list[dict[str, Any]]
    order_columns: dict[str, list[Any]]
    fill_columns: dict[str, list[Any]]
    trade_columns: dict[str, list[Any]]
    closed_trades: int  # how many of the trade columns' rows are closed trades

    @classmethod
    def of(cls, result: BacktestResult) -> RunTables:
        """Return ``result``'s tables."""
        orders = order_rows(result)
        closed = result.recorder.trades
        return cls(
            orders=orders,
            order_columns={k: list(map(itemgetter(k), orders)) for k in ORDER_COLUMNS},
            fill_columns=_fill_columns(result.recorder.fills),
            trade_columns=trade_columns(closed, result.open_trades),
            closed_trades=len(closed),
        )

    def stored_trades(self) -> dict[str, list[Any]]:
        """Return the columns of the run store's trade rows: `trade_rows`, by column."""
        count = self.closed_trades
        return {k: self.trade_columns[k][:count] for k in TRADE_COLUMNS[:-2]}


def _fill_columns(fills: Sequence[Any]) -> dict[str, list[Any]]:
    columns = {k: list(map(attrgetter(k), fills)) for k in FILL_COLUMNS}
    columns["side"] = list(map(str, columns["side"]))  # OrderSide members as their text
    return columns


def write_artifacts(
    result: BacktestResult,
    out_dir: Path,
    run_info: dict[str, Any],
    tables: RunTables | None = None,
) -> Path:
    """Write every artifact of ``result`` into ``out_dir`` (created if missing).

    ``tables``: ``RunTables.of(result)`` when the caller has built them already
    (`finish_run` builds them once for the files, the store and the report).
    """
    if tables is None:
        tables = RunTables.of(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    # first: its formatting and writing run in Arrow, outside the GIL, while the threads
    # that write the page and the store's rows (`finish_run`) run their Python
    write_equity(out_dir / "equity.csv", result.equity_curve)
    (out_dir / "config.toml").write_text(tomli_w.dumps(dump_config(result.config)))
    write_metrics(out_dir / "metrics.json", result.metrics)
    _write_trade_columns(out_dir / "trades.csv", tables.trade_columns)
    orders = tables.order_columns
    write_columns(
        out_dir / "orders.csv", ORDER_COLUMNS, [format_column(k, orders[k]) for k in ORDER_COLUMNS]
    )
    fills = tables.fill_columns
    write_columns(
        out_dir / "fills.csv",
        FILL_COLUMNS,
        [
            fills["fill_id"],
            fills["order_id"],
            fills["symbol"],
            fills["side"],
            format_numbers(fills["quantity"]),
            format_numbers(fills["price"]),
            format_numbers(fills["fee"]),
            fills["liquidity"],
            iso_many(fills["ts_event"]),
        ],
    )
    write_rows(out_dir / "events.csv", EVENT_COLUMNS, result.recorder.event_rows())
    (out_dir / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")
    return out_dir


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics.json``: sorted keys, indented, no NaN (undefined values are null)."""
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_equity(path: Path, curve: EquityCurve) -> None:
    """Write ``equity.csv``: one row per close time (``EQUITY_COLUMNS``).

    Every cell is formatted as Arrow strings (no Python ``str`` per cell) and Arrow's CSV
    writer lays the rows out: with ``quoting_style="none"`` it writes each cell as it is —
    the bytes the csv module gave, since a timestamp or a float's ``repr`` never needs
    quotes (Arrow refuses to write a cell that would, rather than write a different file).
    """
    import pyarrow as pa  # pandas has imported it already
    import pyarrow.csv as pa_csv

    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as handle:
        handle.write((",".join(EQUITY_COLUMNS) + "\n").encode())
        for a in range(0, len(curve.ts), csv_text.CHUNK_ROWS):
            b = min(a + csv_text.CHUNK_ROWS, len(curve.ts))
            columns = [
                iso_arrow(np.asarray(curve.ts[a:b], dtype=np.int64)),
                # repr, not number_text: the curve is always finite, and was written so before
                repr_runs_arrow(curve.cash[a:b]),
                repr_runs_arrow(curve.equity[a:b]),
                repr_runs_arrow(curve.gross_exposure[a:b]),
            ]
            pa_csv.write_csv(pa.table(columns, names=list(EQUITY_COLUMNS)), handle, options)
