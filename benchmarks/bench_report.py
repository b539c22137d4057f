"""Benchmark: HTML report of a 1,000,000-bar run — generation time and file size.

Runs the SMA crossover on `bench_backtest.synthetic_bars` (fixed seed, one-minute bars),
then times `engine.report.html.render_report` on the in-memory result, and again from
the run's artifacts folder (what ``kestrel report DIR`` does: read CSVs, recompute).
Targets: under 10 s and under 10 MB.

    python benchmarks/bench_report.py [--bars N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backtest import synthetic_bars

from engine.config import parse_config
from engine.report.artifacts import write_artifacts
from engine.report.html import render_report
from engine.runtime import run_backtest

MB = 1024 * 1024


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    frame = synthetic_bars(args.bars)
    config = parse_config(
        {
            "run": {"name": "bench_report"},
            "account": {"initial_cash": 100_000.0, "currency": "USD"},
            "data": [{"path": "<synthetic>", "symbol": "SYN/USD"}],
            "instruments": [{"symbol": "SYN/USD", "tick_size": 0.0001, "lot_size": 0.0001}],
            "strategy": {
                "path": "strategies.sma_cross:SmaCross",
                "params": {"fast": 10, "slow": 30},
            },
            "execution": {"fee_rate": 0.001, "slippage_bps": 1.0},
        }
    )
    started = time.perf_counter()
    result = run_backtest(config, frames=[frame])
    print(
        f"backtest: {args.bars:,} bars, {result.metrics['num_trades']:,} trades "
        f"in {time.perf_counter() - started:.2f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        write_artifacts(result, folder, {"run_id": "bench-report"})
        started = time.perf_counter()
        path = render_report(result, folder / "report.html")
        from_result = time.perf_counter() - started
        size = path.stat().st_size
        print(
            f"report from result: {from_result:.2f} s, {size / MB:.2f} MB (targets < 10 s, < 10 MB)"
        )
        started = time.perf_counter()
        again = render_report(folder, Path(tmp) / "again.html")
        from_dir = time.perf_counter() - started
        print(
            f"report from folder (kestrel report DIR): {from_dir:.2f} s, "
            f"{again.stat().st_size / MB:.2f} MB (no price chart: synthetic data has no file)"
        )


if __name__ == "__main__":
    main()
