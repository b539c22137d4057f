"""Benchmark: Kestrel next to its peers on the issue-13 data set, whole processes from the shell.

In: ``--bars`` (default 1,000,000), ``--repeat`` (default 3), ``--json PATH``,
``--install-peers``. Builds the fixed-seed random walk of ``bench_cli.write_data`` (one-minute
bars, Parquet, a temporary folder) and runs on it, each as a child process timed from
outside (wall time and peak RSS, ``bench_cli.measure``), the same SMA 10/30 crossover with
next-open fills, whole shares and a 0.01 % fee:

- ``kestrel backtest`` with ``--no-db`` and with the store (a fresh SQLite file per run),
  artifacts and HTML report included (``bench_cli.CONFIG``, ``strategies/sma_cross.py``);
- the practical floor, one numba loop (``benchmarks/peers/floor_sma.py``);
- backtesting.py, when its venv exists (``benchmarks/peers/backtestingpy_sma.py``).

backtesting.py is installed by ``--install-peers`` into ``benchmarks/.peers-venv`` (git-
ignored; ``benchmarks/peers/requirements.txt``), never into the project's venv. Every engine
first runs once, untimed, on 2,000 bars (numba caches, imports warm), then the engines take
turns ``--repeat`` times and the best wall time and the lowest peak of each are kept.

Every engine must have made the same closed trades as ``kestrel backtest``: the same
count and, trade by trade, entry and exit time and price (prices to 1e-8: Kestrel snaps
fills to the 0.0001 tick, which moves a few by an ulp) and, for the floor, which follows
Kestrel's sizing, the quantity. A difference is printed on stderr in capitals and the exit
code is 1 (after the JSON is written). Out: a table, the ratios (Kestrel / backtesting.py,
Kestrel / floor: best against best, and the median of each round's ratio) and, with
``--json``, all of it with the date and the machine (Kestrel's version: the last commit
that changed engine/, strategies/ or pyproject.toml);
``benchmarks/peers_table.py`` renders ``benchmarks/peers_results.json`` into the README.

    python benchmarks/bench_peers.py --install-peers --json benchmarks/peers_results.json
    python benchmarks/bench_peers.py --bars 20000 --repeat 1    # a quick look
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from bench_cli import CONFIG, measure, write_data
except ImportError:  # imported as a module (the tests): benchmarks/ is not on sys.path
    from benchmarks.bench_cli import CONFIG, measure, write_data

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "benchmarks" / "peers"
PEERS_VENV = ROOT / "benchmarks" / ".peers-venv"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
FEE = 0.0001  # bench_cli.CONFIG's fee_rate
CASH = 100_000.0  # bench_cli.CONFIG's initial_cash
WARMUP_BARS = 2_000

# one closed round trip: entry time, entry price, exit time, exit price, quantity
Trade = tuple[str, float, str, float, float]


@dataclass(frozen=True)
class Engine:
    """One contestant: how to run it on the prepared inputs and where its trades land."""

    key: str
    label: str
    command: Callable[[dict[str, Path], Path], list[str]]  # (inputs, out) -> argv
    trades: Callable[[Path], list[Trade]]  # out -> closed trades
    same_quantity: bool  # sizes as Kestrel does, so quantities are compared too


def kestrel_trades(out: Path) -> list[Trade]:
    """Closed round trips from a Kestrel run folder's trades.csv."""
    with (out / "trades.csv").open(newline="", encoding="utf-8") as handle:
        return [
            (
                row["entry_time"],
                float(row["entry_price"]),
                row["exit_time"],
                float(row["exit_price"]),
                float(row["quantity"]),
            )
            for row in csv.DictReader(handle)
            if row["status"] == "closed"
        ]


def peer_trades(out: Path) -> list[Trade]:
    """Closed round trips from a peer script's JSON."""
    rows = json.loads(out.read_text(encoding="utf-8"))["trades"]
    return [(str(a), float(p), str(b), float(q), float(n)) for a, p, b, q, n in rows]


def peer_version(out: Path) -> str:
    """The version line a peer script wrote."""
    return str(json.loads(out.read_text(encoding="utf-8"))["version"])


def _kestrel(store: bool) -> Callable[[dict[str, Path], Path], list[str]]:
    def command(inputs: dict[str, Path], out: Path) -> list[str]:
        where = ["--db", f"sqlite:///{out.with_suffix('.db')}"] if store else ["--no-db"]
        base = [sys.executable, "-m", "engine.cli", "backtest", str(inputs["config"])]
        return [*base, "--out", str(out), *where]

    return command


def _floor(inputs: dict[str, Path], out: Path) -> list[str]:
    script = str(PEERS / "floor_sma.py")
    return [sys.executable, script, str(inputs["bars"]), str(out), "--fee", str(FEE)]


def _backtesting(inputs: dict[str, Path], out: Path) -> list[str]:
    script = str(PEERS / "backtestingpy_sma.py")
    return [str(PEERS_PYTHON), script, str(inputs["bars_sma"]), str(out), "--fee", str(FEE)]


