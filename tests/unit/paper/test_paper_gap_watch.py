"""`GapWatch`: one line per gap in a backtest's words, a weekend no gap on a weekday market,
and no flood: after `MAX_GAP_LINES` lines the rest are counted, not printed."""

from __future__ import annotations

from engine.model import Bar
from engine.runtime.paper.gaps import MAX_GAP_LINES, GapWatch, warmup_gap_lines

HOUR = 3_600 * 10**9
DAY = 24 * HOUR
MONDAY = 1_606_694_400_000_000_000  # 2020-11-30T00:00:00Z, a Monday


def _bar(close: int, tf: int = HOUR) -> Bar:
    return Bar("X/USD", close, close, 1.0, 1.0, 1.0, 1.0, 1.0, tf)


def test_a_gap_is_said_once_and_consecutive_bars_say_nothing() -> None:
    watch = GapWatch({"X/USD": HOUR}, {}, {"X/USD": MONDAY})
    assert watch.see(_bar(MONDAY + HOUR)) is None
    gap = watch.see(_bar(MONDAY + 5 * HOUR))  # closes of +2h, +3h, +4h missing
    assert gap is not None
    assert (gap.missing_bars, gap.from_ns) == (3, MONDAY + HOUR)
    assert gap.text == (
        "X/USD: feed: 1 gap (3 missing 1h bars), largest 3h missing from 2020-11-30T01:00:00Z."
    )
    assert watch.see(_bar(MONDAY + 6 * HOUR)) is None
    assert watch.gaps == {"X/USD": 1}


def test_the_first_bar_of_a_symbol_without_history_is_no_gap() -> None:
    watch = GapWatch({"X/USD": HOUR}, {}, {})
    assert watch.see(_bar(MONDAY + 50 * HOUR)) is None
    assert watch.gaps == {}


def test_a_weekend_is_no_gap_on_the_weekday_calendar() -> None:
    friday_close = MONDAY + 5 * DAY  # the daily bar of Friday closes at Saturday 00:00
    monday_close = MONDAY + 8 * DAY  # the next one, Monday's, closes Tuesday 00:00
    weekdays = GapWatch({"X/USD": DAY}, {"X/USD": "weekdays"}, {"X/USD": friday_close})
    assert weekdays.see(_bar(monday_close, DAY)) is None
    always = GapWatch({"X/USD": DAY}, {}, {"X/USD": friday_close})
    gap = always.see(_bar(monday_close, DAY))
    assert gap is not None
    assert gap.missing_bars == 2


def test_many_gaps_print_a_bounded_number_of_lines_and_count_all() -> None:
    watch = GapWatch({"X/USD": HOUR}, {}, {"X/USD": MONDAY})
    printed = []
    for k in range(1, 31):  # a bar every other hour: 30 gaps of one bar
        gap = watch.see(_bar(MONDAY + 2 * k * HOUR))
        assert gap is not None
        printed.extend(watch.lines(gap))
    assert len(printed) == MAX_GAP_LINES + 1
    assert printed[-1].startswith("further gaps are not printed")
    assert watch.gaps == {"X/USD": 30}


def test_warm_up_gaps_are_one_line_per_symbol() -> None:
    closes = [MONDAY + k * HOUR for k in (1, 2, 5, 6, 9)]  # two gaps of two bars
    lines = warmup_gap_lines([_bar(c) for c in closes], {"X/USD": HOUR}, {})
    assert lines == [
        "X/USD: warm-up: 2 gaps (4 missing 1h bars), largest 2h missing from 2020-11-30T02:00:00Z."
    ]
    assert (
        warmup_gap_lines([_bar(MONDAY + HOUR), _bar(MONDAY + 2 * HOUR)], {"X/USD": HOUR}, {}) == []
    )
