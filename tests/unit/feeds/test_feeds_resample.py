"""Resampling: a hand-computed case, pandas on real data, labels, alignment, no partial bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import load_bars

DATA = Path(__file__).resolve().parents[3] / "data"
BTC_1H = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
BTC_5M = DATA / "binance_BTC_USDT_5m_202105.csv"
GOOG = DATA / "GOOG.csv"

HOUR = 3600 * 10**9
DAY = 24 * HOUR
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00:00Z, a Friday


def _hourly(hours: list[int], closes: list[float]) -> pd.DataFrame:
    """Return 1h bars opening at T0 + hours with open=c-1, high=c+1, low=c-2, close=c."""
    close = np.array(closes)
    return pd.DataFrame(
        {
            "timestamp": T0 + np.array(hours, dtype=np.int64) * HOUR,
            "open": close - 1,
            "high": close + 1,
            "low": close - 2,
            "close": close,
            "volume": np.arange(1.0, len(hours) + 1),
        }
    )


def test_hand_computed_4h() -> None:
    # 01:00..03:00 fill bucket 00:00 partly (data starts mid-bucket: kept, counted),
    # 04:00..07:00 fill bucket 04:00, 09:00 and 11:00 are in bucket 08:00 (a gap inside),
    # 12:00..14:00 are the last bucket, which closes at 16:00 after the data ends: dropped.
    hours = [1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13, 14]
    closes = [10.0, 12, 11, 20, 25, 18, 22, 30, 28, 40, 41, 42]
    frame = load_bars(_hourly(hours, closes), symbol="X", resample="4h")
    assert frame.timeframe_ns == 4 * HOUR
    np.testing.assert_array_equal(frame.ts_open_ns, T0 + np.array([0, 4, 8]) * HOUR)
    np.testing.assert_array_equal(frame.ts_close_ns, T0 + np.array([4, 8, 12]) * HOUR)
    np.testing.assert_array_equal(frame.open, [9.0, 19.0, 29.0])
    np.testing.assert_array_equal(frame.high, [13.0, 26.0, 31.0])
    np.testing.assert_array_equal(frame.low, [8.0, 16.0, 26.0])
    np.testing.assert_array_equal(frame.close, [11.0, 22.0, 28.0])
    np.testing.assert_array_equal(frame.volume, [1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9])
    assert frame.gaps == 0
    assert frame.warnings == (
        "<DataFrame>: dropped the last 4h bar opening at 2021-01-01T12:00:00Z because the data "
        "ends at 2021-01-01T15:00:00Z, before it closes (3 of 4 1h bars).",
        "<DataFrame>: 2 of the 3 4h bars are built from fewer than 4 1h bars because of missing "
        "data, first at 2021-01-01T00:00:00Z.",
    )


def test_complete_last_bucket_is_kept_and_empty_buckets_are_gaps() -> None:
    hours = [0, 1, 12, 13]
    frame = load_bars(_hourly(hours, [10.0, 20, 30, 40]), symbol="X", timeframe="1h", resample="2h")
    np.testing.assert_array_equal(frame.ts_open_ns, T0 + np.array([0, 12]) * HOUR)
    np.testing.assert_array_equal(frame.close, [20.0, 40.0])
    assert frame.gaps == 5  # 2h buckets 02:00..10:00 have no data
    assert frame.warnings == (
        "<DataFrame>: 1 gap (5 missing 2h bars), largest 10h missing from 2021-01-01T02:00:00Z.",
    )


def test_same_timeframe_is_a_no_op() -> None:
    plain = load_bars(BTC_1H, symbol="BTC/USDT")
    same = load_bars(BTC_1H, symbol="BTC/USDT", resample="1h")
    np.testing.assert_array_equal(plain.close, same.close)
    assert plain.warnings == same.warnings


def _pandas_resample(path: Path, rule: str, origin: str = "epoch") -> pd.DataFrame:
    table = pd.read_csv(path)
    # Naive (UTC) index: pandas ignores origin for day-based rules on tz-aware indexes.
    table.index = pd.to_datetime(table.pop("timestamp"), unit="ms")
    out = table.resample(rule, origin=origin, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return out.dropna(subset=["open"])


@pytest.mark.parametrize(("rule", "target"), [("15min", "15m"), ("1h", "1h"), ("4h", "4h"),
                                              ("1D", "1d")])  # fmt: skip
def test_matches_pandas_on_btc_5m(rule: str, target: str) -> None:
    expected = _pandas_resample(BTC_5M, rule)  # May 2021: complete, every bucket kept
    frame = load_bars(BTC_5M, symbol="BTC/USDT", resample=target)
    assert len(frame) == len(expected)
    np.testing.assert_array_equal(frame.ts_open_ns, expected.index.as_unit("ns").asi8)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(frame, name), expected[name].to_numpy())
    np.testing.assert_allclose(frame.volume, expected["volume"].to_numpy(), rtol=1e-12)


def test_matches_pandas_on_btc_1h_with_gaps() -> None:
    expected = _pandas_resample(BTC_1H, "4h").iloc[:-1]  # the last 4h bucket holds only 20:00
    frame = load_bars(BTC_1H, symbol="BTC/USDT", resample="4h")
    assert len(frame) == 1373
    np.testing.assert_array_equal(frame.ts_open_ns, expected.index.as_unit("ns").asi8)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(frame, name), expected[name].to_numpy())
    np.testing.assert_allclose(frame.volume, expected["volume"].to_numpy(), rtol=1e-12)
    assert frame.gaps == 0  # every 4h bucket has at least one 1h bar


def test_weekly_bars_run_monday_to_monday() -> None:
    frame = load_bars(GOOG, symbol="GOOG", resample="1w")
    table = pd.read_csv(GOOG, index_col=0)
    table.index = pd.to_datetime(table.index)
    table.columns = [c.lower() for c in table.columns]
    expected = table.resample("7D", origin=pd.Timestamp("1970-01-05")).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    ).dropna(subset=["open"])  # fmt: skip
    # GOOG's last day is Friday 2013-03-01: its week closes on Monday 2013-03-04, so dropped.
    expected = expected.iloc[:-1]
    assert (pd.to_datetime(frame.ts_open_ns, utc=True).day_of_week == 0).all()
    np.testing.assert_array_equal(frame.ts_open_ns, expected.index.as_unit("ns").asi8)
    np.testing.assert_array_equal(frame.close, expected["close"].to_numpy())
    np.testing.assert_array_equal(frame.open, expected["open"].to_numpy())
    assert frame.ts_open_ns[0] == pd.Timestamp("2004-08-16", tz="UTC").value
    assert "dropped the last 1w bar opening at 2013-02-25T00:00:00Z" in frame.warnings[0]


def test_no_look_ahead_when_the_data_is_cut() -> None:
    """Bars already closed by the end of a truncated file equal the full file's bars."""
    source = pd.read_csv(BTC_5M)
    full = load_bars(source, symbol="BTC/USDT", resample="1h")
    for cut in (100, 1001, 4444, 8000):
        part = load_bars(source.iloc[:cut], symbol="BTC/USDT", resample="1h")
        last_close_ns = int(source["timestamp"].iloc[cut - 1]) * 10**6 + 5 * 60 * 10**9
        assert part.ts_close_ns[-1] <= last_close_ns  # nothing is visible before it closes
        n = len(part)
        np.testing.assert_array_equal(part.ts_open_ns, full.ts_open_ns[:n])
        for name in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:n])


@pytest.mark.parametrize(
    ("resample", "message"),
    [
        ("90m", "cannot resample 1h bars to 90m; the target must be a whole multiple of 1h, such "
         "as 2h or 4h."),
        ("30m", "cannot resample 1h bars to 30m"),
    ],
)  # fmt: skip
def test_target_must_be_a_multiple(resample: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_bars(BTC_1H, symbol="BTC/USDT", resample=resample)


def test_straddling_source_bar_is_refused() -> None:
    shifted = _hourly([0, 1, 2, 3, 4, 5], [10.0, 20, 30, 40, 50, 60])
    shifted["timestamp"] += 30 * 60 * 10**9  # bars open at :30
    with pytest.raises(DataError, match=r"the 1h bar opening at 2021-01-01T01:30:00Z \(row 2\) "
                                        r"crosses a 2h boundary"):  # fmt: skip
        load_bars(shifted, symbol="X", resample="2h")


def test_no_complete_bar() -> None:
    with pytest.raises(DataError, match="no complete 1d bar can be built from 3 1h bars"):
        load_bars(_hourly([0, 1, 2], [10.0, 20, 30]), symbol="X", resample="1d")
