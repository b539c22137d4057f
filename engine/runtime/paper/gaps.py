"""Gaps in a paper account's bars, said in the backtest's words, once per gap.

In: each bar symbol's timeframe and trading calendar, the close of the last bar each
symbol had before this process's first live bar (its stored warm-up, its journaled bars),
then every bar the session processed. Out: the warning sentences of `Spacing.gap_sentence`
(`engine.feeds.validate`, what a backtest prints for its data: ``BTC/USDT: feed: 1 gap (3
missing 1h bars), largest 3h missing from ...``), one per gap — a gap is one run of missing
bars between two bars that came, however long — and the count per symbol for the ``stop``
record. After `MAX_GAP_LINES` lines one more says the rest go unprinted (a venue missing a
bar every hour would otherwise write a line an hour); they are still counted.

`warmup_gap_lines`: the gaps of a new account's warm-up, one summary line per symbol, as a
backtest says its data's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.feeds.validate import Spacing, analyze_spacing
from engine.model import Bar

__all__ = ["MAX_GAP_LINES", "Gap", "GapWatch", "warmup_gap_lines"]

MAX_GAP_LINES = 10  # gap warnings printed per process; more are counted, not printed


@dataclass(frozen=True)
class Gap:
    """One run of missing bars: its symbol, how many, the first one's open, the sentence."""

    symbol: str
    missing_bars: int
    from_ns: int
    text: str


class GapWatch:
    """Each symbol's last bar close; a later bar more than one bar length after it is a gap."""

    def __init__(
        self,
        timeframes: Mapping[str, int],
        calendars: Mapping[str, str],
        last_close: Mapping[str, int],
    ) -> None:
        self.timeframes = dict(timeframes)
        self.calendars = dict(calendars)
        self.last_close = dict(last_close)
        self.gaps: dict[str, int] = {}  # gaps seen per symbol (the stop record's)
        self.printed = 0

    def see(self, bar: Bar) -> Gap | None:
        """Note ``bar`` (processed, in order); return the gap before it, or None."""
        symbol = bar.symbol
        previous = self.last_close.get(symbol)
        self.last_close[symbol] = bar.ts_event
        tf = self.timeframes.get(symbol)
        if previous is None or tf is None or bar.ts_event - previous <= tf:
            return None
        opens = np.array([previous - tf, bar.ts_event - tf], dtype=np.int64)
        spacing = analyze_spacing(opens, tf, self.calendars.get(symbol, "24/7"))
        text = spacing.gap_sentence(f"{symbol}: feed")
        if text is None or spacing.largest_at_ns is None:
            return None  # a closed market's weekend or night under its calendar: no gap
        self.gaps[symbol] = self.gaps.get(symbol, 0) + 1
        return Gap(symbol, spacing.missing_bars, spacing.largest_at_ns, text)

    def lines(self, gap: Gap) -> list[str]:
        """Return the warning lines to print for ``gap`` (none past `MAX_GAP_LINES`)."""
        self.printed += 1
        if self.printed < MAX_GAP_LINES:
            return [gap.text]
        if self.printed == MAX_GAP_LINES:
            return [
                gap.text,
                f"further gaps are not printed (more than {MAX_GAP_LINES}); events.jsonl has "
                "a gap record for each and the stop record counts them",
            ]
        return []


def warmup_gap_lines(
    warmup: Iterable[Bar], timeframes: Mapping[str, int], calendars: Mapping[str, str]
) -> list[str]:
    """Return one sentence per symbol whose warm-up bars have gaps (a backtest's words)."""
    opens: dict[str, list[int]] = {}
    for bar in warmup:
        opens.setdefault(bar.symbol, []).append(bar.ts_event - bar.timeframe_ns)
    lines = []
    for symbol, times in opens.items():
        tf = timeframes.get(symbol)
        if tf is None:
            continue
        spacing: Spacing = analyze_spacing(
            np.array(sorted(times), dtype=np.int64), tf, calendars.get(symbol, "24/7")
        )
        text = spacing.gap_sentence(f"{symbol}: warm-up")
        if text is not None:
            lines.append(text)
    return lines
