"""Benchmark: the first ``kestrel backtest`` after install against the second, per config.

In: the shipped configs (``configs/*.toml``, or the ones named), ``--warm``. For each
config, with numba's cache in a fresh temporary folder (``NUMBA_CACHE_DIR``), it runs
``kestrel backtest CONFIG --no-db`` twice as child processes and prints both wall times
and their difference: the first run compiles (or, with ``--warm``, loads) the numba
kernels the run uses, the second finds them in the cache. ``--warm`` first does what
``make demo`` does into the empty cache (``kestrel backtest configs/sma_cross_btc.toml``,
here with ``--no-db``, then ``kestrel warmup``), so the first run is the first one a user
makes after ``make demo``.

Issue 13's target: the first run is at most ~1 s slower than the second.

    python benchmarks/bench_first_run.py [--warm] [--repeat K] [CONFIG ...]

Each cache folder starts empty and is deleted afterwards; so are the artifacts (written
under a temporary ``--out``). Wall times shift with the machine's load, so the child's CPU
time (user + system) is printed too; ``--repeat K`` runs each pair K times (each with a
fresh cache) and keeps the smallest. Python's own bytecode cache is on, as on a user's
machine (``bench_cli.USER_ENV``): the difference is numba's. ``--json`` prints the figures
as one JSON object on the last line (`targets.py` reads it).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import ROOT, USER_ENV  # ROOT: this checkout, or KESTREL_BENCH_ROOT

DEMO_CONFIG = "configs/sma_cross_btc.toml"  # the Makefile's DEMO_CONFIG


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kestrel(args: list[str], cache: Path) -> tuple[float, float]:
    """Run ``kestrel ARGS`` with numba's cache in ``cache``; return (wall s, CPU s)."""
    env = {**USER_ENV, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"kestrel {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return wall, _children_cpu() - cpu


def backtest(config: str, out: Path, cache: Path) -> tuple[float, float]:
    """Run ``kestrel backtest config --no-db --out out``; return (wall s, CPU s)."""
    return kestrel(["backtest", config, "--no-db", "--out", str(out)], cache)


def warmed_cache(folder: Path) -> Path:
    """Fill an empty numba cache in ``folder`` as ``make demo`` does; return it."""
    cache = folder / "numba-cache"
    cache.mkdir()
    backtest(DEMO_CONFIG, folder / "demo", cache)
    kestrel(["warmup"], cache)
    return cache


def first_and_second(
    config: str, template: Path | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return ((wall, CPU) of the first run, (wall, CPU) of the second).

    The cache starts empty, or as a copy of ``template`` (a cache `warmed_cache` filled).
    """
    with tempfile.TemporaryDirectory(prefix="kestrel-first-run-") as tmp:
        work = Path(tmp)
        cache = work / "numba-cache"
        if template is None:
            cache.mkdir()
        else:
            shutil.copytree(template, cache)
        first = backtest(config, work / "first", cache)
        second = backtest(config, work / "second", cache)
    return first, second


def main() -> None:
    """Measure every config and print one row each, then the largest difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="configs (default: configs/*.toml)")
    parser.add_argument("--warm", action="store_true", help="do what make demo does first")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    configs = args.configs or sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.toml")
    )
    cache_state = "warmed as make demo does" if args.warm else "empty"
    print(f"numba cache {cache_state}; kestrel backtest CONFIG --no-db; best of {args.repeat}")
    print(f"{'':<44} {'---- wall s ----':>26}   {'---- CPU s ----':>26}")
    heads = " ".join(f"{h:>8}" for h in ("first", "second", "extra"))
    print(f"{'config':<44} {heads}   {heads}")
    worst_wall = worst_cpu = 0.0
    figures: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="kestrel-demo-cache-") as tmp:
        template = warmed_cache(Path(tmp)) if args.warm else None
        for config in configs:
            pairs = [first_and_second(config, template) for _ in range(args.repeat)]
            wall = [min(p[i][0] for p in pairs) for i in (0, 1)]
            cpu = [min(p[i][1] for p in pairs) for i in (0, 1)]
            worst_wall = max(worst_wall, wall[0] - wall[1])
            worst_cpu = max(worst_cpu, cpu[0] - cpu[1])
            figures[config] = {"wall": wall, "cpu": cpu}
            print(
                f"{config:<44} {wall[0]:8.2f} {wall[1]:8.2f} {wall[0] - wall[1]:8.2f}   "
                f"{cpu[0]:8.2f} {cpu[1]:8.2f} {cpu[0] - cpu[1]:8.2f}",
                flush=True,
            )
    print(f"largest first-run extra: {worst_wall:.2f} s wall, {worst_cpu:.2f} s CPU")
    if args.json:
        summary = {"worst_extra_wall_s": worst_wall, "worst_extra_cpu_s": worst_cpu}
        print(json.dumps({**summary, "configs": figures, "warm": args.warm}, sort_keys=True))


if __name__ == "__main__":
    main()
