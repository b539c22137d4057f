"""Benchmark: running a backtest vs saving it (artifacts + store), and memory per stage.

In: ``--bars`` (default 1,000,000), ``--db`` (default: a temporary SQLite file). Builds the
issue-13 data set as `bench_cli` does (a child process writes the Parquet file, so that
its memory is not counted here), then runs one backtest in this process and prints, per
stage, the CPU time of this process, its wall time, its resident memory after the stage
and its peak so far:

- load (read and validate the Parquet file), run (`run_backtest`: indicators, loop,
  equity curve, metrics), artifacts (`write_artifacts`: the CSVs and JSON files) and
  report (the HTML page) each alone, then the save as a command does it (`finish_run`:
  files, page and store rows at once, sharing the tables they read, the collector
  paused) without a store and with one; store = the difference: what the store adds;
- "saving / running": the whole save with the store (files, page, rows) / run, in CPU
  time — issue 13 wants <= 1.

CPU time is the figure to compare on a busy machine (wall time counts other processes).

    python benchmarks/bench_saving.py [--bars N] [--db URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib() -> float:
    """Return this process's resident memory now, in MiB (Linux; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    """Print one line per stage: CPU, wall, RSS now, peak RSS."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self._mark = (time.process_time(), time.perf_counter())

    def done(self, name: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        self.cpu[name] = cpu - self._mark[0]
        print(
            f"  {name:<16} {self.cpu[name]:7.2f} s CPU {wall - self._mark[1]:7.2f} s wall"
            f"   RSS {_rss_mib():7,.0f} MiB   peak {_peak_mib():7,.0f} MiB",
            flush=True,
        )
        self._mark = (time.process_time(), time.perf_counter())


def main() -> None:
    """Build the data set, run and save one backtest, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--db", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="kestrel-saving-") as tmp:
        work = Path(tmp)
        data = work / "bars.parquet"
        write = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from bench_cli import write_data; write_data(Path(sys.argv[2]), int(sys.argv[3]))"
        )
        here = str(Path(__file__).resolve().parent)
        subprocess.run([sys.executable, "-c", write, here, str(data), str(args.bars)], check=True)
        sys.path.insert(0, here)
        from bench_cli import CONFIG

        config_path = work / "bench.toml"
        config_path.write_text(CONFIG.format(data=data))
        print(f"{args.bars:,} one-minute bars, SMA 10/30, next-open fills, whole shares")
        stages = Stages()
        from engine.config import load_config
        from engine.persistence import RunStore
        from engine.report.artifacts import write_artifacts
        from engine.report.html import render_report
        from engine.runtime import run_backtest
        from engine.runtime.inputs import load_frames
        from engine.runtime.runs import finish_run

        stages.done("import")
        config = load_config(config_path, [])
        frames = load_frames(config)
        stages.done("load")
        result = run_backtest(config, frames=frames)
        del frames
        stages.done("run")
        write_artifacts(result, work / "artifacts", {"run_id": "bench"})
        stages.done("artifacts")
        render_report(result, work / "artifacts" / "report.html")
        stages.done("report")
        finish_run(result, out_dir=work / "files", store=None)
        stages.done("finish, no store")
        store = RunStore(args.db or f"sqlite:///{work / 'runs.db'}")
        stages.done("open store")
        run_id, _ = finish_run(result, out_dir=work / "stored", store=store)
        stages.done("finish, store")
        store_cpu = stages.cpu["finish, store"] - stages.cpu["finish, no store"]
        print(f"  {'store':<16} {store_cpu:7.2f} s CPU (finish, store - finish, no store)")
        if args.db:
            store.delete_run(run_id)
        saving = stages.cpu["finish, store"]
        print(
            f"saving / running: {saving:.2f} / {stages.cpu['run']:.2f} = "
            f"{saving / stages.cpu['run']:.2f} (CPU; target <= 1)"
        )
        if not args.db:
            store.engine.dispose()
            with sqlite3.connect(work / "runs.db") as db:  # move the WAL's pages into the file
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = (work / "runs.db").stat().st_size
            print(f"store file: {size / 2**20:,.1f} MiB ({size / args.bars:,.0f} bytes a bar)")


if __name__ == "__main__":
    main()
