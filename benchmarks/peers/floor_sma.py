"""The practical floor: an SMA 10/30 crossover as one numba loop, nothing around it.

In: ``floor_sma.py BARS.parquet OUT.json [--fee RATE] [--cash CASH]`` — the bars of
``benchmarks/bench_cli.write_data`` (``timestamp`` = the bar's open time, ``open``,
``close``). Out: ``OUT.json`` with the engine's name, numba's version and every closed
round trip as ``[entry_time, entry_price, exit_time, exit_price, quantity]`` (times
ISO-8601 UTC, as Kestrel's trades.csv writes them).

It is what no engine can beat by much in a whole process: read three columns with
pyarrow, two SMAs and one loop over the bars, compiled by numba (``cache=True``:
``bench_peers.py`` runs it once untimed first, as it does every engine). It follows
Kestrel's documented rules so that ``bench_peers.py`` can check that both made the same
trades:

- SMAs: a running sum (add the new value, emit ``sum × (1 / period)``, drop the oldest),
  the operations of ``engine/indicators/families/overlap/kernels_ma.py::sma`` in the same
  order — a pandas rolling mean rounds differently and turns a few near-ties into
  crosses (or not) on this data;
- signal on bar t's close, strict on both bars as ``strategies/sma_cross.py``: up when
  ``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]``, down the other way round;
- flat and up: buy ``floor(cash / (close_t × (1 + fee)))`` (``order_target_percent(1.0)``
  at the close), filled at bar t+1's open and capped there at ``floor(cash / (open ×
  (1 + fee)))`` (``cash_shortfall = "reduce"``); long and down: sell everything at bar
  t+1's open; a fee of ``fee × notional`` on every fill; an order made on the last bar
  never fills, and a position still open at the end is not a closed trade.

An up-cross while already long needs an exact tie of the two SMAs in between (Kestrel
would then rebalance to 100 %); the issue-13 data set has none, so this loop ignores it —
were it to happen, ``bench_peers.py`` would report the trades as different.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numba
import numpy as np
import pyarrow.parquet as pq
from numba import njit


@njit(cache=True)
def sma(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average by a running sum; NaN for the first ``period - 1`` bars."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    total = 0.0
    for i in range(min(period - 1, n)):
        total += x[i]
    scale = 1.0 / period
    for i in range(period - 1, n):
        total += x[i]
        out[i] = total * scale
        total -= x[i - period + 1]
    return out


@njit(cache=True)
def crossover_loop(
    open_: np.ndarray,
    close: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    cash: float,
    fee: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (entry bar, exit bar, quantity) of every closed round trip, in order."""
    n = close.shape[0]
    entries = np.empty(n // 2 + 1, np.int64)
    exits = np.empty(n // 2 + 1, np.int64)
    quantities = np.empty(n // 2 + 1)
    count = 0
    held = 0.0
    pending = 0.0  # > 0: a buy of that many shares, < 0: sell everything, at the next open
    for t in range(n):
        if pending > 0.0:
            price = open_[t]
            quantity = min(pending, np.floor(cash / (price * (1.0 + fee))))
            if quantity > 0.0:
                notional = quantity * price
                cash -= notional + fee * notional
                held = quantity
                entries[count] = t
                quantities[count] = quantity
        elif pending < 0.0:
            notional = held * open_[t]
            cash += notional - fee * notional
            held = 0.0
            exits[count] = t
            count += 1
        pending = 0.0
        if t == 0:
            continue
        if fast[t] > slow[t] and fast[t - 1] < slow[t - 1]:
            if held == 0.0:
                pending = np.floor(cash / (close[t] * (1.0 + fee)))
        elif fast[t] < slow[t] and fast[t - 1] > slow[t - 1] and held > 0.0:
            pending = -1.0
    return entries[:count], exits[:count], quantities[:count]


def _iso(stamps: np.ndarray) -> list[str]:
    """ISO-8601 UTC to the second, as Kestrel writes times (only the trades' bars)."""
    seconds = stamps.astype("datetime64[s]")
    return [f"{text}Z" for text in np.datetime_as_string(seconds, unit="s")]


def main() -> None:
    """Run the loop on the bars file and write the closed trades as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bars", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--fee", type=float, default=0.0001)
    parser.add_argument("--cash", type=float, default=100_000.0)
    args = parser.parse_args()
    table = pq.read_table(args.bars, columns=["timestamp", "open", "close"])
    open_ = table.column("open").to_numpy().astype(np.float64)
    close = table.column("close").to_numpy().astype(np.float64)
    entries, exits, quantities = crossover_loop(
        open_, close, sma(close, 10), sma(close, 30), args.cash, args.fee
    )
    stamps = table.column("timestamp").to_numpy()  # datetime64[ns], UTC
    trades = [
        [a, float(open_[i]), b, float(open_[j]), float(q)]
        for a, i, b, j, q in zip(
            _iso(stamps[entries]), entries, _iso(stamps[exits]), exits, quantities, strict=True
        )
    ]
    document = {"engine": "numba loop", "version": f"numba {numba.__version__}", "trades": trades}
    args.out.write_text(json.dumps(document), encoding="utf-8")


if __name__ == "__main__":
    main()
