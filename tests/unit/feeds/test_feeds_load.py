"""load_bars: sources, timestamp formats, column rules, windows and the contract fields."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import BarFrame, load_bars

DATA = Path(__file__).resolve().parents[3] / "data"
BTC_1H = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
EURUSD = DATA / "EURUSD.csv"
GOOG = DATA / "GOOG.csv"

T0_NS = 1_609_459_200 * 10**9  # 2021-01-01T00:00:00Z
HOUR_NS = 3600 * 10**9
EXPECTED_TS = np.array([T0_NS, T0_NS + HOUR_NS, T0_NS + 2 * HOUR_NS], dtype=np.int64)


def _with_timestamps(bars: pd.DataFrame, values: object, name: str = "timestamp") -> pd.DataFrame:
    frame = bars.drop(columns="timestamp")
    frame.insert(0, name, values)
    return frame


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([1609459200, 1609462800, 1609466400], id="seconds"),
        pytest.param([1609459200.0, 1609462800.0, 1609466400.0], id="float-seconds"),
        pytest.param([1609459200000, 1609462800000, 1609466400000], id="milliseconds"),
        pytest.param([1609459200000000, 1609462800000000, 1609466400000000], id="microseconds"),
        pytest.param(list(EXPECTED_TS), id="nanoseconds"),
        pytest.param(["1609459200000", "1609462800000", "1609466400000"], id="ms-as-text"),
        pytest.param(
            ["2021-01-01T00:00:00Z", "2021-01-01T01:00:00Z", "2021-01-01T02:00:00Z"], id="iso-z"
        ),
        pytest.param(
            ["2021-01-01 00:00:00", "2021-01-01 01:00:00", "2021-01-01 02:00:00"], id="iso-naive"
        ),
        pytest.param(
            ["2021-01-01T01:00:00+01:00", "2021-01-01T02:00:00+01:00", "2021-01-01T01:00-01:00"],
            id="iso-offsets",
        ),
        pytest.param(
            pd.to_datetime(["2021-01-01 00:00", "2021-01-01 01:00", "2021-01-01 02:00"]),
            id="datetime64-naive",
        ),
        pytest.param(
            pd.to_datetime(["2021-01-01 01:00", "2021-01-01 02:00", "2021-01-01 03:00"])
            .tz_localize("Europe/Paris")
            .astype("datetime64[s, Europe/Paris]"),
            id="datetime64-tz-seconds",
        ),
    ],
)
def test_timestamp_formats_give_utc_ns(bars: pd.DataFrame, values: object) -> None:
    frame = load_bars(_with_timestamps(bars, values), symbol="X")
    np.testing.assert_array_equal(frame.ts_open_ns, EXPECTED_TS)
    assert frame.ts_open_ns.dtype == np.int64
    assert frame.timeframe_ns == HOUR_NS


def test_fractional_epoch_seconds_keep_ns(bars: pd.DataFrame) -> None:
    values = [1609459200.25, 1609462800.25, 1609466400.25]
    frame = load_bars(_with_timestamps(bars, values), symbol="X")
    np.testing.assert_array_equal(frame.ts_open_ns, EXPECTED_TS + 250_000_000)


@pytest.mark.parametrize("name", ["timestamp", "Time", "DATE", "datetime", "ts", "open_time"])
def test_timestamp_column_names(bars: pd.DataFrame, name: str) -> None:
    frame = load_bars(_with_timestamps(bars, list(EXPECTED_TS // 10**6), name), symbol="X")
    np.testing.assert_array_equal(frame.ts_open_ns, EXPECTED_TS)


def test_datetime_index_and_case_insensitive_columns(bars: pd.DataFrame) -> None:
    frame = bars.drop(columns="timestamp").rename(columns=str.upper)
    frame.index = pd.DatetimeIndex(pd.to_datetime(EXPECTED_TS, unit="ns", utc=True))
    loaded = load_bars(frame, symbol="X")
    np.testing.assert_array_equal(loaded.ts_open_ns, EXPECTED_TS)
    np.testing.assert_array_equal(loaded.close, [11.0, 12.0, 13.0])
    assert loaded.source == "<DataFrame>"


def test_named_index_is_used(bars: pd.DataFrame) -> None:
    loaded = load_bars(bars.set_index("timestamp"), symbol="X")
    np.testing.assert_array_equal(loaded.ts_open_ns, EXPECTED_TS)


def test_missing_volume_is_zero_with_a_warning(bars: pd.DataFrame) -> None:
    frame = load_bars(bars.drop(columns="volume"), symbol="X")
    np.testing.assert_array_equal(frame.volume, [0.0, 0.0, 0.0])
    assert any("no volume column" in warning for warning in frame.warnings)


def test_goog_unnamed_first_column(tmp_path: Path) -> None:
    frame = load_bars(GOOG, symbol="GOOG")
    assert len(frame) == 2148
    assert frame.timeframe_ns == 24 * HOUR_NS
    assert frame.ts_open_ns[0] == pd.Timestamp("2004-08-19", tz="UTC").value
    assert frame.ts_open_ns[-1] == pd.Timestamp("2013-03-01", tz="UTC").value
    assert (frame.open[0], frame.high[0], frame.low[0], frame.close[0]) == (
        100.0,
        104.06,
        95.96,
        100.34,
    )
    assert frame.volume[0] == 22351900.0
    assert frame.close[-1] == 806.19
    assert frame.source == str(GOOG)


def test_eurusd_hourly_naive_datetimes() -> None:
    frame = load_bars(EURUSD, symbol="EUR/USD")
    assert len(frame) == 5000
    assert frame.timeframe_ns == HOUR_NS
    assert frame.ts_open_ns[0] == pd.Timestamp("2017-04-19 09:00", tz="UTC").value
    assert frame.open[0] == 1.0716
    assert frame.volume[0] == 1413.0


def test_btc_contract_fields() -> None:
    frame = load_bars(BTC_1H, symbol="BTC/USDT")
    reference = pd.read_csv(BTC_1H)
    assert isinstance(frame, BarFrame)
    assert frame.symbol == "BTC/USDT"
    assert len(frame) == 5482
    assert frame.timeframe_ns == HOUR_NS
    np.testing.assert_array_equal(frame.ts_open_ns, reference["timestamp"].to_numpy() * 10**6)
    for name in ("open", "high", "low", "close", "volume"):
        column = getattr(frame, name)
        assert column.dtype == np.float64
        assert column.flags.c_contiguous
        assert not column.flags.writeable
        np.testing.assert_array_equal(column, reference[name].to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(frame.ts_close_ns, frame.ts_open_ns + HOUR_NS)
    assert frame.gaps == 11
    assert frame.warnings == (
        f"{BTC_1H}: 6 gaps (11 missing 1h bars), largest 3h missing from 2020-12-21T15:00:00Z.",
    )


def test_csv_gz_and_parquet_round_trip(tmp_path: Path) -> None:
    gz = tmp_path / "btc.csv.gz"
    with BTC_1H.open("rb") as plain, gzip.open(gz, "wb") as packed:
        shutil.copyfileobj(plain, packed)
    original = load_bars(BTC_1H, symbol="BTC/USDT")
    from_gz = load_bars(gz, symbol="BTC/USDT")
    parquet = tmp_path / "btc.parquet"
    original.to_dataframe().to_parquet(parquet)
    from_parquet = load_bars(parquet, symbol="BTC/USDT")
    plain_parquet = tmp_path / "plain.parquet"
    pd.read_csv(BTC_1H).to_parquet(plain_parquet, index=False)
    from_plain = load_bars(str(plain_parquet), symbol="BTC/USDT")
    for other in (from_gz, from_parquet, from_plain):
        assert other.timeframe_ns == original.timeframe_ns
        assert other.gaps == original.gaps
        for name in ("ts_open_ns", "open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(getattr(other, name), getattr(original, name))


def test_parquet_is_decoded_outside_pyarrows_retaining_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is decoded with malloc (which gives memory back); the pool is restored."""
    import pyarrow

    path = tmp_path / "bars.parquet"
    pd.read_csv(BTC_1H).to_parquet(path, index=False)
    pool = pyarrow.default_memory_pool()
    seen: list[str] = []
    read = pd.read_parquet

    def spy(*args: object, **kwargs: object) -> pd.DataFrame:
        seen.append(pyarrow.default_memory_pool().backend_name)
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd, "read_parquet", spy)
    frame = load_bars(path, symbol="BTC/USDT")
    assert seen == [pyarrow.system_memory_pool().backend_name]  # "system"
    assert pyarrow.default_memory_pool().backend_name == pool.backend_name
    np.testing.assert_array_equal(frame.close, load_bars(BTC_1H, symbol="BTC/USDT").close)


