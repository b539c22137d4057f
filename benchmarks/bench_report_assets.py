"""Benchmark: bytes a small run's report costs, plotly.js shared vs embedded (issue 13).

Runs ``configs/sma_cross_goog.toml`` (2,148 daily bars) once, then saves it ``--runs``
times (default 20) with `engine.runtime.finish_run` into two temporary runs folders: one
with the default shared ``_assets/plotly-….min.js``, one with every page self-contained
(`engine.report.assets.INLINE`, what every run wrote before). Prints, for each, the bytes of
``report.html`` per run, the bytes of the whole runs folder (artifacts, pages and
``_assets``) per run and in total, the save time per run, and the totals for ``--project``
runs (default 500; measured per run and multiplied, plus one shared copy).

    python benchmarks/bench_report_assets.py [--runs N] [--project M]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from engine.config import load_config
from engine.report.assets import INLINE, PlotlyLink
from engine.runtime import finish_run, run_backtest
from engine.runtime.result import BacktestResult

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000


def _save(result: BacktestResult, runs: Path, count: int, plotly: PlotlyLink | None) -> float:
    """Save ``result`` ``count`` times under ``runs``; return the median seconds per save."""
    times = []
    for number in range(count):
        started = time.perf_counter()
        finish_run(result, out_dir=runs / f"run{number:04d}", store=None, plotly=plotly)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--project", type=int, default=500)
    args = parser.parse_args()
    result = run_backtest(load_config(ROOT / "configs" / "sma_cross_goog.toml"))
    print(f"run: sma_cross_goog, {result.metrics['bars']:,} bars, saved {args.runs} times each way")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for label, plotly in (("embedded (--self-contained)", INLINE), ("shared (default)", None)):
            runs = Path(tmp) / label.split()[0]
            seconds = _save(result, runs, args.runs, plotly)
            page = _bytes(runs, "report.html") / args.runs
            shared = _bytes(runs / "_assets", "*") if (runs / "_assets").is_dir() else 0
            folder = (_bytes(runs, "*") - shared) / args.runs
            projected = folder * args.project + shared
            rows.append((label, page, folder, _bytes(runs, "*"), projected, seconds))
            print(
                f"{label:28s} report.html {page / MB:6.3f} MB/run · run folder "
                f"{folder / MB:6.3f} MB/run · _assets {shared / MB:5.2f} MB once · "
                f"{args.runs} runs {_bytes(runs, '*') / MB:8.1f} MB · {args.project} runs "
                f"{projected / MB:8.1f} MB · save {seconds * 1000:5.0f} ms/run (median)"
            )
        (_, page_before, *_, before, _), (_, page_after, *_, after, _) = rows
        print(
            f"report.html {page_before / page_after:.0f}x smaller per run; "
            f"{args.project} runs: {before / MB:,.0f} MB -> {after / MB:,.0f} MB"
        )


if __name__ == "__main__":
    main()
