"""Headline symbols that miss a run's symbols by spelling only (``ETHUSDT``, ``eth/usdt``).

In: a headline's symbol and the symbols a news source keeps. Out: the kept symbol it
normalises to (letters and digits, upper case), or None, and the warning line that names
the spelling. Such headlines are NOT delivered — a symbol is matched exactly, as a bar
file's ``[[data]]`` symbol is, because ``ETHUSDT`` may name another instrument (a
perpetual) on some venue — but each spelling is said in one ``warning:`` line, with its
row count, instead of the headlines vanishing silently. Symbols that normalise to no kept
symbol are other instruments' headlines (a file may cover many): no warning. Used by
`engine.feeds.headlines.keep_symbols` (backtest and paper files) and
`engine.feeds.headline_source.JsonlTailer` (files followed as they grow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["near_miss", "near_miss_warning"]

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _normal(symbol: str) -> str:
    return _NOT_ALNUM.sub("", symbol).upper()


def near_miss(symbol: str, keep: Iterable[str]) -> str | None:
    """Return the kept symbol that ``symbol`` is a misspelling of, or None.

    None also when ``symbol`` is kept as it is (no miss) or normalises to no kept one.
    """
    kept = set(keep)
    if symbol in kept:
        return None
    normal = _normal(symbol)
    return next((k for k in sorted(kept) if _normal(k) == normal), None)


def near_miss_warning(where: str, count: int | None, spelling: str, meant: str) -> str:
    """Return the warning for ``count`` headlines spelled ``spelling`` (None: one, followed)."""
    if count is None:
        what, note = "a headline has", "; said once per spelling"
    else:
        what, note = ("1 headline has" if count == 1 else f"{count:,} headlines have"), ""
    return (
        f"{where}: {what} symbol {spelling!r}, not delivered: did you mean {meant}? (a symbol "
        f"must be spelled as in its [[data]] table{note})"
    )