def test_to_dataframe_is_utc_indexed() -> None:
    frame = load_bars(GOOG, symbol="GOOG", end="2004-08-21")
    table = frame.to_dataframe()
    assert list(table.columns) == ["open", "high", "low", "close", "volume"]
    assert str(table.index.tz) == "UTC"
    assert table.index[0] == pd.Timestamp("2004-08-19", tz="UTC")
    assert table["close"].tolist() == [100.34, 108.31]


def test_start_end_window_keeps_whole_bars() -> None:
    frame = load_bars(
        BTC_1H, symbol="BTC/USDT", start="2021-01-01T00:00:00Z", end="2021-01-02T00:00:00Z"
    )
    assert len(frame) == 24
    assert frame.ts_open_ns[0] == T0_NS
    assert frame.ts_close_ns[-1] == T0_NS + 24 * HOUR_NS
    # A bar is kept only if it lies wholly inside [start, end): 4h bars need the whole bucket.
    coarse = load_bars(BTC_1H, symbol="BTC/USDT", resample="4h", start="2021-01-01T02:00",
                       end="2021-01-02T03:00")  # fmt: skip
    np.testing.assert_array_equal(
        coarse.ts_open_ns, T0_NS + np.arange(4, 24, 4, dtype=np.int64) * HOUR_NS
    )


