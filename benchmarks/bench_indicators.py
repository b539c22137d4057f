"""Benchmark every indicator: numba batch vs TA-Lib on 1,000,000 bars, and streaming cost.

Run:  python benchmarks/bench_indicators.py [--bars 1000000] [--only sma,rsi] [--repeat 7]

Prints one row per function (numba ms, TA-Lib ms, ratio numba/TA-Lib, streaming µs per
update) and a summary: median and worst ratio, functions slower than 2x, median streaming
cost. Kernels are compiled (or loaded from the on-disk cache) before timing starts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine.indicators as ta

STREAM_WARMUP = 300
STREAM_UPDATES = 2000


def make_data(bars: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Return a random-walk OHLCV series plus TA-Lib's generic input names."""
    rng = np.random.default_rng(seed)
    close = 1000.0 + np.cumsum(rng.normal(0.0, 1.0, bars))
    open_ = close + rng.normal(0.0, 0.5, bars)
    high = np.maximum(open_, close) + rng.uniform(0.0, 1.0, bars)
    low = np.minimum(open_, close) - rng.uniform(0.0, 1.0, bars)
    volume = rng.uniform(1.0, 100.0, bars)
    return {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "real": close,
        "real0": close,
        "real1": open_,
        "periods": rng.integers(2, 30, bars).astype(np.float64),
    }


def best_times(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Return the best wall time of each function over ``repeat`` interleaved calls.

    Interleaving exposes both to the same background load; the minimum is the run least
    disturbed by it, which is what compares two implementations fairly on a busy machine.
    """
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for slot, function in enumerate((first, second)):
            start = time.perf_counter()
            function()
            best[slot] = min(best[slot], time.perf_counter() - start)
    return best[0], best[1]


def stream_cost(name: str, data: dict[str, np.ndarray]) -> float:
    """Return the streaming cost in µs per update (best of four blocks, after a warm-up)."""
    spec = ta.get(name)
    stream = spec.streaming()
    columns = [data[key] for key in spec.inputs]
    for i in range(STREAM_WARMUP):
        stream.update(*(float(column[i]) for column in columns))
    rows = [
        tuple(float(column[i]) for column in columns)
        for i in range(STREAM_WARMUP, STREAM_WARMUP + STREAM_UPDATES)
    ]
    update = stream.update
    best = float("inf")
    for chunk in range(0, len(rows), STREAM_UPDATES // 4):
        part = rows[chunk : chunk + STREAM_UPDATES // 4]
        start = time.perf_counter()
        for row in part:
            update(*row)
        best = min(best, (time.perf_counter() - start) / len(part))
    return best * 1e6


def main() -> None:
    """Run the benchmark and print the table and summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated indicator names")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming column")
    args = parser.parse_args()

    import talib

    data = make_data(args.bars)
    small = {key: values[:500] for key, values in data.items()}
    wanted = {name.strip().lower() for name in args.only.split(",") if name.strip()}
    specs = [
        spec
        for spec in ta.specs()
        if spec.group != "Pattern Recognition" and (not wanted or spec.name in wanted)
    ]
    print(f"{'function':<20}{'numba ms':>10}{'talib ms':>10}{'ratio':>8}{'stream µs':>11}")
    ratios: dict[str, float] = {}
    streams: dict[str, float] = {}
    for spec in specs:
        inputs = {key: data[key] for key in spec.inputs}
        spec.compute({key: small[key] for key in spec.inputs})  # compile or load from cache
        talib_function = getattr(talib, spec.name.upper())
        arrays = [data[key] for key in spec.inputs]
        ours, theirs = best_times(
            lambda spec=spec, inputs=inputs: spec.compute(inputs),
            lambda f=talib_function, a=arrays: f(*a),
            args.repeat,
        )
        ratios[spec.name] = ours / theirs
        stream = float("nan") if args.no_stream else stream_cost(spec.name, data)
        streams[spec.name] = stream
        print(
            f"{spec.name:<20}{ours * 1e3:>10.2f}{theirs * 1e3:>10.2f}"
            f"{ours / theirs:>8.2f}{stream:>11.2f}"
        )
    worst = max(ratios, key=ratios.__getitem__)
    slow = sorted(name for name, ratio in ratios.items() if ratio > 2.0)
    print()
    print(f"functions: {len(ratios)}  bars: {args.bars:,}")
    print(f"median ratio numba/TA-Lib: {statistics.median(ratios.values()):.2f}")
    print(f"worst ratio: {ratios[worst]:.2f} ({worst})")
    print(f"slower than 2x: {len(slow)} {', '.join(slow)}")
    if not args.no_stream:
        finite = [value for value in streams.values() if value == value]
        print(f"median streaming update: {statistics.median(finite):.2f} µs")
        print(f"worst streaming update: {max(finite):.2f} µs ({max(streams, key=streams.get)})")


if __name__ == "__main__":
    main()
