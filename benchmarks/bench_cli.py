"""Benchmark: the whole ``kestrel backtest`` command, from the shell, on N one-minute bars.

In: ``--bars`` (default 1,000,000), ``--repeat``. Builds a fixed-seed geometric random walk
(the issue-13 data set) as Parquet in a temporary folder, writes a config (SMA 10/30
crossover = ``strategies/sma_cross.py``, next-open fills, whole shares) and then prints:

- the wall time, CPU time (user + system) and peak RSS of ``kestrel backtest`` as a child
  process, with the store on (a temporary SQLite file) and with ``--no-db``;
- the total of ``python -X importtime -c "import engine.cli"`` (target 0.3 s), and the
  whole-process time of the quick commands: ``kestrel --help``, ``kestrel runs list`` on an
  empty store and a mistyped config (they import no pandas, numba or SQLAlchemy but what
  they need: ``tests/unit/test_import_cost.py``);
- a breakdown measured in this process: import / load / loop, the artifacts and the report
  each alone, and the whole save with the store (``finish_run``: all three at once).

    python benchmarks/bench_cli.py [--bars N] [--repeat K] [--skip-parts]

Peak RSS comes from ``resource.getrusage(RUSAGE_CHILDREN)`` in a fresh helper process per
run, so that one run's peak does not hide the next one's.

Every measured command runs as on a user's machine: with Python's bytecode cache. These
machines set ``PYTHONDONTWRITEBYTECODE``, under which every process compiles every module
it imports from source (~0.2 s of a ``kestrel backtest``); the children here run without
it (`USER_ENV`), so each first attempt writes the ``.pyc`` files and the rest read them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

# the checkout whose engine is measured: this one, or KESTREL_BENCH_ROOT (`targets.py`
# measures an older commit's engine with these same scripts)
ROOT = Path(os.environ.get("KESTREL_BENCH_ROOT") or Path(__file__).resolve().parent.parent)
MINUTE_NS = 60 * 10**9
# the environment of every measured child: this one's, bytecode cache on (see above)
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

CONFIG = """\
[run]
name = "bench_cli"

[account]
initial_cash = 100000.0
currency = "USD"

[[data]]
path = "{data}"
symbol = "SYN"

[[instruments]]
symbol = "SYN"
tick_size = 0.0001
lot_size = 1.0

[strategy]
path = "strategies.sma_cross:SmaCross"
params = {{ fast = 10, slow = 30 }}

[execution]
fee_rate = 0.0001
slippage_bps = 0.0
"""

# Runs one command and prints its children's peak RSS (a fresh process per measurement).
_MEASURE = textwrap.dedent(
    """
    import resource, subprocess, sys, time
    started = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(done.returncode)
    print(f"{wall} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
    """
)


def write_data(path: Path, n: int, seed: int = 42) -> None:
    """Write ``n`` one-minute bars of a geometric random walk to a Parquet file."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1]
    spread = np.abs(rng.normal(0.0, 0.0005, n)) * close
    ts = np.arange(n, dtype=np.int64) * MINUTE_NS + 1_600_000_000 * 10**9
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ts, utc=True),
            "open": open_.round(4),
            "high": (np.maximum(open_, close) + spread).round(4),
            "low": (np.minimum(open_, close) - spread).round(4),
            "close": close.round(4),
            "volume": rng.uniform(1.0, 100.0, n).round(2),
        }
    )
    frame.to_parquet(path, index=False)


def measure(command: list[str]) -> tuple[float, float, float]:
    """Return (wall seconds, peak RSS MiB, CPU seconds) of ``command`` as a child process.

    CPU is the child's user + system time: on a shared machine wall time waits for a core.
    """
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=USER_ENV,
    )
    if done.returncode:
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    wall, peak_kib, cpu = done.stdout.split()
    return float(wall), int(peak_kib) / 1024, float(cpu)


