"""Where the CLI prints results: one rule for every command's stdout.

On a terminal rich uses the terminal's width. Piped or captured, output is read by scripts
(``grep '^artifacts: '``, a path pasted elsewhere), so no line may be folded and no table
cell cut: the console is then `PIPED_WIDTH` columns wide, wider than any line Kestrel
prints, and tables size to their content. (It used to be 200 columns: a run folder's path
in a deep directory was split over two lines.)
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

__all__ = ["PIPED_WIDTH", "Stdout", "stdout_console"]

#: columns of a console whose stdout is not a terminal (no line is folded below it)
PIPED_WIDTH = 10_000


def stdout_console() -> Console:
    """Return a console for results on the current ``sys.stdout`` (see the module)."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)


class Stdout:
    """`stdout_console` made at print time, so tests that swap ``sys.stdout`` see the output."""

    def __getattr__(self, name: str) -> Any:
        return getattr(stdout_console(), name)
