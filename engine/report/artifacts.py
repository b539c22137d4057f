"""Run artifacts: the files a backtest leaves in its output folder.

In: a `BacktestResult`. Out, in ``DIR``: ``config.toml`` (resolved config), ``metrics.json``,
``trades.csv`` (closed round trips, then the positions still open at the end with
``status = open``: exit time and price are the mark — the symbol's last close at its last
bar's close time —, PnL includes ``unrealized_pnl``, fees are those paid so far),
``orders.csv``, ``fills.csv``, ``equity.csv`` — all
byte-identical for the same inputs — and ``run.json`` with what differs between runs
(run id, creation time, wall time), kept apart so the others can be compared with ``cmp``.
Times are ISO-8601 UTC with a ``Z``; floats are written with ``repr`` (shortest exact).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from engine.config import dump_config

if TYPE_CHECKING:
    from engine.report.outputs import RunOutputs as BacktestResult  # see outputs.py
    from engine.report.recorder import TradeRecord

__all__ = [
    "ARTIFACT_FILES",
    "iso",
    "open_trade_rows",
    "order_rows",
    "trade_rows",
    "write_artifacts",
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


def iso(ts_ns: int | None) -> str:
    """Return ``ts_ns`` as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (empty for None/0)."""
    if not ts_ns:
        return ""
    seconds, nanos = divmod(int(ts_ns), 10**9)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += f".{nanos:09d}".rstrip("0")
    return text + "Z"


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(float(value))


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
    return {
        "trade_id": number,
        "symbol": trade.symbol,
        "side": trade.side,
        "entry_time": trade.entry_ts,
        "exit_time": trade.exit_ts,
        "quantity": trade.entry_quantity,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "gross_pnl": trade.gross_pnl,
        "fees": trade.fees,
        "net_pnl": trade.net_pnl,
        "return_pct": trade.net_pnl / trade.entry_value_account * 100 if trade.entry_value else 0,
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
    first = len(result.recorder.trades) + 1
    return [
        {**_trade_row(n, trade), "status": "open", "unrealized_pnl": trade.unrealized_pnl}
        for n, trade in enumerate(result.open_trades, start=first)
    ]


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


def write_artifacts(result: BacktestResult, out_dir: Path, run_info: dict[str, Any]) -> Path:
    """Write every artifact of ``result`` into ``out_dir`` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.toml").write_text(tomli_w.dumps(dump_config(result.config)))
    metrics = json.dumps(result.metrics, indent=2, sort_keys=True, allow_nan=False)
    (out_dir / "metrics.json").write_text(metrics + "\n")
    closed = [{**row, "status": "closed", "unrealized_pnl": 0.0} for row in trade_rows(result)]
    _csv(
        out_dir / "trades.csv",
        TRADE_COLUMNS,
        ([_cell(k, row[k]) for k in TRADE_COLUMNS] for row in closed + open_trade_rows(result)),
    )
    _csv(
        out_dir / "orders.csv",
        ORDER_COLUMNS,
        ([_cell(k, row[k]) for k in ORDER_COLUMNS] for row in order_rows(result)),
    )
    _csv(
        out_dir / "fills.csv",
        FILL_COLUMNS,
        (
            [
                f.fill_id,
                f.order_id,
                f.symbol,
                str(f.side),
                _number(f.quantity),
                _number(f.price),
                _number(f.fee),
                f.liquidity,
                iso(f.ts_event),
            ]
            for f in result.recorder.fills
        ),
    )
    _csv(
        out_dir / "equity.csv",
        ("ts_event", "cash", "equity", "gross_exposure"),
        (
            [iso(ts), repr(cash), repr(equity), repr(gross)]
            for ts, cash, equity, gross in zip(
                result.equity_curve.ts.tolist(),
                result.equity_curve.cash.tolist(),
                result.equity_curve.equity.tolist(),
                result.equity_curve.gross_exposure.tolist(),
                strict=True,
            )
        ),
    )
    _csv(
        out_dir / "events.csv",
        EVENT_COLUMNS,
        ([_cell(k, row[k]) for k in EVENT_COLUMNS] for row in result.recorder.event_rows()),
    )
    (out_dir / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")
    return out_dir


def _cell(column: str, value: Any) -> str:
    if column.startswith("ts_") or column.endswith("_time"):
        return iso(value)
    if isinstance(value, float) or value is None:
        return _number(value)
    return str(value)


def _csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
