"""Options and helpers shared by the report commands (``report``, ``live-report``).

In: the ``--open``, ``--benchmark``, ``--risk-free-rate`` and ``--self-contained`` options
as typer annotations, and a benchmark bars path. Out: the benchmark's bars (`load_benchmark`)
and a page opened in the browser (`open_page`). `engine.cli_report` and
`engine.cli_live_report` use them, so the two commands take the same options the same way.
"""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.errors import DataError
from engine.paths import nearby_hint

if TYPE_CHECKING:  # the loader (pandas, pyarrow) loads only when a benchmark is given
    from engine.feeds import BarFrame

__all__ = [
    "BenchmarkOption",
    "OpenOption",
    "RiskFreeRateOption",
    "SelfContainedOption",
    "load_benchmark",
    "open_page",
]

SelfContainedOption = Annotated[
    bool,
    typer.Option(
        "--self-contained",
        help="Embed plotly.js in the page (4.8 MB) instead of sharing one copy in _assets/.",
    ),
]
OpenOption = Annotated[bool, typer.Option("--open", help="Open the report in the default browser.")]
BenchmarkOption = Annotated[
    Path | None,
    typer.Option("--benchmark", help="Bars file (CSV/Parquet) whose closes are the benchmark."),
]
RiskFreeRateOption = Annotated[
    float, typer.Option("--risk-free-rate", help="Annual risk-free rate, a fraction.")
]


def load_benchmark(path: Path | None) -> BarFrame | None:
    """Return the bars of ``--benchmark`` (None if not given).

    Raises:
        DataError: The file does not exist or cannot be read as bars.
    """
    if path is None:
        return None
    from engine.feeds import load_bars

    if not path.is_file():
        raise DataError(f"benchmark file {str(path)!r} does not exist{nearby_hint([path])}")
    return load_bars(path, symbol=path.stem)


def open_page(path: Path) -> None:
    """Open ``path`` in the default browser, or warn on stderr that none could be."""
    # webbrowser.open returns False (it does not raise) when no browser can be started,
    # e.g. on a server without a desktop: say so instead of appearing to have opened it
    if not webbrowser.open(path.resolve().as_uri()):
        print(
            f"warning: no web browser could be opened here; open {path.resolve()} yourself",
            file=sys.stderr,
        )
