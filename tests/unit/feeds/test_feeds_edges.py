"""Edge cases: irregular spacing, odd dtypes and shapes of input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import load_bars

DAY = 86_400 * 10**9
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00:00Z


def _flat(times: object) -> pd.DataFrame:
    return pd.DataFrame({"time": times, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5})


def test_month_end_bars_warn_about_irregular_and_short_spacings() -> None:
    months = pd.date_range("2021-01-31", periods=12, freq="ME")
    frame = load_bars(_flat(months.strftime("%Y-%m-%d")), symbol="BTC/USD")
    # Spacings are the month lengths from February on: 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31.
    assert frame.timeframe_ns == 31 * DAY
    assert frame.gaps == 0
    assert frame.warnings[1:] == (
        "<DataFrame>: 5 spacings are shorter than 31d, first before 2021-02-28T00:00:00Z; "
        "those bars overlap the next one.",
    )


def test_irregular_multiples_are_reported() -> None:
    times = T0 + np.array([0, 1, 2, 3, 5, 8], dtype=np.int64) * DAY
    times[-1] += DAY // 2  # 3.5 days after the previous bar
    frame = load_bars(_flat(times), symbol="X")
    assert frame.timeframe_ns == DAY
    assert frame.gaps == 1 + 2  # 1 bar missing before day 5, 2 (floor of 3.5 - 1) before 8.5
    assert frame.warnings[1] == (
        "<DataFrame>: 2 gaps (3 missing 1d bars), largest 2d 12h missing from 2021-01-07T00:00:00Z."
    )
    assert frame.warnings[2] == (
        "<DataFrame>: 1 spacing is not a whole multiple of 1d, first before "
        "2021-01-09T12:00:00Z; the bars are irregular."
    )


def test_boolean_timestamps() -> None:
    with pytest.raises(DataError, match="timestamp column 'time' holds booleans"):
        load_bars(_flat([True, False]), symbol="X")


def test_datetimes_beyond_int64_ns() -> None:
    times = pd.Series(np.array(["2021-01-01", "3000-01-01"], dtype="datetime64[s]"))
    with pytest.raises(DataError, match="has times outside 1677-2262"):
        load_bars(_flat(times), symbol="X")


def test_multi_level_header() -> None:
    frame = _flat([1, 2])
    frame.columns = pd.MultiIndex.from_product([["BTC"], frame.columns])
    with pytest.raises(DataError, match="multi-level index or header"):
        load_bars(frame, symbol="X")


def test_not_a_source() -> None:
    with pytest.raises(DataError, match="Cannot read bars from a list"):
        load_bars([1, 2, 3], symbol="X")  # type: ignore[arg-type]


def test_a_zero_price_is_refused_and_zero_volume_is_fine() -> None:
    # A bar at 0 would fill or value a position at 0: a silently wrong number, not a quiet bar.
    zero = pd.DataFrame(
        {"ts": [0, 60], "open": 1.0, "high": 1.0, "low": [1.0, 0.0], "close": 1.0, "volume": 0.0}
    )
    with pytest.raises(DataError, match=r"a price is zero or negative in 1 row, first at row 2 "):
        load_bars(zero, symbol="X")
    quiet = zero.assign(low=1.0)
    loaded = load_bars(quiet, symbol="X")
    assert loaded.volume.tolist() == [0.0, 0.0]
    assert loaded.timeframe_ns == 60 * 10**9


def test_unparseable_rows_do_not_hide_value_problems() -> None:
    frame = _flat(["2021-01-01", "garbage", "2021-01-03"])
    frame.loc[2, "low"] = 3.0
    from engine.feeds import inspect_file

    report = inspect_file(frame)
    assert len(report.problems) == 2
    assert "not an ISO-8601 time in 1 row, first at row 2 ('garbage')" in report.problems[0]
    # Times are unreliable, so the value problem names the row without a time.
    assert report.problems[1] == (
        "<DataFrame>: high is below low in 1 row, first at row 3 (high=2.0, low=3.0); "
        "fix or remove those rows."
    )
    assert report.first == "2021-01-01T00:00:00Z"
    assert report.last == "2021-01-03T00:00:00Z"
