"""inspect_file on the shipped data and on broken files; merge_order; BarFrame invariants."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import BarFrame, GapSummary, inspect_file, load_bars, merge_order

DATA = Path(__file__).resolve().parents[3] / "data"
BTC_1H = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
ETH_1H = DATA / "binance_ETH_USDT_1h_20201201_20210717.csv"
XRP_5M = DATA / "XRP_ETH_5m_20191011_20191013.csv"
GOOG = DATA / "GOOG.csv"
EURUSD = DATA / "EURUSD.csv"
HOUR = 3600 * 10**9


def test_inspect_btc_1h() -> None:
    report = inspect_file(BTC_1H)
    assert report.path == str(BTC_1H)
    assert report.rows == 5482
    assert report.columns == ["timestamp", "open", "high", "low", "close", "volume"]
    assert report.first == "2020-12-01T00:00:00Z"
    assert report.last == "2021-07-17T20:00:00Z"
    assert report.timeframe == "1h"
    assert report.timeframe_ns == HOUR
    # Spacings of 4h, 2h, 2h, 2h, 3h, 4h: 6 gaps, 3+1+1+1+2+3 = 11 missing bars
    # (2020-12-01 00:00 .. 2021-07-17 20:00 spans 5493 hours).
    assert report.gaps == GapSummary(
        count=6,
        missing_bars=11,
        largest="3h",
        largest_at="2020-12-21T15:00:00Z",
        weekend=0,
        calendar="24/7",  # crypto trades on weekends: inferred from the weekend bars
    )
    assert report.problems == []
    assert report.ok
    json.dumps(report.as_dict())  # JSON-ready for the CLI


def test_inspect_shipped_files() -> None:
    eth = inspect_file(ETH_1H)
    assert (eth.rows, eth.gaps.count, eth.gaps.missing_bars) == (5482, 6, 11)
    xrp = inspect_file(XRP_5M)
    assert (xrp.rows, xrp.timeframe, xrp.gaps.count, xrp.gaps.missing_bars) == (706, "5m", 6, 6)
    goog = inspect_file(GOOG)
    assert (goog.rows, goog.timeframe, goog.first, goog.last) == (
        2148,
        "1d",
        "2004-08-19T00:00:00Z",
        "2013-03-01T00:00:00Z",
    )
    assert goog.columns[0] == "Unnamed: 0"
    # Stock data has no weekend bars: the weekday calendar is inferred and only missing
    # weekdays (exchange holidays) are gaps. Expected, independently of the engine: the
    # weekdays strictly between consecutive dates, by numpy's business-day counter.
    dates = pd.to_datetime(pd.read_csv(GOOG).iloc[:, 0]).to_numpy().astype("datetime64[D]")
    between = np.busday_count(dates[:-1] + 1, dates[1:])
    assert (goog.gaps.calendar, goog.gaps.count, goog.gaps.missing_bars) == (
        "weekdays",
        int(np.count_nonzero(between)),
        int(between.sum()),
    )
    assert (goog.gaps.count, goog.gaps.missing_bars) == (77, 79)  # ~9 holidays a year
    all_weekdays = pd.bdate_range("2004-08-19", "2013-03-01")
    assert goog.gaps.missing_bars == len(all_weekdays) - goog.rows
    assert (goog.gaps.largest, goog.gaps.largest_at) == ("2d", "2007-01-01T00:00:00Z")
    assert goog.gaps.weekend == 0
    every_day = inspect_file(GOOG, calendar="24/7")  # the override counts weekends again
    assert (every_day.gaps.count, every_day.gaps.missing_bars) == (463, 969)
    assert every_day.gaps.weekend > 0.9 * every_day.gaps.count
    eurusd = inspect_file(EURUSD)
    assert (eurusd.rows, eurusd.timeframe, eurusd.last) == (5000, "1h", "2018-02-07T15:00:00Z")
    assert eurusd.gaps.weekend == eurusd.gaps.count == 42
    for report in (eth, xrp, goog, eurusd):
        assert report.problems == []


def test_inspect_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Date,Open,High,Low,Close\n"
        "2021-01-01,10,11,9,10\n"
        "2021-01-03,10,9,11,10\n"  # high < low
        "2021-01-02,10,11,9,10\n"  # backwards
        "2021-01-02,10,11,9,nan\n"  # repeats; missing close
        "2021-01-05,10,12,10.5,11\n"  # low above open
    )
    report = inspect_file(path)
    assert not report.ok
    assert [p.split(": ", 1)[1].split(" in ")[0] for p in report.problems] == [
        "timestamps go backwards (data is not sorted by time)",
        "a timestamp repeats an earlier row's",
        "a value is missing (empty or NaN)",
        "high is below low",
        "low is above the open or close",
    ]
    assert report.rows == 5
    assert report.first == "2021-01-01T00:00:00Z"
    assert report.last == "2021-01-05T00:00:00Z"
    assert report.timeframe == "1d"
    assert report.gaps.count == 1  # 2021-01-04 is missing among the distinct days
    assert any("no volume column" in warning for warning in report.warnings)


def test_inspect_missing_columns_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("when,price\n1,2\n")
    report = inspect_file(path)
    assert report.rows == 1
    assert report.first is None
    assert len(report.problems) == 5  # timestamp, open, high, low, close
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert inspect_file(empty).problems == [
        f"{empty}: the file is empty; give a file with a header and rows."
    ]
    with pytest.raises(DataError, match="no such file"):
        inspect_file(tmp_path / "missing.csv")


def test_merge_order_is_by_close_time_then_frame_order() -> None:
    frame = pd.DataFrame(
        {"timestamp": [0, 3600, 7200, 10800], "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0}
    )
    hourly = load_bars(frame, symbol="A")
    two_hourly = load_bars(frame.iloc[[0, 2]], symbol="B", timeframe="2h")
    frames, rows = merge_order([two_hourly, hourly])
    closes = [
        [two_hourly, hourly][f].ts_close_ns[r] // HOUR for f, r in zip(frames, rows, strict=True)
    ]
    assert closes == [1, 2, 2, 3, 4, 4]
    assert frames.tolist() == [1, 0, 1, 1, 0, 1]  # ties: the order the frames were given
    assert rows.tolist() == [0, 0, 1, 2, 1, 3]
    empty_frames, empty_rows = merge_order([])
    assert empty_frames.size == empty_rows.size == 0


def test_merge_real_symbols() -> None:
    btc = load_bars(BTC_1H, symbol="BTC/USDT")
    eth = load_bars(ETH_1H, symbol="ETH/USDT", end="2021-01-01")
    frames, rows = merge_order([btc, eth])
    assert len(frames) == len(btc) + len(eth)
    position = np.array([0, len(btc)])[frames] + rows
    times = np.concatenate([btc.ts_close_ns, eth.ts_close_ns])[position]
    assert np.all(np.diff(times) >= 0)
    assert np.unique(position).size == len(position)  # every bar exactly once


def test_barframe_direct_construction_checks_shapes() -> None:
    ts = np.array([0, HOUR], dtype=np.int64)
    prices = np.array([1.0, 2.0])
    frame = BarFrame("X", HOUR, ts, prices, prices, prices, prices, prices)
    assert len(frame) == 2
    assert frame.source == "<DataFrame>"
    assert prices.flags.writeable  # the caller's array is copied, not frozen
    assert not frame.open.flags.writeable
    assert not frame.ts_close_ns.flags.writeable
    assert repr(frame) == (
        "BarFrame('X', 1h, 2 bars, 1970-01-01T00:00:00Z .. 1970-01-01T01:00:00Z, gaps=0)"
    )
    with pytest.raises(DataError, match="column close has shape"):
        BarFrame("X", HOUR, ts, prices, prices, prices, prices[:1], prices)
    with pytest.raises(DataError, match="timeframe_ns must be positive"):
        BarFrame("X", 0, ts, prices, prices, prices, prices, prices)


def test_ts_close_is_computed_once() -> None:
    frame = load_bars(BTC_1H, symbol="BTC/USDT")
    assert frame.ts_close_ns is frame.ts_close_ns
    assert frame.ts_close_ns[0] == frame.ts_open_ns[0] + HOUR


def test_head_recounts_gaps() -> None:
    frame = load_bars(BTC_1H, symbol="BTC/USDT")
    first_day = frame.head(24)
    assert len(first_day) == 24
    assert first_day.gaps == 0
    assert first_day.warnings == ()
    np.testing.assert_array_equal(first_day.close, frame.close[:24])
    through_first_gap = frame.head(500)  # the first gap is after 2020-12-21 14:00 (row 495)
    assert through_first_gap.gaps == 3
    assert through_first_gap.warnings == (
        f"{BTC_1H}: 1 gap (3 missing 1h bars), largest 3h missing from 2020-12-21T15:00:00Z.",
    )
    assert len(frame.head(10**9)) == len(frame)
    assert len(frame.head(-1)) == 0