ENGINES = (
    Engine("floor", "numba loop (the practical floor)", _floor, peer_trades, True),
    Engine("backtesting.py", "backtesting.py", _backtesting, peer_trades, False),
    Engine("kestrel", "`kestrel backtest --no-db`", _kestrel(False), kestrel_trades, True),
    Engine("kestrel+store", "`kestrel backtest` (store on)", _kestrel(True), kestrel_trades, True),
)


def prepare(work: Path, bars: int, with_backtesting: bool) -> dict[str, Path]:
    """Write the bars, Kestrel's config and (for backtesting.py) the bars with both SMAs."""
    import pandas as pd

    from engine.indicators import sma

    inputs = {"bars": work / f"bars-{bars}.parquet", "config": work / f"bench-{bars}.toml"}
    write_data(inputs["bars"], bars)
    inputs["config"].write_text(CONFIG.format(data=inputs["bars"]), encoding="utf-8")
    if with_backtesting:
        frame = pd.read_parquet(inputs["bars"])
        close = frame["close"].to_numpy()
        frame["fast"] = sma(close, timeperiod=10)  # the SMAs Kestrel's strategy computes
        frame["slow"] = sma(close, timeperiod=30)
        inputs["bars_sma"] = work / f"bars-sma-{bars}.parquet"
        frame.to_parquet(inputs["bars_sma"], index=False)
    return inputs


def differences(reference: list[Trade], other: list[Trade], quantity: bool) -> list[str]:
    """What differs between Kestrel's closed trades and another engine's ([] if nothing)."""
    found = []
    if len(reference) != len(other):
        found.append(f"{len(reference)} trades vs {len(other)}")

    def key(trade: Trade) -> tuple[object, ...]:
        at, price, until, exit_price, size = trade
        fields = (at, round(price, 8), until, round(exit_price, 8))
        return (*fields, size) if quantity else fields

    for number, (mine, theirs) in enumerate(zip(reference, other, strict=False), start=1):
        if key(mine) != key(theirs):
            found.append(f"trade {number} differs: kestrel {list(mine)} vs {list(theirs)}")
            break
    return found


