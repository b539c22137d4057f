"""A run's records as pandas DataFrames (``result.trades``, ``.orders``, ``.fills``, ``.equity``).

In: a `BacktestResult`. Out: one DataFrame per artifact, with the same columns and values as
``trades.csv``, ``orders.csv``, ``fills.csv`` and ``equity.csv`` (``engine.report.artifacts``)
but typed: numbers as float64 (None/NaN where the CSV is empty), times as
``datetime64[ns, UTC]`` (NaT where the CSV is empty). ``equity`` is indexed by each bar's
close time (a ``DatetimeIndex`` named ``ts_event``); the others keep a ``RangeIndex`` in
record order, since several orders, fills or trades may share a time. Built only when
asked for (the backtest loop never pays for them); see `BacktestResult`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.report.artifacts import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    order_rows,
    trade_rows,
)

if TYPE_CHECKING:
    from engine.report.outputs import RunOutputs as BacktestResult  # see outputs.py

__all__ = ["equity_frame", "fills_frame", "orders_frame", "trades_frame"]


def _times(values: pd.Series) -> pd.Series:
    """Return ns-since-epoch integers (0 or None: unknown) as UTC timestamps (NaT)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    numbers = numbers.where(numbers != 0)
    # through Int64 so that ns values above 2**53 are not rounded by the float64 pass
    return pd.to_datetime(numbers.astype("Int64"), unit="ns", utc=True)


def trades_frame(result: BacktestResult) -> pd.DataFrame:
    """Return the closed round trips, one row per trade (columns of ``trades.csv``)."""
    frame = pd.DataFrame(trade_rows(result), columns=list(TRADE_COLUMNS))
    for column in ("entry_time", "exit_time"):
        frame[column] = _times(frame[column])
    return frame


def orders_frame(result: BacktestResult) -> pd.DataFrame:
    """Return every order with its final status (columns of ``orders.csv``)."""
    frame = pd.DataFrame(order_rows(result), columns=list(ORDER_COLUMNS))
    for column in ("ts_requested", "ts_last"):
        frame[column] = _times(frame[column])
    for column in ("limit_price", "stop_price", "average_fill_price"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def fills_frame(result: BacktestResult) -> pd.DataFrame:
    """Return every fill (columns of ``fills.csv``; price and fee in the quote currency)."""
    fills = result.recorder.fills
    frame = pd.DataFrame(
        {
            "fill_id": [f.fill_id for f in fills],
            "order_id": [f.order_id for f in fills],
            "symbol": [f.symbol for f in fills],
            "side": [str(f.side) for f in fills],
            "quantity": np.array([f.quantity for f in fills], dtype=np.float64),
            "price": np.array([f.price for f in fills], dtype=np.float64),
            "fee": np.array([f.fee for f in fills], dtype=np.float64),
            "liquidity": [f.liquidity for f in fills],
            "ts_event": pd.Series([f.ts_event for f in fills], dtype="int64"),
        },
        columns=list(FILL_COLUMNS),
    )
    frame["ts_event"] = _times(frame["ts_event"])
    return frame


def equity_frame(result: BacktestResult) -> pd.DataFrame:
    """Return cash, equity and gross exposure at every bar close time (account currency)."""
    curve = result.equity_curve
    index = pd.DatetimeIndex(pd.to_datetime(curve.ts, unit="ns", utc=True), name="ts_event")
    return pd.DataFrame(
        {
            "cash": np.asarray(curve.cash, dtype=np.float64),
            "equity": np.asarray(curve.equity, dtype=np.float64),
            "gross_exposure": np.asarray(curve.gross_exposure, dtype=np.float64),
        },
        index=index,
    )
