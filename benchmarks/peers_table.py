"""The README's "Kestrel and its peers" table, rendered from benchmarks/peers_results.json.

In: the figures ``python benchmarks/bench_peers.py --json benchmarks/peers_results.json``
measured (date, machine, per-engine best wall time and peak memory, trades, ratios). Out:
the text between the ``<!-- peers-table:start -->`` / ``<!-- peers-table:end -->`` markers
of README.md, rewritten from scratch. Never edit either by hand:

    python benchmarks/peers_table.py          # rewrite the README's table from the JSON
    python benchmarks/peers_table.py --check  # exit 1 if the README differs from it

Unlike ``strategy_table.py`` this does not rerun the benchmark (minutes, and its times move
with the machine's load): the JSON is the measurement, committed with the date and the
machine, and the README only shows it. Results whose engines made different trades are
refused (exit 1): they compare nothing. ``tests/integration/test_peers_table.py`` runs
``--check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "peers_results.json"
START = "<!-- peers-table:start -->"
END = "<!-- peers-table:end -->"
# issue 13's targets for the whole `kestrel backtest` (ratios of wall times)
TARGETS = {"backtesting.py": 1 / 3, "floor": 2.2}


def _load(load: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in load)


def render(figures: dict[str, Any]) -> str:
    """Return the Markdown (without the markers) for ``figures``."""
    if not figures["same_trades"]:
        raise SystemExit(
            f"the engines made different trades ({figures['mismatches']}): nothing to publish"
        )
    box = figures["machine"]
    rows = figures["rows"]
    trades = rows[0]["trades"]
    lines = [
        f"Measured {figures['date'].replace('T', ' ').replace('Z', ' UTC')} by "
        f"`python benchmarks/bench_peers.py` on {figures['bars']:,} one-minute bars, best of "
        f"{figures['repeat']} runs per engine (the engines took turns), on {box['cpu']} "
        f"({box['cores']} cores, {box['memory_gib']:g} GiB, Python {box['python']}); load "
        f"average (1, 5, 15 min) {_load(box['load_average_at_start'])} at the start and "
        f"{_load(box['load_average_at_end'])} at the end. Every engine made the same "
        f"{trades:,} closed trades.",
        "",
        "| engine | version | whole process | peak memory |",
        "|---|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['engine']} | {row['version']} | {row['wall_s']:.2f} s "
            f"| {row['peak_mib']:,.0f} MiB |"
        )
    lines.append("")
    lines.append(
        "| ratio of wall times | best against best | median of the rounds' ratios "
        "| issue 13's target |"
    )
    lines.append("|---|---:|---:|---:|")
    medians = figures["ratios_median_of_rounds"]
    for name, value in figures["ratios"].items():
        target = TARGETS["backtesting.py" if name.endswith("backtesting.py") else "floor"]
        lines.append(f"| {name} | {value:.2f} | {medians[name]:.2f} | ≤ {target:.2f} |")
    return "\n".join(lines)


def with_table(readme: str, table: str, first: str = START, last: str = END) -> str:
    """Return ``readme`` with the text between the markers replaced by ``table``."""
    start, end = readme.find(first), readme.find(last)
    if start < 0 or end < start:
        raise SystemExit(f"README.md lacks the markers {first} … {last}")
    return readme[: start + len(first)] + "\n" + table + "\n" + readme[end:]


def publish(
    readme_path: Path, table: str, script: str, *, check: bool, first: str = START, last: str = END
) -> int:
    """Put ``table`` between the markers of ``readme_path``; ``check``: only compare (1: stale)."""
    readme = readme_path.read_text(encoding="utf-8")
    updated = with_table(readme, table, first, last)
    if check:
        if updated != readme:
            print(f"stale: README.md; run python benchmarks/{script}")
            return 1
        print(f"the table of {script} is up to date")
        return 0
    readme_path.write_text(updated, encoding="utf-8")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) the README's peers table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is stale")
    args = parser.parse_args(argv)
    if not RESULTS.is_file():
        print(f"error: {RESULTS.name} not found; run python benchmarks/bench_peers.py --json …")
        return 2
    figures = json.loads(RESULTS.read_text(encoding="utf-8"))
    return publish(README, render(figures), "peers_table.py", check=args.check)


if __name__ == "__main__":
    sys.exit(main())
