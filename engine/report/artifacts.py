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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tomli_w

from engine.config import dump_config
from engine.report import csv_text
from engine.report.csv_text import (
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
    "iso",
    "iso_many",
    "open_trade_rows",
    "order_rows",
    "repr_many",
    "repr_runs",
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
    rows = [
        {**_trade_row(n, trade), "status": "closed", "unrealized_pnl": 0.0}
        for n, trade in enumerate(closed, start=1)
    ]
    write_rows(path, TRADE_COLUMNS, rows + _open_rows(len(closed), still_open))


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


def write_artifacts(
    result: BacktestResult,
    out_dir: Path,
    run_info: dict[str, Any],
    orders: list[dict[str, Any]] | None = None,
) -> Path:
    """Write every artifact of ``result`` into ``out_dir`` (created if missing).

    ``orders``: `order_rows` of ``result`` when the caller has built them already (one
    dict per order: ~80 ms at 39,000 orders, which `finish_run` builds once for all).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.toml").write_text(tomli_w.dumps(dump_config(result.config)))
    write_metrics(out_dir / "metrics.json", result.metrics)
    write_trades(out_dir / "trades.csv", result.recorder.trades, result.open_trades)
    write_rows(
        out_dir / "orders.csv", ORDER_COLUMNS, order_rows(result) if orders is None else orders
    )
    fills = result.recorder.fills
    write_columns(
        out_dir / "fills.csv",
        FILL_COLUMNS,
        [
            [f.fill_id for f in fills],
            [f.order_id for f in fills],
            [f.symbol for f in fills],
            [str(f.side) for f in fills],
            format_numbers([f.quantity for f in fills]),
            format_numbers([f.price for f in fills]),
            format_numbers([f.fee for f in fills]),
            [f.liquidity for f in fills],
            iso_many([f.ts_event for f in fills]),
        ],
    )
    write_equity(out_dir / "equity.csv", result.equity_curve)
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
