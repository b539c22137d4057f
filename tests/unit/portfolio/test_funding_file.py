"""Funding-rate files (`load_funding_rates`): a file is read only as what it says it is.

The rate column must be named (``rate`` or ``funding_rate``): no other column is taken for
it by position, so a price file or a ``timestamp,foo`` file given as ``funding`` is one
`DataError` naming the columns found, never funding booked from closes. Rates must be
finite and below 100 % per funding time in magnitude.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DataError
from engine.portfolio.accounts import load_funding_rates

PRICE_FILE = (
    "timestamp,open,high,low,close,volume\n"
    "2021-01-01 00:00,100,101,99,100,1000\n"
    "2021-01-01 08:00,100,101,99,100,1000\n"
)


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_funding_rates(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_price_file_given_as_funding_is_refused_naming_its_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, PRICE_FILE)
    message = _error(path)
    assert message == (
        f"{path}: a funding file needs a timestamp and a rate column; no column is named rate "
        "or funding_rate; the columns are timestamp, open, high, low, close, volume."
    )


def test_an_unnamed_second_column_is_not_taken_for_the_rate(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,foo\n2021-01-01,0.001\n")
    assert _error(path) == (
        f"{path}: a funding file needs a timestamp and a rate column; no column is named rate "
        "or funding_rate; the columns are timestamp, foo."
    )


def test_a_misspelt_rate_column_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rates\n2021-01-01,0.001\n")
    message = _error(path)
    assert "(did you mean 'rates'?)" in message
    assert "the columns are timestamp, rates" in message


@pytest.mark.parametrize("header", ["timestamp,Rate", "Timestamp,fundingRate", "ts,Funding Rate"])
def test_rate_names_are_matched_ignoring_case_spaces_and_underscores(
    tmp_path: Path, header: str
) -> None:
    rates = load_funding_rates(_write(tmp_path, f"{header}\n2021-01-01,0.001\n"))
    assert rates.rate.tolist() == [0.001]


def test_the_timestamp_column_must_be_named_too(tmp_path: Path) -> None:
    path = _write(tmp_path, "when,rate\n2021-01-01,0.001\n")
    message = _error(path)
    assert message.startswith(f"{path}: a funding file needs a timestamp and a rate column; no ")
    assert "no timestamp column (named timestamp, time, date" in message
    assert "the columns are when, rate" in message


def test_a_date_column_and_an_unnamed_first_column_are_times_as_in_bar_files(
    tmp_path: Path,
) -> None:
    dated = load_funding_rates(_write(tmp_path, "date,rate\n2021-01-01,0.001\n", "d.csv"))
    unnamed = load_funding_rates(_write(tmp_path, ",rate\n2021-01-01,0.001\n", "u.csv"))
    assert dated.ts.tolist() == unnamed.ts.tolist() == [1_609_459_200 * 10**9]


def test_two_rate_columns_are_ambiguous(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rate,funding_rate\n2021-01-01,0.001,0.002\n")
    assert _error(path) == (
        f"{path}: several columns could be the funding rate ('rate', 'funding_rate'); "
        "keep exactly one."
    )


def test_two_columns_named_rate_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rate,rate\n2021-01-01,0.001,0.5\n")
    assert "several columns could be the funding rate ('rate', 'rate')" in _error(path)


def test_two_columns_named_timestamp_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rate,timestamp\n2021-01-01,0.001,2022-01-01\n")
    assert "several columns are named timestamp ('timestamp', 'timestamp')" in _error(path)


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_an_infinite_rate_is_refused_with_its_row_and_time(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"timestamp,rate\n2021-01-01,0.001\n2021-01-01 08:00,{value}\n")
    message = _error(path)
    assert "funding rate on data row 2 (2021-01-01T08:00:00Z) is not a finite number" in message


@pytest.mark.parametrize("value", ["1", "-1", "1.5", "100", "-250.0"])
def test_a_rate_of_100_percent_or_more_per_funding_time_is_refused(
    tmp_path: Path, value: str
) -> None:
    path = _write(tmp_path, f"timestamp,rate\n2021-01-01,0.001\n2021-01-01 08:00,{value}\n")
    message = _error(path)
    assert f"funding rate {float(value):g} on data row 2 (2021-01-01T08:00:00Z)" in message
    assert "a fraction" in message


def test_large_but_possible_rates_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rate\n2021-01-01,0.75\n2021-01-01 08:00,-0.999\n")
    assert load_funding_rates(path).rate.tolist() == [0.75, -0.999]


def test_a_bad_timestamp_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,rate\n2021-01-01,0.001\nsoon,0.001\n")
    assert "has text that is not an ISO-8601 time" in _error(path)


def test_a_folder_is_called_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "rates.csv"
    folder.mkdir()
    message = _error(folder)
    assert message.startswith(f"funding file {str(folder)!r} is a folder, not a file")


def test_a_funding_file_with_a_header_and_no_rows_is_refused(tmp_path: Path) -> None:
    # Found by an audit: a header-only file was accepted and silently made the symbol a
    # perpetual paying no funding at all.
    path = _write(tmp_path, "timestamp,rate\n")
    assert _error(path) == (
        f"{path}: the funding file has no rows; a perpetual needs its funding rates "
        "(remove `funding` from this [[data]] entry for a spot symbol)"
    )
