"""Measure report.html's bytes and write them where the README and assets.py state them.

In: the shipped demo config (``configs/sma_cross_btc.toml``, what ``make demo`` runs) and
`bench_cli`'s 1,000,000-bar data set (its fixed-seed random walk and SMA 10/30 config).
Each is back-tested twice with ``kestrel backtest --no-db``: pages sharing
``_assets/plotly-….min.js`` (the default) and ``--self-contained`` pages. Out: the bytes of
each ``report.html`` and of the shared plotly.js, printed as a Markdown table; with
``--write`` that table replaces README.md's block between ``<!-- page-sizes:begin -->``
and ``<!-- page-sizes:end -->``, and the sizes sentence of ``engine/report/assets.py``'s
docstring is rewritten from the same figures (the audit of the HTML reports, finding 10e,
found both stale: typed figures, 0.1 MB and 0.5 MB for the same small page). ``--check``
exits 1 when either text differs from what was measured.

    python benchmarks/report_page_sizes.py [--write | --check]

Page bytes move with the data and the code (same config, same bytes: they are
deterministic), so re-run it after a change to the report.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ASSETS = ROOT / "engine" / "report" / "assets.py"
DEMO = ROOT / "configs" / "sma_cross_btc.toml"
BEGIN, END = "<!-- page-sizes:begin -->", "<!-- page-sizes:end -->"
# the one sentence of assets.py's docstring that states sizes (rewritten in place)
# (the typed one ended "page ~0.1 MB,", the written one ends "report_page_sizes.py),")
SENTENCE = re.compile(r"plotly\.js is .*?(?:page ~[0-9.]+ MB,|report_page_sizes\.py\),)", re.S)


def megabytes(count: int) -> str:
    """Return ``count`` bytes as MB (10^6) with one decimal, or kB under 1 MB."""
    return f"{count / 1e6:.1f} MB" if count >= 1_000_000 else f"{count / 1e3:.0f} kB"


def page_bytes(config: Path, out: Path, self_contained: bool) -> tuple[int, int]:
    """Back-test ``config`` into ``out``; return the bytes of its report.html and its bars."""
    command = [sys.executable, "-m", "engine.cli", "backtest", str(config), "--no-db"]
    command += ["--out", str(out), *(["--self-contained"] if self_contained else [])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    bars = json.loads((out / "metrics.json").read_text())["bars"]
    return (out / "report.html").stat().st_size, int(bars)


def measure(work: Path) -> dict[str, int]:
    """Return the bytes of every page measured and of the shared plotly.js."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_cli

    data = work / "bars.parquet"
    bench_cli.write_data(data, 1_000_000)
    big = work / "bench_cli.toml"
    big.write_text(bench_cli.CONFIG.format(data=data))
    sizes: dict[str, int] = {}
    for name, config in (("demo", DEMO), ("bench_cli", big)):
        sizes[f"{name} shared"], sizes[f"{name} bars"] = page_bytes(
            config, work / "shared" / name, False
        )
        sizes[f"{name} self-contained"] = page_bytes(config, work / "inline" / name, True)[0]
    (plotly,) = (work / "shared" / "_assets").glob("plotly-*.min.js")
    sizes["plotly.js"] = plotly.stat().st_size
    return sizes


def table(sizes: dict[str, int]) -> str:
    """Return README's block: a table of the measured pages, between the markers."""
    rows = [
        (f"`configs/sma_cross_btc.toml` (the demo), {sizes['demo bars']:,} bars", "demo"),
        (f"`benchmarks/bench_cli.py`, {sizes['bench_cli bars']:,} bars", "bench_cli"),
    ]
    lines = [
        BEGIN,
        "| run | report.html, sharing `_assets/` | with `--self-contained` |",
        "|---|---:|---:|",
        *(
            f"| {label} | {sizes[f'{key} shared']:,} B ({megabytes(sizes[f'{key} shared'])}) "
            f"| {sizes[f'{key} self-contained']:,} B "
            f"({megabytes(sizes[f'{key} self-contained'])}) |"
            for label, key in rows
        ),
        "",
        f"The shared `_assets/plotly-….min.js` is {sizes['plotly.js']:,} B "
        f"({megabytes(sizes['plotly.js'])}), written once per runs folder. Measured by "
        "`python benchmarks/report_page_sizes.py --write`, which wrote this table.",
        END,
    ]
    return "\n".join(lines)


def sentence(sizes: dict[str, int]) -> str:
    """Return assets.py's sizes sentence from the measured figures."""
    return (  # two lines, each under the 100 columns of the docstring around it
        f"plotly.js is {megabytes(sizes['plotly.js'])}, the demo run's page "
        f"{megabytes(sizes['demo shared'])} (a {sizes['bench_cli bars']:,}-bar run's "
        f"{megabytes(sizes['bench_cli shared'])};\nREADME's table, measured by "
        "benchmarks/report_page_sizes.py),"
    )


def rewritten(sizes: dict[str, int]) -> tuple[str, str]:
    """Return README.md's and assets.py's text with the measured figures in place."""
    readme = README.read_text(encoding="utf-8")
    start, stop = readme.find(BEGIN), readme.find(END)
    if start < 0 or stop < start:
        raise SystemExit(f"{README}: no {BEGIN} … {END} block to write the sizes into")
    readme = readme[:start] + table(sizes) + readme[stop + len(END) :]
    assets = ASSETS.read_text(encoding="utf-8")
    if SENTENCE.search(assets) is None:
        raise SystemExit(f"{ASSETS}: no 'plotly.js is … MB and … page … ,' sentence found")
    assets = SENTENCE.sub(lambda _: sentence(sizes), assets, count=1)
    return readme, assets


def main() -> None:
    """Measure, print, and write or check the stated sizes."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update README.md and assets.py")
    mode.add_argument("--check", action="store_true", help="exit 1 if either is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sizes = measure(Path(tmp))
    print(table(sizes))
    readme, assets = rewritten(sizes)
    stale = [
        path.name
        for path, text in ((README, readme), (ASSETS, assets))
        if path.read_text(encoding="utf-8") != text
    ]
    if args.write:
        README.write_text(readme, encoding="utf-8")
        ASSETS.write_text(assets, encoding="utf-8")
        print(f"written: {', '.join(stale) or 'nothing changed'}")
    elif args.check and stale:
        print(f"stale: {', '.join(stale)}; run with --write", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