def import_time() -> float:
    """Return the cumulative import time (s) of ``engine.cli`` from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import engine.cli"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=USER_ENV,
    )
    line = [row for row in done.stderr.splitlines() if re.search(r"\|\s*engine\.cli$", row)][-1]
    return int(line.split("|")[1]) / 1e6


def quick_commands(work: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Return the best (wall s, CPU s) of each quick command, a child process run in ROOT.

    CPU is the child's user + system time: on a shared machine wall time waits for a core.
    """
    commands = {
        "kestrel --help": ["--help"],
        "kestrel runs list (empty store)": ["runs", "list", "--db", f"sqlite:///{work / 'e.db'}"],
        "kestrel backtest no_such.toml (error)": ["backtest", "configs/no_such.toml"],
    }
    figures = {}
    for label, args in commands.items():
        best_wall = best_cpu = float("inf")
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "engine.cli", *args],
                capture_output=True,
                cwd=ROOT,
                check=False,
                env=USER_ENV,
            )
            best_wall = min(best_wall, time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            best_cpu = min(best_cpu, cpu)
        figures[label] = (best_wall, best_cpu)
    return figures


def parts(config: Path, work: Path) -> dict[str, float]:
    """Time the stages of one backtest in this process (store: SQLite in ``work``)."""
    started = time.perf_counter()
    import engine.cli  # noqa: F401  (what the command imports before it starts)
    from engine.config import load_config
    from engine.persistence import RunStore
    from engine.report.html import render_report
    from engine.runtime import run_backtest
    from engine.runtime.inputs import load_frames

    figures = {"import": time.perf_counter() - started}
    started = time.perf_counter()
    run_config = load_config(config, [])
    inputs = load_frames(run_config)
    figures["load"] = time.perf_counter() - started
    started = time.perf_counter()
    result = run_backtest(run_config, frames=inputs)
    figures["loop"] = time.perf_counter() - started
    from engine.report.artifacts import write_artifacts

    started = time.perf_counter()
    write_artifacts(result, work / "parts", {"run_id": "parts"})
    figures["artifacts (alone)"] = time.perf_counter() - started
    started = time.perf_counter()
    render_report(result, work / "parts" / "report.html")
    figures["report (alone)"] = time.perf_counter() - started
    from engine.runtime.runs import finish_run

    store = RunStore(f"sqlite:///{work / 'parts.db'}")
    started = time.perf_counter()
    finish_run(result, out_dir=work / "parts_store", store=store)
    # what the command spends saving: since issue 13's concurrent save (`finish_run`),
    # artifacts, report and the store's rows are written at once
    figures["saving (finish_run, store on)"] = time.perf_counter() - started
    return figures


def main() -> None:
    """Build the data set, run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-parts", action="store_true", help="only the whole-process runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    kestrel = [sys.executable, "-m", "engine.cli"]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kestrel-bench-") as tmp:
        work = Path(tmp)
        data = work / "bars.parquet"
        write_data(data, args.bars)
        config = work / "bench.toml"
        config.write_text(CONFIG.format(data=data))
        print(f"{args.bars:,} one-minute bars, SMA 10/30, next-open fills, whole shares")
        for label, extra in (
            ("store on (SQLite)", ["--db", f"sqlite:///{work / 'runs.db'}"]),
            ("--no-db", ["--no-db"]),
        ):
            best_wall, best_peak, best_cpu = float("inf"), float("inf"), float("inf")
            for attempt in range(args.repeat):
                out = work / f"out-{len(extra)}-{attempt}"
                command = [*kestrel, "backtest", str(config), "--out", str(out), *extra]
                wall, peak, cpu = measure(command)
                best_wall, best_peak = min(best_wall, wall), min(best_peak, peak)
                best_cpu = min(best_cpu, cpu)
            figures[f"whole {label} s"] = best_wall
            figures[f"whole {label} CPU s"] = best_cpu
            figures[f"whole {label} peak MiB"] = best_peak
            print(
                f"kestrel backtest, {label}: {best_wall:.2f} s wall ({best_cpu:.2f} s CPU), "
                f"{best_peak:,.0f} MiB peak"
            )
        figures["import engine.cli s"] = min(import_time() for _ in range(args.repeat))
        print(f"import engine.cli (-X importtime total): {figures['import engine.cli s']:.3f} s")
        for label, (wall, cpu) in quick_commands(work, max(args.repeat, 3)).items():
            figures[f"{label} s"] = wall
            figures[f"{label} CPU s"] = cpu
            print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU")
        if not args.skip_parts:
            sys.path.insert(0, str(ROOT))
            os.chdir(ROOT)
            print("breakdown (this process):")
            for name, seconds in parts(config, work).items():
                figures[f"part {name} s"] = seconds
                print(f"  {name:<52} {seconds:7.3f} s")
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
