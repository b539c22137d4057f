"""Every validation error: raised as DataError naming the file, the row, the time and a fix."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.feeds import inspect_file, load_bars

HEADER = "timestamp,open,high,low,close,volume\n"
ROWS = [
    "1609459200000,10,11.5,9.5,11,1",
    "1609462800000,11,12.5,10.5,12,2",
    "1609466400000,12,13.5,11.5,13,3",
    "1609470000000,13,14.5,12.5,14,4",
]


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def _error(path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_bars(path, symbol="X")
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


def _replace(row: int, text: str) -> list[str]:
    rows = list(ROWS)
    rows[row] = text
    return rows


def test_unsorted(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[2], ROWS[1], ROWS[3]]
    message = _error(_csv(tmp_path, rows))
    assert message == (
        f"{tmp_path / 'bars.csv'}: timestamps go backwards (data is not sorted by time) in 1 "
        "row, first at row 3 (2021-01-01T01:00:00Z, after 2021-01-01T02:00:00Z); sort the file "
        "by timestamp."
    )


def test_duplicate(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[1], ROWS[1].replace(",11,", ",11.2,"), ROWS[3]]
    message = _error(_csv(tmp_path, rows))
    assert "a timestamp repeats an earlier row's in 1 row, first at row 3" in message
    assert "(2021-01-01T01:00:00Z)" in message
    assert message.endswith("keep one bar per timestamp.")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("1609462800000,11,12.5,10.5,,2", "a value is missing (empty or NaN) in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, close=nan)"),
        ("1609462800000,11,12.5,10.5,NaN,2", "a value is missing (empty or NaN)"),
        ("1609462800000,11,inf,10.5,12,2", "a value is infinite in 1 row, first at row 2 "
         "(2021-01-01T01:00:00Z, high=inf)"),
        ("1609462800000,-11,12.5,-12,-11.5,2", "a price is zero or negative in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, open=-11.0)"),
        ("1609462800000,0,0,0,0,0", "a price is zero or negative in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, open=0.0)"),
        ("1609462800000,11,12.5,10.5,0,2", "a price is zero or negative in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, close=0.0)"),
        ("1609462800000,11,12.5,10.5,12,-2", "a volume is negative in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, volume=-2.0)"),
        ("1609462800000,11,10,12.5,12,2", "high is below low in 1 row, first at row 2 "
         "(2021-01-01T01:00:00Z, high=10.0, low=12.5)"),
        ("1609462800000,11,11.5,10.5,12,2", "high is below the open or close in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, open=11.0, high=11.5, close=12.0)"),
        ("1609462800000,11,12.5,11.5,12,2", "low is above the open or close in 1 row, first at "
         "row 2 (2021-01-01T01:00:00Z, open=11.0, low=11.5, close=12.0)"),
        ("1609462800000,11,12.5,10.5,twelve,2", "column close has values that are not numbers in "
         "1 row, first at row 2 (2021-01-01T01:00:00Z, close='twelve'); write plain decimal "
         "numbers."),
    ],
)  # fmt: skip
def test_bad_values(tmp_path: Path, row: str, expected: str) -> None:
    message = _error(_csv(tmp_path, _replace(1, row)))
    assert expected in message
    assert "fix or remove those rows" in message or "write plain decimal numbers" in message


def test_counts_every_offending_row(tmp_path: Path) -> None:
    rows = [ROWS[0].replace(",11.5,", ",9,"), ROWS[1], ROWS[2].replace(",13.5,", ",11,"), ROWS[3]]
    message = _error(_csv(tmp_path, rows))
    assert "high is below low in 2 rows, first at row 1" in message


def test_missing_column_suggests_closest(tmp_path: Path) -> None:
    path = _csv(tmp_path, ROWS, header="timestamp,open,high,low,clsoe,volume\n")
    message = _error(path)
    assert message == (
        f"{path}: missing required column 'close' (did you mean 'clsoe'?); the columns are "
        "timestamp, open, high, low, clsoe, volume, rename one to 'close'."
    )


def test_missing_timestamp_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, ROWS, header="timestmp,open,high,low,close,volume\n")
    message = _error(path)
    assert "no timestamp column (did you mean 'timestmp'?)" in message
    assert "timestamp, time, date, datetime, ts, open_time" in message


def test_duplicate_column(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, [r + ",1" for r in ROWS], header="timestamp,open,high,low,close,Close,v\n"
    )
    assert "several columns are named close ('close', 'Close'); keep exactly one." in _error(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert _error(path) == f"{path}: the file is empty; give a file with a header and rows."


def test_header_only(tmp_path: Path) -> None:
    path = _csv(tmp_path, [])
    path.write_text(HEADER)
    assert _error(path) == f"{path}: has no data rows; give at least one bar."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yesterday", "timestamp column 'timestamp' has text that is not an ISO-8601 time in 1 "
         "row, first at row 3 ('yesterday')"),
        ("01/02/2021", "not an ISO-8601 time in 1 row, first at row 3 ('01/02/2021')"),
        ("", "the timestamp is missing in 1 row, first at row 3"),
    ],
)  # fmt: skip
def test_unparseable_iso_timestamps(tmp_path: Path, value: str, expected: str) -> None:
    rows = ["2021-01-01T00:00:00,10,11.5,9.5,11,1", "2021-01-01T01:00:00,11,12.5,10.5,12,2",
            f"{value},12,13.5,11.5,13,3"]  # fmt: skip
    assert expected in _error(_csv(tmp_path, rows))


def test_text_in_epoch_column(tmp_path: Path) -> None:
    message = _error(_csv(tmp_path, _replace(2, "soon,12,13.5,11.5,13,3")))
    assert "has text that is not an epoch number in 1 row, first at row 3 ('soon')" in message
    assert "more problem" not in message  # the bad row is not reported twice


def test_mixed_epoch_units_are_named_not_called_unsorted(tmp_path: Path) -> None:
    # The column's unit comes from its largest value (ms here), so a row written in seconds
    # would read as January 1970; it is named as seconds among milliseconds instead of
    # failing the order check ("timestamps go backwards").
    message = _error(_csv(tmp_path, _replace(2, "1609466400,12,13.5,11.5,13,3")))
    assert "mixes epoch units, epoch seconds among epoch milliseconds, in 1 row, first at " in (
        message
    )
    assert "row 3 (1609466400); write every time in the same unit" in message
    assert "go backwards" not in message


def test_out_of_range_epoch(tmp_path: Path) -> None:
    rows = ["9999999999,10,11.5,9.5,11,1", "9999999998,11,12.5,10.5,12,2"]
    message = _error(_csv(tmp_path, rows))
    assert "has times outside 1677-2262" in message


def test_first_problem_is_raised_with_a_count_of_the_rest(tmp_path: Path) -> None:
    rows = [ROWS[1], ROWS[0], ROWS[2].replace(",13.5,", ",10,"), ROWS[3].replace(",4", ",-4")]
    path = _csv(tmp_path, rows)
    message = _error(path)
    assert message.startswith(f"{path}: timestamps go backwards")
    assert message.endswith(
        f"sort the file by timestamp (2 more problems: run `kestrel data inspect {path}` to list "
        "them all)."
    )
    report = inspect_file(path)
    assert len(report.problems) == 3
    assert report.problems[0].removesuffix(".") in message
    assert "a volume is negative in 1 row, first at row 4" in report.problems[1]
    assert "volume=-4.0" in report.problems[1]
    assert "high is below low in 1 row, first at row 3" in report.problems[2]


def test_dataframe_errors_name_the_dataframe() -> None:
    frame = pd.DataFrame({"timestamp": [2, 1], "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0})
    with pytest.raises(DataError, match=r"^<DataFrame>: timestamps go backwards"):
        load_bars(frame, symbol="X")


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file; check the path"):
        load_bars(tmp_path / "nope.csv", symbol="X")
    other = tmp_path / "bars.json"
    other.write_text("[]")
    with pytest.raises(
        DataError, match=r"unsupported file type; use \.csv, \.csv\.gz, \.csv\.bz2, \.csv\.xz"
    ):
        load_bars(other, symbol="X")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot be read"):
        load_bars(broken, symbol="X")


def test_validation_is_vectorized_on_many_rows() -> None:
    n = 200_000
    ts = 1_609_459_200_000 + np.arange(n, dtype=np.int64) * 60_000
    price = np.full(n, 100.0)
    frame = pd.DataFrame({"ts": ts, "open": price, "high": price, "low": price, "close": price})
    frame.loc[n - 5, ["high", "low"]] = [102.0, 101.0]
    with pytest.raises(
        DataError, match=rf"low is above the open or close in 1 row, first at row {n - 4}"
    ):
        load_bars(frame, symbol="X")


def test_repeats_are_found_in_unsorted_data(tmp_path: Path) -> None:
    rows = [ROWS[1], ROWS[0], ROWS[2], ROWS[0].replace(",10,", ",10.5,")]
    report = inspect_file(_csv(tmp_path, rows))
    assert len(report.problems) == 2
    assert "timestamps go backwards" in report.problems[0]
    assert (
        "a timestamp repeats an earlier row's in 1 row, first at row 4 (2021-01-01T00:00:00Z)"
        in report.problems[1]
    )


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("open", np.nan, "a value is missing (empty or NaN) in 1 row"),
        ("close", np.inf, "a value is infinite in 1 row"),
        ("low", -np.inf, "a value is infinite in 1 row"),
        ("high", 0.0, "a price is zero or negative in 1 row"),
        ("volume", -1.0, "a volume is negative in 1 row"),
        ("volume", np.nan, "a value is missing (empty or NaN) in 1 row"),
    ],
)
def test_one_bad_value_in_the_last_of_many_rows_is_reported(
    column: str, value: float, expected: str
) -> None:
    # the sane-columns shortcut of check_values must not hide a single value at the end
    n = 200_000
    ts = 1_609_459_200_000 + np.arange(n, dtype=np.int64) * 60_000
    price = np.full(n, 100.0)
    frame = pd.DataFrame(
        {"ts": ts, "open": price, "high": price, "low": price, "close": price, "volume": price}
    )
    frame.loc[n - 1, column] = value
    with pytest.raises(DataError, match=re.escape(f"{expected}, first at row {n}")):
        load_bars(frame, symbol="X")
