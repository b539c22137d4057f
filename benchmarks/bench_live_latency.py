"""Benchmark: bar received -> order sent inside the paper node, p50/p99 over 10,000 bars.

A `PaperSession` (the code ``kestrel paper`` runs for every bar the feed hands over) on a
fresh SQLite run store trades a strategy that sends a market order on every bar
(alternating buy and sell). For each bar three moments are taken with ``perf_counter_ns``:
the bar handed to ``session.process`` (what the feed's consumer does), the journal commit
returned (the bar is durable), and the simulated broker's ``submit`` called (the order
reaches the venue). Printed: p50/p99/max of received -> sent *with* the journal commit
(the real path) and *without* it (commit returned -> sent: the node alone), and the
commit itself. The feed's own network time is not included. Target: p99 < 1 ms.

    python benchmarks/bench_live_latency.py [--bars N] [--db sqlite:///PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import parse_config
from engine.model import Bar
from engine.persistence import RunStore
from engine.runtime.node import TradingNode
from engine.runtime.paper.journal import PaperJournal
from engine.runtime.paper.session import PaperSession, config_parts, run_id_of
from engine.strategy import Context, Strategy

HOUR_NS = 3_600 * 10**9
START_NS = 1_700_000_000 * 10**9
SYMBOL = "SYN/USDT"


class EveryBar(Strategy):
    """Sends a market order on every bar: buy, then sell, then buy..."""

    def on_start(self, ctx: Context) -> None:
        self.bought = False

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if self.bought:
            ctx.sell(bar.symbol, 0.01)
        else:
            ctx.buy(bar.symbol, 0.01)
        self.bought = not self.bought


def synthetic_bars(n: int, seed: int = 7) -> list[Bar]:
    """Return ``n`` hourly bars of a fixed-seed random walk."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    bars = []
    for i, price in enumerate(close.tolist()):
        ts = START_NS + (i + 1) * HOUR_NS
        high, low = price * 1.001, price * 0.999
        bars.append(Bar(SYMBOL, ts, ts, price, high, low, price, 10.0, HOUR_NS))
    return bars


def session(url: str) -> PaperSession:
    config = parse_config(
        {
            "run": {"name": "latency"},
            "account": {"initial_cash": 1_000_000.0, "currency": "USDT"},
            "data": [{"path": "<live>", "symbol": SYMBOL, "timeframe": "1h"}],
            "instruments": [{"symbol": SYMBOL, "tick_size": 0.01, "lot_size": 0.00001}],
            "strategy": {"path": "strategies.sma_cross:SmaCross"},  # replaced below
            "execution": {"fee_rate": 0.001},
        }
    )
    node = TradingNode(config, strategy=EveryBar())
    journal = PaperJournal(RunStore(url), "latency")
    created = datetime.now(tz=UTC).isoformat()
    parts = config_parts(config, node)
    account = journal.create(run_id_of("latency"), created, START_NS, "", parts)
    return PaperSession(config, journal, account, node)


def percentiles(label: str, ns: np.ndarray[Any, Any]) -> str:
    p50, p99 = np.percentile(ns, [50, 99]) / 1000.0
    return f"{label:<34} p50 {p50:8.1f} µs   p99 {p99:8.1f} µs   max {ns.max() / 1000:9.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bars", type=int, default=10_000)
    parser.add_argument("--db", help="run store URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'latency.db'}"
        paper = session(url)
        received: list[int] = []
        committed: list[int] = []
        sent: list[int] = []
        append = paper.journal.append
        submit = paper.node.kernel.broker.submit

        def timed_append(*a: Any, **k: Any) -> None:
            append(*a, **k)
            committed.append(time.perf_counter_ns())

        def timed_submit(order: Any) -> None:
            sent.append(time.perf_counter_ns())
            submit(order)

        paper.journal.append = timed_append  # type: ignore[method-assign]
        paper.node.kernel.broker.submit = timed_submit  # type: ignore[method-assign]
        for bar in synthetic_bars(args.bars):
            received.append(time.perf_counter_ns())
            paper.process(bar)
        paper.finish()
        paper.journal.release()
    if not len(received) == len(committed) == len(sent):
        raise SystemExit(f"expected one order per bar: {len(sent)} orders, {len(received)} bars")
    start, durable, order = (np.array(x, dtype=np.int64) for x in (received, committed, sent))
    fills = len(paper.node.kernel.recorder.fills)
    print(f"{args.bars:,} bars, {len(sent):,} orders sent, {fills:,} fills; store {url}")
    print(percentiles("received -> sent (with journal)", order - start))
    print(percentiles("received -> sent (node alone)", order - durable))
    print(percentiles("journal commit", durable - start))
    p99 = np.percentile(order - start, 99) / 1e6
    print(f"target p99 < 1 ms with the journal: {'met' if p99 < 1.0 else 'missed'} ({p99:.3f} ms)")


if __name__ == "__main__":
    main()
