"""Hash every shipped config's backtest artifacts, to show a speed change changes no result.

Runs ``kestrel backtest CONFIG --no-db`` for every ``configs/*.toml`` (and issue 13's
1,000,000-bar data set of `bench_cli`, written to a fixed folder so that its path, which
the report's inputs hash covers, is the same in every run) and records the SHA-256 of each
artifact: the CSVs, ``metrics.json``, ``config.toml`` and ``report.html`` (whose run id
and creation time are blanked: they differ between runs by design), and the row counts.

    python benchmarks/artifact_hashes.py --write before.json      # on the old code
    python benchmarks/artifact_hashes.py --check before.json      # on the new code

``--check`` prints each config that differs and exits 1 if any does. ``--only NAME``
(repeatable) limits the runs to those configs (``bench_cli`` is the 1 M-bar run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engine.report.artifacts import ARTIFACT_FILES

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/kestrel-artifact-hashes")  # fixed: see the module docstring
FILES = (*ARTIFACT_FILES, "report.html")
COUNTED = ("fills.csv", "orders.csv", "trades.csv", "equity.csv")


def configs(only: list[str]) -> list[Path]:
    """Return the configs to run: the shipped ones, then the 1 M-bar data set's."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_cli

    paths = sorted((ROOT / "configs").glob("*.toml"))
    if not only or "bench_cli" in only:
        data = WORK / "bars.parquet"
        bench_cli.write_data(data, 1_000_000)
        paths.append(WORK / "bench_cli.toml")
        paths[-1].write_text(bench_cli.CONFIG.format(data=data))
    return [path for path in paths if not only or path.stem in only]


def digest(folder: Path, name: str) -> str:
    """Return the SHA-256 of one artifact, run identity blanked in ``report.html``."""
    data = (folder / name).read_bytes()
    if name == "report.html":
        run_id = json.loads((folder / "run.json").read_text())["run_id"]
        data = data.replace(run_id.encode(), b"RUN-ID")
        data = re.sub(rb"created \d{4}-[0-9T:.+-]+", b"created X", data)
    return hashlib.sha256(data).hexdigest()


def hashes(config: Path) -> dict[str, object]:
    """Run ``config`` without a store and return its artifacts' hashes and row counts."""
    out = WORK / "out" / config.stem
    command = [sys.executable, "-m", "engine.cli", "backtest", str(config), "--no-db"]
    done = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode:
        return {"exit": done.returncode}
    found: dict[str, object] = {n: digest(out, n) for n in FILES if (out / n).is_file()}
    found["rows"] = {n: len((out / n).read_bytes().splitlines()) for n in COUNTED}
    return found


def main() -> None:
    """Write or check the hashes (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="record the hashes in this JSON file")
    mode.add_argument("--check", type=Path, help="compare with the hashes in this JSON file")
    parser.add_argument("--only", action="append", default=[], help="a config's name")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    found = {config.stem: hashes(config) for config in configs(args.only)}
    if args.write is not None:
        args.write.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"{len(found)} configs hashed into {args.write}")
        return
    expected = json.loads(args.check.read_text())
    differ = [name for name, value in found.items() if expected.get(name) != value]
    for name in differ:
        print(f"DIFFERS: {name}: {found[name]} (expected {expected.get(name)})")
    print(f"{len(found)} configs compared, {len(differ)} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
