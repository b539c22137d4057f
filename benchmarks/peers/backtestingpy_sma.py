"""The SMA 10/30 crossover in backtesting.py, as its documentation writes it.

Runs in the peers' own venv (``benchmarks/.peers-venv``, made by ``python
benchmarks/bench_peers.py --install-peers``), never in the project's: it imports nothing
from Kestrel. In: ``backtestingpy_sma.py BARS.parquet OUT.json [--fee RATE] [--cash
CASH]`` — the bars of ``benchmarks/bench_cli.write_data`` plus two columns, ``fast`` and
``slow``, that ``bench_peers.py`` adds. Out: ``OUT.json`` with the engine's name and
version and every closed round trip as ``[entry_time, entry_price, exit_time,
exit_price, quantity]`` (times ISO-8601 UTC, as Kestrel's trades.csv writes them).

Why the SMAs come in as columns: pandas' rolling mean (what backtesting.py's examples
use) rounds differently from a running sum, and on this data a few near-ties then cross
in one engine and not in the other, so the engines would not make the same trades. The
columns are the running-sum SMAs Kestrel computes, passed through ``self.I`` as an
indicator would be; computing two rolling means would cost backtesting.py a few tens of
milliseconds more, so this favours it slightly.

Rules as Kestrel's ``strategies/sma_cross.py``: ``lib.crossover`` is strict on both bars;
buy when flat on an upward cross, close on a downward one; orders fill at the next bar's
open (``trade_on_close=False``), whole shares, ``commission`` on every fill. A position
still open at the end is not closed (``finalize_trades=False``) and is not a closed trade.
backtesting.py sizes the buy at the fill (``floor(cash / (open × (1 + fee)))``), Kestrel
at the close (then caps it at the fill), so quantities may differ; ``bench_peers.py``
compares times and prices only for this engine.
"""

from __future__ import annotations

import argparse
import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


class SmaCross(Strategy):
    """Long on an upward cross of the fast SMA over the slow one, flat on a downward one."""

    def init(self) -> None:
        """Declare the two SMAs (precomputed columns, see the module docstring)."""
        self.fast = self.I(lambda: self.data.fast, name="SMA(10)")
        self.slow = self.I(lambda: self.data.slow, name="SMA(30)")

    def next(self) -> None:
        """Trade on the bar where the SMAs cross."""
        if crossover(self.fast, self.slow):
            if not self.position:
                self.buy()
        elif crossover(self.slow, self.fast) and self.position:
            self.position.close()


def _iso(stamps: np.ndarray) -> list[str]:
    """ISO-8601 UTC to the second, as Kestrel writes times (only the trades' bars)."""
    seconds = stamps.astype("datetime64[s]")
    return [f"{text}Z" for text in np.datetime_as_string(seconds, unit="s")]


def main() -> None:
    """Run the backtest on the bars file and write the closed trades as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bars", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--fee", type=float, default=0.0001)
    parser.add_argument("--cash", type=float, default=100_000.0)
    args = parser.parse_args()
    frame = pd.read_parquet(args.bars)
    stamps = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    data = pd.DataFrame(
        {
            "Open": frame["open"].to_numpy(),
            "High": frame["high"].to_numpy(),
            "Low": frame["low"].to_numpy(),
            "Close": frame["close"].to_numpy(),
            "Volume": frame["volume"].to_numpy(),
            "fast": frame["fast"].to_numpy(),
            "slow": frame["slow"].to_numpy(),
        },
        index=pd.DatetimeIndex(stamps),
    )
    backtest = Backtest(
        data,
        SmaCross,
        cash=args.cash,
        commission=args.fee,
        trade_on_close=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open": expected, see above
        stats = backtest.run()
    trades = stats["_trades"]
    entries, exits = trades["EntryBar"].to_numpy(), trades["ExitBar"].to_numpy()
    rows = [
        [a, float(p), b, float(q), float(abs(size))]
        for a, p, b, q, size in zip(
            _iso(stamps[entries]),
            trades["EntryPrice"],
            _iso(stamps[exits]),
            trades["ExitPrice"],
            trades["Size"],
            strict=True,
        )
    ]
    document = {
        "engine": "backtesting.py",
        "version": f"backtesting.py {version('backtesting')}",
        "trades": rows,
    }
    args.out.write_text(json.dumps(document), encoding="utf-8")


if __name__ == "__main__":
    main()
