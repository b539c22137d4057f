"""Resample warnings describe the bars a run uses: its start/end window, its calendar.

A bucket outside ``[start, end)`` is not the run's, so it is neither counted as partial
nor named as the dropped last bar; under the weekdays calendar a week of 5 weekday bars
is complete (only a week missing a weekday, e.g. a holiday, is partial).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.feeds import load_bars
from engine.feeds.resample import Resampled, resample_arrays

DATA = Path(__file__).resolve().parents[3] / "data"
BTC_1H = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
GOOG = DATA / "GOOG.csv"
HOUR = 3600 * 10**9
DAY = 24 * HOUR
WEEK = 7 * DAY
FIELDS = ("open", "high", "low", "close", "volume")


def resampled(path: Path, target_ns: int, **window: str | None) -> Resampled:
    bars = load_bars(path, symbol="X")
    columns = {name: np.asarray(getattr(bars, name)) for name in FIELDS}
    return resample_arrays("f", bars.ts_open_ns, columns, bars.timeframe_ns, target_ns, **window)


def bars_per_week(path: Path) -> pd.Series:
    """Count the bars of each Monday-to-Monday week (an independent count)."""
    opens = pd.to_datetime(load_bars(path, symbol="X").ts_open_ns, utc=True)
    monday = (opens - pd.to_timedelta(opens.day_of_week, unit="D")).normalize()
    return pd.Series(1, index=monday).groupby(level=0).sum()


def test_the_warnings_count_only_the_bars_in_the_window() -> None:
    counts = bars_per_week(BTC_1H)
    used = counts["2020-12-07":"2021-01-11"]  # weeks opening >= 12-01 and closing <= 01-20
    assert len(used) == 6
    assert list(used[used < 168].items()) == [(pd.Timestamp("2020-12-21", tz="UTC"), 164)]
    result = resampled(BTC_1H, WEEK, start="2020-12-01", end="2021-01-20")
    assert result.warnings == (
        "f: 1 of the 6 1w bars are built from fewer than 168 1h bars because of missing data, "
        "first at 2020-12-21T00:00:00Z.",
    )


def test_without_a_window_the_whole_file_is_described() -> None:
    result = resampled(BTC_1H, WEEK)
    assert result.warnings == (
        "f: dropped the last 1w bar opening at 2021-07-12T00:00:00Z because the data ends at "
        "2021-07-17T21:00:00Z, before it closes (141 of 168 1h bars).",
        "f: 5 of the 32 1w bars are built from fewer than 168 1h bars because of missing "
        "data, first at 2020-11-30T00:00:00Z.",
    )


def test_the_dropped_last_bar_is_named_when_the_window_reaches_it() -> None:
    result = resampled(BTC_1H, WEEK, start="2021-06-28", end="2021-08-01")
    assert result.warnings == (
        "f: dropped the last 1w bar opening at 2021-07-12T00:00:00Z because the data ends at "
        "2021-07-17T21:00:00Z, before it closes (141 of 168 1h bars).",
    )
    assert result.ts_open_ns[-1] == pd.Timestamp("2021-07-05", tz="UTC").value


def test_a_week_of_five_weekdays_is_complete_under_the_weekdays_calendar() -> None:
    per_week = bars_per_week(GOOG).iloc[:-1]  # the last week closes after the data: dropped
    short = per_week[per_week < 5]
    assert (len(per_week), len(short)) == (445, 78)  # holiday weeks, and the first week
    result = resampled(GOOG, WEEK)
    first = short.index[0]
    assert result.warnings[1] == (
        f"f: 78 of the 445 1w bars are built from fewer 1d bars than their weekdays hold "
        f"(weekday calendar: holidays count as missing), first at "
        f"{first.strftime('%Y-%m-%dT%H:%M:%SZ')} ({short.iloc[0]} of 5)."
    )


def test_an_explicit_24_7_calendar_counts_every_day() -> None:
    result = resampled(GOOG, WEEK, calendar="24/7")
    assert result.warnings[1].startswith(
        "f: 445 of the 445 1w bars are built from fewer than 7 1d bars because of missing data"
    )