def test_window_errors() -> None:
    with pytest.raises(DataError, match="no 1h bars lie between start '2030-01-01'"):
        load_bars(BTC_1H, symbol="BTC/USDT", start="2030-01-01")
    with pytest.raises(DataError, match="is not after the start"):
        load_bars(BTC_1H, symbol="BTC/USDT", start="2021-01-02", end="2021-01-01")
    with pytest.raises(DataError, match="The end 'tomorrow' is not an ISO-8601"):
        load_bars(BTC_1H, symbol="BTC/USDT", end="tomorrow")


def test_given_timeframe(bars: pd.DataFrame) -> None:
    frame = load_bars(bars, symbol="X", timeframe="1h")
    assert frame.timeframe_ns == HOUR_NS
    # A timeframe shorter than every spacing would count each bar closed before its data
    # was known (an hourly bar "closing" 30 minutes after it opens): look-ahead, refused.
    hourly = pd.DataFrame(
        {"timestamp": 1609459200000 + np.arange(21, dtype=np.int64) * 3_600_000}
        | {name: np.full(21, 10.0) for name in ("open", "high", "low", "close", "volume")}
    )
    with pytest.raises(
        DataError, match=r"no two bars are 30m apart \(the closest are 1h apart\).*look-ahead"
    ):
        load_bars(hourly, symbol="X", timeframe="30m")
    # Three bars (two spacings) could be a sparse 30m file: warned, not refused.
    wider = load_bars(bars, symbol="X", timeframe="30m")
    assert any("look-ahead" in w for w in wider.warnings)
    # Some bars a timeframe apart, most of them more (a sparse file): a warning only.
    hours = np.array([0, 1, 3, 5, 7], dtype=np.int64)
    sparse = pd.DataFrame(
        {"timestamp": 1609459200000 + hours * 3_600_000}
        | {name: np.full(5, 10.0) for name in ("open", "high", "low", "close", "volume")}
    )
    wider = load_bars(sparse, symbol="X", timeframe="1h")
    assert any("most common spacing is 2h but timeframe 1h" in w for w in wider.warnings)
    with pytest.raises(DataError, match=r"bars are 1h apart at row 2 .* timeframe is 2h"):
        load_bars(bars, symbol="X", timeframe="2h")


def test_single_bar_needs_a_timeframe(bars: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="cannot infer the timeframe from a single bar"):
        load_bars(bars.iloc[:1], symbol="X")
    frame = load_bars(bars.iloc[:1], symbol="X", timeframe="1h")
    assert len(frame) == 1
    assert frame.gaps == 0


