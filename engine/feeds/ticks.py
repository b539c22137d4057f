"""Trade and quote ticks from CSV/Parquet/DataFrame, validated, as columnar frames.

In: a file or DataFrame with a timestamp column (same rules as bars: epoch s/ms/µs/ns by
magnitude or ISO-8601, naive = UTC) and
- trades: ``price`` and a size column (``amount``, ``size``, ``quantity`` or ``volume``),
  optionally ``side`` (buy/sell: the aggressor) and ``id``;
- quotes: ``bid``, ``ask`` and optionally ``bid_size``, ``ask_size`` (missing: infinite
  depth, documented) — also accepted as ``bid_price``/``ask_price``.
Out: a `TickFrame` whose rows are in time order. Equal timestamps are allowed (several
trades in one millisecond are normal) and keep file order; decreasing timestamps, NaN,
infinite, non-positive prices, negative sizes and crossed quotes (bid > ask) are a
`DataError`. A tick's ``ts_event`` is its own timestamp: ticks are known when they happen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.errors import DataError, did_you_mean
from engine.feeds.readers import TIMESTAMP_NAMES, read_source, repeated_sentence, to_epoch_ns
from engine.feeds.timeframe import format_timestamp

__all__ = ["TickFrame", "load_ticks"]

TickKind = Literal["trades", "quotes"]
SIZE_NAMES = ("amount", "size", "quantity", "volume", "qty")
# The names each column is read from, in order of preference (the first present is read).
_COLUMN_OPTIONS: tuple[tuple[str, ...], ...] = (
    TIMESTAMP_NAMES,
    ("price",),
    SIZE_NAMES,
    ("side",),
    ("id",),
    ("bid", "bid_price"),
    ("ask", "ask_price"),
    ("bid_size",),
    ("ask_size",),
)


@dataclass(frozen=True, eq=False)
class TickFrame:
    """One symbol's ticks, columnar and time-ordered.

    Attributes:
        symbol: The symbol.
        kind: ``"trades"`` or ``"quotes"``.
        ts_ns: int64 tick times, ns UTC, non-decreasing.
        columns: trades: ``price``, ``size``; quotes: ``bid``, ``ask``, ``bid_size``,
            ``ask_size`` (float64).
        sides: trades only: aggressor side per tick (``"buy"``, ``"sell"`` or ``""``).
        ids: trades only: trade id per tick as text (row number when the file has none).
        source: Path or ``"<DataFrame>"``.
    """

    symbol: str
    kind: TickKind
    ts_ns: np.ndarray
    columns: dict[str, np.ndarray]
    sides: list[str]
    ids: list[str]
    source: str

    def __len__(self) -> int:
        return int(self.ts_ns.size)


def load_ticks(
    source: str | os.PathLike[str] | pd.DataFrame, *, symbol: str, kind: TickKind
) -> TickFrame:
    """Read and validate trade or quote ticks of one symbol.

    Raises:
        DataError: Missing columns (with the nearest name), unparseable or decreasing
            timestamps, non-finite or non-positive prices, negative sizes, bid above ask.
    """
    table, name = read_source(source)
    if table.empty:
        raise DataError(f"{name}: no rows; give a file with a header and ticks.")
    header = [str(column) for column in table.columns]
    positions: dict[str, list[int]] = {}
    for position, column in enumerate(header):
        positions.setdefault(column.strip().lower(), []).append(position)
    by_name = {key: found[0] for key, found in positions.items()}
    for options in _COLUMN_OPTIONS:  # the column read for each: which one is meant?
        key = next((option for option in options if option in positions), None)
        if key is not None and len(positions[key]) > 1:
            raise DataError(repeated_sentence(name, key, header, positions[key]))
    ts_column = next((by_name[n] for n in TIMESTAMP_NAMES if n in by_name), None)
    if ts_column is None:
        raise DataError(
            f"{name}: no timestamp column{did_you_mean('timestamp', by_name)}; "
            f"name it one of {', '.join(TIMESTAMP_NAMES)}."
        )
    ts, problems = to_epoch_ns(table.iloc[:, ts_column], name, header[ts_column])
    if problems:
        raise DataError(problems[0])
    backwards = np.flatnonzero(np.diff(ts) < 0)
    if backwards.size:
        row = int(backwards[0]) + 1
        raise DataError(
            f"{name}: timestamps go backwards at row {row + 1} "
            f"({format_timestamp(int(ts[row]))} after {format_timestamp(int(ts[row - 1]))}) "
            f"in {backwards.size} place(s); sort the file by timestamp."
        )
    if kind == "trades":
        price = _column(table, by_name, name, ("price",))
        size = _column(table, by_name, name, SIZE_NAMES)
        _positive(price, name, "price", ts)
        _non_negative(size, name, "size", ts)
        sides = (
            table.iloc[:, by_name["side"]].fillna("").astype(str).str.lower().tolist()
            if "side" in by_name
            else [""] * len(table)
        )
        unknown = [i for i, side in enumerate(sides) if side not in _SIDES]
        if unknown:
            raise DataError(
                f"{name}: side must be buy, sell or empty, got {sides[unknown[0]]!r} at "
                f"{format_timestamp(int(ts[unknown[0]]))} ({len(unknown)} row(s))."
            )
        ids = (
            table.iloc[:, by_name["id"]].astype(str).tolist()
            if "id" in by_name
            else [str(i) for i in range(len(table))]
        )
        columns = {"price": price, "size": size}
        return TickFrame(symbol, kind, ts, columns, sides, ids, name)
    bid = _column(table, by_name, name, ("bid", "bid_price"))
    ask = _column(table, by_name, name, ("ask", "ask_price"))
    _positive(bid, name, "bid", ts)
    _positive(ask, name, "ask", ts)
    crossed = np.flatnonzero(bid > ask)
    if crossed.size:
        row = int(crossed[0])
        raise DataError(
            f"{name}: crossed quote at {format_timestamp(int(ts[row]))} (bid {bid[row]:g} > "
            f"ask {ask[row]:g}) in {crossed.size} row(s); fix or drop those rows."
        )
    depth: dict[str, np.ndarray] = {}
    for side in ("bid_size", "ask_size"):
        if side in by_name:
            depth[side] = _column(table, by_name, name, (side,))
            _non_negative(depth[side], name, side, ts)
        else:
            depth[side] = np.full(len(table), np.inf)
    columns = {"bid": bid, "ask": ask, **depth}
    return TickFrame(symbol, kind, ts, columns, [], [], name)


def _column(
    table: pd.DataFrame, by_name: Mapping[str, int], name: str, options: tuple[str, ...]
) -> np.ndarray:
    key = next((by_name[o] for o in options if o in by_name), None)
    if key is None:
        raise DataError(
            f"{name}: no {options[0]} column{did_you_mean(options[0], by_name)}; "
            f"accepted names: {', '.join(options)}."
        )
    values = pd.to_numeric(table.iloc[:, key], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            f"{name}: column {options[0]} has {bad.size} missing, non-numeric or infinite "
            f"value(s), first at row {int(bad[0]) + 2}; fix or drop those rows."
        )
    return np.ascontiguousarray(values)


_SIDES = frozenset(("buy", "sell", ""))  # a trade's aggressor, in lower case


def _positive(values: np.ndarray, name: str, column: str, ts: np.ndarray) -> None:
    # below the smallest normal float (subnormal) is no price either: 1 / it overflows
    bad = np.flatnonzero(values < np.finfo(np.float64).tiny)
    if bad.size:
        raise DataError(
            f"{name}: {column} must be positive (at least 2.2e-308), got {values[bad[0]]:g} "
            f"at {format_timestamp(int(ts[bad[0]]))} ({bad.size} row(s))."
        )


def _non_negative(values: np.ndarray, name: str, column: str, ts: np.ndarray) -> None:
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise DataError(
            f"{name}: {column} must not be negative, got {values[bad[0]]:g} at "
            f"{format_timestamp(int(ts[bad[0]]))} ({bad.size} row(s))."
        )
