"""Gap calendars: "24/7" counts every bar slot, "weekdays" skips Saturdays and Sundays (UTC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import load_bars
from engine.feeds.validate import analyze_spacing, infer_calendar

HOUR = 3_600 * 10**9
DAY = 24 * HOUR


def ns(*stamps: str) -> np.ndarray:
    return np.array([pd.Timestamp(s, tz="UTC").value for s in stamps], dtype=np.int64)


def bars(stamps: np.ndarray) -> pd.DataFrame:
    columns = {name: [1.0] * len(stamps) for name in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame({"timestamp": stamps, **columns})


def test_daily_weekday_bars_infer_the_weekday_calendar_and_count_missing_weekdays() -> None:
    # 2021-01-01 is a Friday. Fri, Mon, Tue, (Wed missing), Thu, Fri, (Mon 11th missing), Tue
    ts = ns("2021-01-01", "2021-01-04", "2021-01-05", "2021-01-07", "2021-01-08", "2021-01-12")
    assert infer_calendar(ts, DAY) == "weekdays"
    spacing = analyze_spacing(ts, DAY)
    assert (spacing.calendar, spacing.gaps, spacing.missing_bars) == ("weekdays", 2, 2)
    assert spacing.weekend_gaps == 0
    # the Fri -> Tue gap misses one weekday: its first missing slot is Monday, not Saturday
    assert spacing.largest_missing_ns == DAY
    assert spacing.largest_at_ns == ns("2021-01-06")[0]  # ties: the first (Wednesday)
    every_day = analyze_spacing(ts, DAY, "24/7")
    # 24/7: Sat+Sun, Wed, Sat+Sun+Mon -> 3 gaps, 2 + 1 + 3 = 6 missing bars
    assert (every_day.gaps, every_day.missing_bars, every_day.weekend_gaps) == (3, 6, 2)


def test_the_largest_weekday_gap_starts_on_the_monday_after_a_weekend() -> None:
    ts = ns("2021-01-08", "2021-01-13")  # Fri, then Wed: Mon and Tue missing
    spacing = analyze_spacing(ts, DAY, "weekdays")
    assert (spacing.gaps, spacing.missing_bars) == (1, 2)
    assert spacing.largest_missing_ns == 2 * DAY
    assert spacing.largest_at_ns == ns("2021-01-11")[0]


def test_hourly_weekday_bars_skip_the_weekend_hours_only() -> None:
    # Every hour Mon 2021-01-04 .. Fri 2021-01-15, minus Wed 06-13 12:00 and 13:00.
    hours = pd.date_range("2021-01-04", "2021-01-16", freq="1h", inclusive="left", tz="UTC")
    hours = hours[hours.day_of_week < 5]
    hours = hours[~hours.isin(pd.to_datetime(["2021-01-13 12:00", "2021-01-13 13:00"], utc=True))]
    ts = hours.as_unit("ns").asi8.astype(np.int64)
    spacing = analyze_spacing(ts, HOUR)
    assert (spacing.calendar, spacing.gaps, spacing.missing_bars) == ("weekdays", 1, 2)
    assert analyze_spacing(ts, HOUR, "24/7").missing_bars == 2 + 48  # and the weekend's 48 h


def test_no_weekend_in_the_span_is_no_evidence_for_a_weekday_calendar() -> None:
    assert infer_calendar(ns("2021-01-04", "2021-01-05", "2021-01-07"), DAY) == "24/7"
    assert infer_calendar(ns("2021-01-01", "2021-01-02", "2021-01-04"), DAY) == "24/7"  # a Sat
    assert infer_calendar(ns("2021-01-04", "2021-01-11", "2021-01-25"), 7 * DAY) == "24/7"


def test_load_bars_takes_and_keeps_the_calendar() -> None:
    ts = ns("2021-01-01", "2021-01-04", "2021-01-05", "2021-01-07")  # Fri, Mon, Tue, -, Thu
    inferred = load_bars(bars(ts), symbol="X")
    assert (inferred.calendar, inferred.gaps) == ("weekdays", 1)
    assert inferred.warnings == (
        "<DataFrame>: 1 gap (1 missing 1d weekday bar), largest 1d missing from "
        "2021-01-06T00:00:00Z; weekday calendar: weekends are not gaps, holidays are.",
    )
    forced = load_bars(bars(ts), symbol="X", calendar="24/7")
    assert (forced.calendar, forced.gaps) == ("24/7", 3)
    assert forced.head(2).gaps == 2  # head recounts under the frame's calendar
    assert inferred.head(2).gaps == 0


def test_an_unknown_calendar_is_refused_with_did_you_mean() -> None:
    with pytest.raises(
        DataError, match=r"unknown calendar 'weekday' \(did you mean 'weekdays'\?\)"
    ):
        load_bars(bars(ns("2021-01-04", "2021-01-05")), symbol="X", calendar="weekday")