def test_inference_picks_the_most_common_spacing(bars: pd.DataFrame) -> None:
    times = T0_NS + np.array([0, 1, 2, 5, 6, 8], dtype=np.int64) * HOUR_NS
    frame = pd.DataFrame({"timestamp": times, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0})
    loaded = load_bars(frame, symbol="X")
    assert loaded.timeframe_ns == HOUR_NS
    assert loaded.gaps == 3  # 2 bars missing after 02:00, 1 after 06:00


def test_arrays_are_frozen_copies(bars: pd.DataFrame) -> None:
    frame = load_bars(bars, symbol="X")
    with pytest.raises(ValueError, match="read-only"):
        frame.close[0] = 0.0
    bars.loc[0, "close"] = 99.0
    assert frame.close[0] == 11.0


def test_symbol_required(bars: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="symbol must be a non-empty string"):
        load_bars(bars, symbol=" ")


def test_separate_date_and_time_columns() -> None:
    frame = pd.DataFrame(
        {
            "Date": ["2021-01-01", "2021-01-01", "2021-01-01"],
            "Time": ["00:00", "01:00", "02:00"],
            "Open": [1.0, 2.0, 3.0],
            "High": [1.0, 2.0, 3.0],
            "Low": [1.0, 2.0, 3.0],
            "Close": [1.0, 2.0, 3.0],
        }
    )
    np.testing.assert_array_equal(load_bars(frame, symbol="X").ts_open_ns, EXPECTED_TS)


def test_nullable_integer_and_spaced_headers(bars: pd.DataFrame) -> None:
    frame = bars.rename(columns=lambda name: f" {name.title()} ")
    frame[" Timestamp "] = pd.array(frame[" Timestamp "], dtype="Int64")
    np.testing.assert_array_equal(load_bars(frame, symbol="X").ts_open_ns, EXPECTED_TS)
    frame[" Timestamp "] = pd.array([1609459200000, None, 1609466400000], dtype="Int64")
    with pytest.raises(DataError, match="timestamp column ' Timestamp ' is missing or not finite"):
        load_bars(frame, symbol="X")


def test_extra_columns_are_ignored(bars: pd.DataFrame) -> None:
    frame = bars.assign(trades=[5, 6, 7], note=["a", "b", "c"])
    np.testing.assert_array_equal(load_bars(frame, symbol="X").close, [11.0, 12.0, 13.0])


def test_numbers_near_1970_are_ambiguous_so_datetime64_is_exact() -> None:
    """Epoch numbers get their unit from magnitude; datetime64 values need no guessing."""
    times = np.arange(5, dtype=np.int64) * 60 * 10**9  # ns from 1970-01-01, max 2.4e11
    frame = pd.DataFrame({"ts": times, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0})
    assert load_bars(frame, symbol="X").timeframe_ns == 60 * 10**15  # read as milliseconds
    frame["ts"] = times.astype("datetime64[ns]")
    loaded = load_bars(frame, symbol="X")
    np.testing.assert_array_equal(loaded.ts_open_ns, times)
    assert loaded.timeframe_ns == 60 * 10**9


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_csv_separators(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "bars.csv"
    lines = ["Date,Open,High,Low,Close", "2021-01-01,1,2,0.5,1.5", "2021-01-02,1.5,2,1,1"]
    path.write_text("\n".join(line.replace(",", separator) for line in lines) + "\n")
    frame = load_bars(path, symbol="X")
    assert frame.timeframe_ns == 24 * HOUR_NS
    np.testing.assert_array_equal(frame.close, [1.5, 1.0])


def test_utf8_bom_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftimestamp,open,high,low,close\n1609459200000,1,1,1,1\n")
    assert load_bars(path, symbol="X", timeframe="1h").ts_open_ns.tolist() == [T0_NS]


def test_resample_warnings_describe_the_windows_bars() -> None:
    """An audit's weekly BTC run from 2020-12-01 to 2021-01-20 was warned that 5 of the
    1w bars were partial and the July bar dropped: the whole file's, not its 6 bars'."""
    frame = load_bars(BTC_1H, symbol="BTC/USDT", resample="1w", start="2020-12-01",
                      end="2021-01-20")  # fmt: skip
    assert len(frame) == 6
    partial = [w for w in frame.warnings if "1w bars" in w]
    assert len(partial) == 1, frame.warnings
    assert "1 of the 6 1w bars" in partial[0]
    assert not any("dropped the last" in w for w in frame.warnings), frame.warnings