def install_peers() -> None:
    """Create benchmarks/.peers-venv and install the peers into it (exit 2 on failure)."""
    steps = [[sys.executable, "-m", "venv", str(PEERS_VENV)]]
    steps.append([str(PEERS_PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    steps.append([str(PEERS_PYTHON), "-m", "pip", "install", "-r", str(PEERS / "requirements.txt")])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"error: {' '.join(step[:4])} … failed: {last}")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    meminfo = Path("/proc/meminfo")
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else ""
    memory = 0.0
    if meminfo.is_file():
        total = [line for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")]
        memory = round(int(total[0].split()[1]) / 1024**2, 1) if total else 0.0
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_once(engine: Engine, inputs: dict[str, Path], out: Path) -> tuple[float, float]:
    """Run ``engine`` once; return (wall s, peak MiB). Its trades are in ``out``."""
    wall, peak, _ = measure(engine.command(inputs, out))  # CPU: bench_cli prints it
    return wall, peak


def check(engines: list[Engine], outs: dict[str, Path]) -> dict[str, list[str]]:
    """Each engine's differences from ``kestrel --no-db`` (every engine listed)."""
    reference = kestrel_trades(outs["kestrel"])
    return {
        engine.key: differences(reference, engine.trades(outs[engine.key]), engine.same_quantity)
        for engine in engines
        if engine.key != "kestrel"
    }


def _ratio(results: dict[str, dict[str, Any]], top: str, bottom: str) -> float | None:
    """Best wall time against best wall time (None when either engine did not run)."""
    if top in results and bottom in results:
        return round(float(results[top]["wall_s"]) / float(results[bottom]["wall_s"]), 3)
    return None


def _round_ratio(results: dict[str, dict[str, Any]], top: str, bottom: str) -> float | None:
    """The median over the rounds of each round's ratio: the engines of one round ran
    back to back, under about the same load, so this moves less on a busy machine."""
    if top in results and bottom in results:
        pairs = zip(results[top]["walls_s"], results[bottom]["walls_s"], strict=True)
        return round(statistics.median(a / b for a, b in pairs), 3)
    return None


PAIRS = {
    "kestrel --no-db / backtesting.py": ("kestrel", "backtesting.py"),
    "kestrel with store / backtesting.py": ("kestrel+store", "backtesting.py"),
    "kestrel --no-db / floor": ("kestrel", "floor"),
    "kestrel with store / floor": ("kestrel+store", "floor"),
}


def benchmark(bars: int, repeat: int, work: Path) -> dict[str, Any]:
    """Run every available engine and return the JSON-ready figures."""
    engines = [e for e in ENGINES if e.key != "backtesting.py" or PEERS_PYTHON.is_file()]
    with_backtesting = any(e.key == "backtesting.py" for e in engines)
    warm = prepare(work, WARMUP_BARS, with_backtesting)
    for engine in engines:
        run_once(engine, warm, work / f"warm-{engine.key}")
    inputs = prepare(work, bars, with_backtesting)
    commit = _commit()  # what is measured, before anything else can commit
    walls: dict[str, list[float]] = {e.key: [] for e in engines}
    peaks: dict[str, list[float]] = {e.key: [] for e in engines}
    outs: dict[str, Path] = {}
    for attempt in range(repeat):
        for engine in engines:
            outs[engine.key] = work / f"run-{attempt}-{engine.key}"
            wall, peak = run_once(engine, inputs, outs[engine.key])
            walls[engine.key].append(round(wall, 3))
            peaks[engine.key].append(round(peak, 1))
            print(f"  run {attempt + 1}/{repeat} {engine.key:<15} {wall:7.2f} s {peak:7.0f} MiB")
    mismatches = check(engines, outs)
    results: dict[str, dict[str, Any]] = {}
    for engine in engines:
        trades = engine.trades(outs[engine.key])
        version = f"kestrel {commit}" if engine.key.startswith("kestrel") else ""
        results[engine.key] = {
            "engine": engine.label,
            "version": version or peer_version(outs[engine.key]),
            "wall_s": min(walls[engine.key]),
            "peak_mib": min(peaks[engine.key]),
            "walls_s": walls[engine.key],
            "peaks_mib": peaks[engine.key],
            "trades": len(trades),
            "first_trade": list(trades[0]) if trades else None,
            "last_trade": list(trades[-1]) if trades else None,
        }
    ratios = {name: _ratio(results, *pair) for name, pair in PAIRS.items()}
    medians = {name: _round_ratio(results, *pair) for name, pair in PAIRS.items()}
    return {
        "bars": bars,
        "repeat": repeat,
        "rows": [results[e.key] | {"key": e.key} for e in engines],
        "ratios": {name: value for name, value in ratios.items() if value is not None},
        "ratios_median_of_rounds": {
            name: value for name, value in medians.items() if value is not None
        },
        "same_trades": not any(mismatches.values()),
        "mismatches": {key: found for key, found in mismatches.items() if found},
    }


def _commit() -> str:
    """The last commit that changed the engine or the strategies (+dirty: edited since)."""
    paths = ["--", "engine", "strategies", "pyproject.toml"]
    done = subprocess.run(
        ["git", "log", "-1", "--format=%h", *paths], capture_output=True, text=True, check=False
    )
    edited = subprocess.run(
        ["git", "status", "--porcelain", *paths], capture_output=True, text=True, check=False
    )
    return (done.stdout.strip() or "unknown commit") + ("+dirty" if edited.stdout.strip() else "")


def show(figures: dict[str, Any]) -> None:
    """Print the table, the ratios and, loudly, any difference in trades."""
    print(f"\n{figures['bars']:,} one-minute bars, SMA 10/30, next-open fills, whole shares")
    print(f"{'engine':<36} {'version':<28} {'wall s':>8} {'peak MiB':>9} {'trades':>7}")
    for row in figures["rows"]:
        print(
            f"{row['engine']:<36} {row['version']:<28} {row['wall_s']:8.2f} "
            f"{row['peak_mib']:9.0f} {row['trades']:7,}"
        )
    if not any(row["key"] == "backtesting.py" for row in figures["rows"]):
        print("backtesting.py: skipped (no benchmarks/.peers-venv: run with --install-peers)")
    medians = figures.get("ratios_median_of_rounds", {})
    for name, value in figures["ratios"].items():
        median = f" (median of the rounds' ratios {medians[name]:.2f})" if name in medians else ""
        print(f"{name}: {value:.2f} best against best{median}")
    for key, found in figures["mismatches"].items():
        for line in found:
            print(f"TRADES DIFFER: {key} vs kestrel: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print and (optionally) save it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--install-peers", action="store_true", help="create benchmarks/.peers-venv first"
    )
    args = parser.parse_args(argv)
    json_path = args.json.resolve() if args.json else None
    if args.bars < 100 or args.repeat < 1:
        parser.error("--bars must be at least 100 and --repeat at least 1")
    os.chdir(ROOT)  # `python -m engine.cli` and the strategy path resolve from the root
    if args.install_peers:
        install_peers()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    about = machine()
    with tempfile.TemporaryDirectory(prefix="kestrel-peers-") as tmp:
        figures = benchmark(args.bars, args.repeat, Path(tmp))
    about["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures = {"date": started, "machine": about, **figures}
    show(figures)
    if json_path:
        text = json.dumps(figures, indent=2, sort_keys=True) + "\n"
        json_path.write_text(text, encoding="utf-8")
    return 0 if figures["same_trades"] else 1


if __name__ == "__main__":
    sys.exit(main())
