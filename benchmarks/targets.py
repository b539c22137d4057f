"""Issue 13's targets: measured by the benchmark scripts, shown in the README, never typed.

In: ``--measure LABEL`` runs ``bench_cli.py`` (the whole ``kestrel backtest`` of issue 13's
1 M-bar run, store on and ``--no-db``, the CLI's import time and the in-process parts),
``bench_backtest.py --parts`` (the event loop), ``bench_first_run.py --warm`` (numba's first
run after ``make demo``; ``--no-first-run`` skips it) and ``bench_cli.py`` on 10 M bars
(peak memory; ``--no-10m`` skips it), against the engine of ``--engine`` (default: this
checkout; an older commit's worktree measures "before" with these same scripts). It stores
the figures with the commit, date and load average under LABEL in
``benchmarks/targets_results.json``. Out: without ``--measure``, the table between the
``<!-- targets-table:start -->`` / ``<!-- targets-table:end -->`` markers of README.md,
one column per label in the order they were measured.

    python benchmarks/targets.py --measure before --engine /path/to/old/worktree
    python benchmarks/targets.py --measure after
    python benchmarks/targets.py             # rewrite the README's table from the JSON
    python benchmarks/targets.py --check     # exit 1 if the README differs from it

Measure the labels in one sitting, on a machine as idle as you can get: the wall times move
with the load of the other core (the load averages are in the JSON and the table).
``tests/integration/test_peers_table.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = ROOT / "README.md"
RESULTS = HERE / "targets_results.json"
START = "<!-- targets-table:start -->"
END = "<!-- targets-table:end -->"

sys.path.insert(0, str(HERE))
from bench_cli import USER_ENV  # noqa: E402
from peers_table import publish  # noqa: E402

# (row label, figure key, unit, issue 13's target as (comparison, value) or None)
Row = tuple[str, Callable[[dict[str, Any]], float], str, tuple[str, float] | None]


def _cli(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda figures: float(figures["cli_1m"][key])


def _loop(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda figures: float(figures["loop"][key])


def _big(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda figures: float(figures["cli_10m"][key])


def _first_run(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda figures: float(figures["first_run"][key])


def _saving_over_running(figures: dict[str, Any]) -> float:
    parts = figures["cli_1m"]
    return float(parts["part saving (finish_run, store on) s"] / parts["part loop s"])


def _ten_over_one(figures: dict[str, Any]) -> float:
    return float(
        figures["cli_10m"]["whole store on (SQLite) s"]
        / figures["cli_1m"]["whole store on (SQLite) s"]
    )


ROWS: list[Row] = [
    (
        "whole `kestrel backtest`, 1 M bars, store on: wall",
        _cli("whole store on (SQLite) s"),
        "s",
        ("≤", 2.5),
    ),
    ("… CPU", _cli("whole store on (SQLite) CPU s"), "s", None),
    ("… peak memory", _cli("whole store on (SQLite) peak MiB"), "MiB", None),
    ("whole `kestrel backtest --no-db`, 1 M bars: wall", _cli("whole --no-db s"), "s", ("≤", 2.5)),
    ("… CPU", _cli("whole --no-db CPU s"), "s", None),
    ("`import engine.cli`", _cli("import engine.cli s"), "s", ("≤", 0.3)),
    ("in-process parts: import", _cli("part import s"), "s", None),
    ("… load", _cli("part load s"), "s", None),
    ("… run (loop and summary)", _cli("part loop s"), "s", None),
    ("… artifacts alone", _cli("part artifacts (alone) s"), "s", None),
    ("… report alone", _cli("part report (alone) s"), "s", None),
    (
        "… saving: artifacts, report and store",
        _cli("part saving (finish_run, store on) s"),
        "s",
        None,
    ),
    ("saving ÷ run (in-process, the rows above)", _saving_over_running, "×", ("≤", 1.0)),
    (
        "event loop, `bench_backtest.py`: bars/s CPU",
        _loop("best_bars_per_s_cpu"),
        "bars/s",
        ("≥", 1_000_000),
    ),
    ("… kernel alone", _loop("kernel_alone_bars_per_s_cpu"), "bars/s", None),
    ("… SMA signals, no orders", _loop("signals_only_bars_per_s_cpu"), "bars/s", None),
    ("… order path per order (CPU)", _loop("order_path_us_cpu"), "µs", None),
    (
        "10 M bars, store on: peak memory",
        _big("whole store on (SQLite) peak MiB"),
        "MiB",
        ("≤", 2048),
    ),
    ("… `--no-db`: peak memory", _big("whole --no-db peak MiB"), "MiB", ("≤", 2048)),
    ("… store on: wall, × the 1 M-bar run's", _ten_over_one, "×", None),
    (
        "first run after `make demo` minus the second, worst shipped config: wall",
        _first_run("worst_extra_wall_s"),
        "s",
        ("≤", 1.0),
    ),
    ("… CPU", _first_run("worst_extra_cpu_s"), "s", None),
]


def _json_tail(text: str) -> dict[str, Any]:
    """Return the JSON object a benchmark printed last (it may span several lines)."""
    start = text.rfind("\n{")
    figures: dict[str, Any] = json.loads(text[start + 1 :] if start >= 0 else text)
    return figures


def _run(script: str, args: list[str], engine: Path) -> dict[str, Any]:
    env = {**USER_ENV, "KESTREL_BENCH_ROOT": str(engine), "PYTHONPATH": str(engine)}
    command = [sys.executable, str(HERE / script), *args, "--json"]
    print("$", " ".join(command[1:]), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, cwd=engine, env=env, check=False)
    if done.returncode:
        raise SystemExit(
            f"error: {script} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        )
    print(done.stdout[: done.stdout.rfind("\n{")], flush=True)
    return _json_tail(done.stdout)


def measure(label: str, engine: Path, repeat: int, *, big: bool, first_run: bool) -> dict[str, Any]:
    """Run the benchmarks against ``engine`` and return the figures stored under ``label``."""
    commit = subprocess.run(
        ["git", "-C", str(engine), "log", "-1", "--format=%h %cs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    started = [round(x, 2) for x in os.getloadavg()]
    figures: dict[str, Any] = {
        "commit": commit[0],
        "commit_date": commit[1],
        "measured": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "repeat": repeat,
        "cli_1m": _run("bench_cli.py", ["--repeat", str(repeat)], engine),
        "loop": _run("bench_backtest.py", ["--repeat", str(repeat), "--parts"], engine),
    }
    if first_run:
        figures["first_run"] = _run("bench_first_run.py", ["--warm"], engine)
    if big:
        figures["cli_10m"] = _run(
            "bench_cli.py", ["--bars", "10000000", "--repeat", "1", "--skip-parts"], engine
        )
    figures["load_average"] = [started, [round(x, 2) for x in os.getloadavg()]]
    return figures


def _cell(value: float, unit: str) -> str:
    if unit == "bars/s":
        return f"{value:,.0f}"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "µs":
        return f"{value:.1f} µs"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def _met(value: float, target: tuple[str, float] | None) -> str:
    if target is None:
        return ""
    sign, bound = target
    ok = value <= bound if sign == "≤" else value >= bound
    return "met" if ok else "**not met**"


def render(results: dict[str, dict[str, Any]]) -> str:
    """Return the Markdown (without the markers) for every measured label."""
    labels = list(results)
    lines = []
    for label in labels:
        run = results[label]
        start, end = (", ".join(f"{x:.1f}" for x in load) for load in run["load_average"])
        lines.append(
            f"- **{label}**: commit `{run['commit']}` ({run['commit_date']}), measured "
            f"{run['measured']}, best of {run['repeat']}; load average {start} at the start "
            f"and {end} at the end."
        )
    lines += ["", "| figure | " + " | ".join(labels) + " | issue 13's target | the last label |"]
    lines.append("|---|" + "---:|" * len(labels) + "---|---|")
    for name, read, unit, target in ROWS:
        values: list[float | None] = []
        for label in labels:
            try:
                values.append(read(results[label]))
            except KeyError:  # not measured for this label (--no-10m, --no-first-run)
                values.append(None)
        if all(value is None for value in values):
            continue
        bound = "" if target is None else f"{target[0]} {_cell(target[1], unit)}"
        cells = " | ".join("—" if v is None else _cell(v, unit) for v in values)
        verdict = "" if values[-1] is None else _met(values[-1], target)
        lines.append(f"| {name} | {cells} | {bound} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure a label, or rewrite (with ``--check`` compare) the README's table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--measure", metavar="LABEL", help="measure and store under LABEL")
    parser.add_argument("--engine", type=Path, default=ROOT, help="checkout to measure")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-10m", action="store_true", help="skip the 10 M-bar run")
    parser.add_argument("--no-first-run", action="store_true", help="skip bench_first_run")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    args = parser.parse_args(argv)
    results: dict[str, Any] = (
        json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    )
    if args.measure:
        results[args.measure] = measure(
            args.measure,
            args.engine.resolve(),
            args.repeat,
            big=not args.no_10m,
            first_run=not args.no_first_run,
        )
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not results:
        print(f"error: {RESULTS.name} not found; run python benchmarks/targets.py --measure …")
        return 2
    table = render(results)
    return publish(README, table, "targets.py", check=args.check, first=START, last=END)


if __name__ == "__main__":
    sys.exit(main())
