"""Options and helpers shared by the report commands (``report``, ``live-report``).

In: the ``--open``, ``--benchmark``, ``--risk-free-rate`` and ``--self-contained`` options
as typer annotations, and a benchmark bars path. Out: the benchmark's bars (`load_benchmark`)
and a page opened in the browser (`open_page`). `engine.cli_report` and
`engine.cli_live_report` use them, so the two commands take the same options the same way.

``--risk-free-rate`` is checked while the command line is parsed (`check_risk_free_rate`),
so a rate that cannot mean anything is one line, exit 2, before anything is read or written:
it must be finite and inside (-1, 1) as an annual fraction. A rate of -100 % or below has no
per-bar equivalent (the metrics take ``(1 + rate) ** (1 / periods)``), and 100 % or more a
year is a percentage typed as a fraction (``4`` for 4%), not a risk-free rate.
"""

from __future__ import annotations

import math
import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.errors import DataError
from engine.paths import file_problem

if TYPE_CHECKING:  # the loader (pandas, pyarrow) loads only when a benchmark is given
    from engine.feeds import BarFrame

__all__ = [
    "MAX_TRIALS",
    "BenchmarkOption",
    "OpenOption",
    "RiskFreeRateOption",
    "SelfContainedOption",
    "check_risk_free_rate",
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
# Most strategy variants a deflated Sharpe ratio (``report --trials``) or a search budget
# (``optimize``/``walkforward --trials``) may count: far beyond any real sweep (a million
# trials are days of work), far below where the ratio's normal quantile of 1 - 1/trials
# stops being computable in floats (~1e15, which ended in an internal error).
MAX_TRIALS = 1_000_000
MIN_RISK_FREE_RATE = -1.0  # exclusive bounds of --risk-free-rate, an annual fraction
MAX_RISK_FREE_RATE = 1.0


def check_risk_free_rate(value: float) -> float:
    """Return ``value`` if it is a usable ``--risk-free-rate`` (see the module's docstring).

    Raises:
        typer.BadParameter: Not finite, or not inside (-1, 1) (a usage error: exit 2).
    """
    if not (math.isfinite(value) and MIN_RISK_FREE_RATE < value < MAX_RISK_FREE_RATE):
        raise typer.BadParameter(
            f"must be an annual fraction in ({MIN_RISK_FREE_RATE:g}, {MAX_RISK_FREE_RATE:g}), "
            f"e.g. 0.04 for 4%; got {value!r}",
            param_hint="'--risk-free-rate'",
        )
    return value


RiskFreeRateOption = Annotated[
    float,
    typer.Option(
        "--risk-free-rate",
        help="Annual risk-free rate, a fraction in (-1, 1): 0.04 is 4%.",
        callback=check_risk_free_rate,
    ),
]


def load_benchmark(path: Path | None) -> BarFrame | None:
    """Return the bars of ``--benchmark`` (None if not given).

    Raises:
        DataError: The file does not exist, is a folder or cannot be read as bars.
    """
    if path is None:
        return None
    from engine.feeds import load_bars

    problem = file_problem(path, "benchmark file")
    if problem:
        raise DataError(problem)
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
