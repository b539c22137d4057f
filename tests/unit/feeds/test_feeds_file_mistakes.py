"""Files that used to be misread or misdescribed: each is now one clear `DataError` line.

- Two columns with exactly the same name (``...,close,close``): pandas renames the second
  ``close.1``, so the first was used silently and ``data inspect`` said "problems 0".
- A folder given as the file: it said "no such file".
- One bar and no timeframe: the hint now shows the TOML form users write.
- Epoch seconds mixed with milliseconds in one column: said "timestamps go backwards".
- Headline files: a duplicated column (the last one won) and epoch seconds read as ms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DataError
from engine.feeds import inspect_file, load_bars
from engine.feeds.headline_source import open_headline_source
from engine.feeds.headlines import load_news
from engine.feeds.ticks import load_ticks

BARS = (
    "2021-01-01 00:00,1,2,0.5,1.5,10,99\n"
    "2021-01-01 01:00,1,2,0.5,1.5,10,99\n"
    "2021-01-01 02:00,1,2,0.5,1.5,10,99\n"
)


def _write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- exact duplicate column names ------------------------------------------------------


def test_two_columns_named_close_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,open,high,low,close,volume,close\n" + BARS)
    message = _error(load_bars, path, symbol="X")
    assert (
        message == f"{path}: several columns are named close ('close', 'close'); keep exactly one."
    )


def test_data_inspect_reports_two_columns_named_close(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,open,high,low,close,volume,close\n" + BARS)
    report = inspect_file(path)
    assert report.columns == ["timestamp", "open", "high", "low", "close", "volume", "close"]
    assert report.problems == [
        f"{path}: several columns are named close ('close', 'close'); keep exactly one."
    ]


def test_two_columns_named_timestamp_are_refused(tmp_path: Path) -> None:
    rows = BARS.replace(",99\n", ",2022-01-01\n")
    path = _write(tmp_path, "timestamp,open,high,low,close,volume,timestamp\n" + rows)
    assert "several columns are named timestamp ('timestamp', 'timestamp')" in _error(
        load_bars, path, symbol="X"
    )


def test_duplicate_columns_in_a_semicolon_file_are_refused(tmp_path: Path) -> None:
    text = "timestamp;open;high;low;close;volume;close\n" + BARS.replace(",", ";")
    path = _write(tmp_path, text)
    assert "several columns are named close ('close', 'close')" in _error(
        load_bars, path, symbol="X"
    )


def test_duplicate_unused_columns_and_real_dotted_names_are_fine(tmp_path: Path) -> None:
    # A column really named close.1 is not a duplicate; unused repeated columns are ignored
    path = _write(tmp_path, "timestamp,open,high,low,close,volume,close.1,note,note\n")
    path.write_text(path.read_text() + BARS.replace(",99\n", ",99,a,b\n"))
    frame = load_bars(path, symbol="X")
    assert frame.close.tolist() == [1.5, 1.5, 1.5]


@pytest.mark.parametrize(
    ("header", "row", "name"),
    [
        ("timestamp,price,amount,price", "2021-01-01,10,1,11", "price"),
        ("timestamp,price,amount,amount", "2021-01-01,10,1,2", "amount"),
        ("timestamp,price,amount,Price", "2021-01-01,10,1,11", "price"),
        ("timestamp,timestamp,price,amount", "2021-01-01,2021-01-02,10,1", "timestamp"),
        ("timestamp,price,amount,side,side", "2021-01-01,10,1,buy,sell", "side"),
    ],
)
def test_trade_ticks_with_a_repeated_column_are_refused(
    tmp_path: Path, header: str, row: str, name: str
) -> None:
    path = _write(tmp_path, f"{header}\n{row}\n", "trades.csv")
    message = _error(load_ticks, path, symbol="X", kind="trades")
    assert f"{path}: several columns are named {name} (" in message
    assert message.endswith("keep exactly one.")


def test_quote_ticks_with_a_repeated_column_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,bid,ask,bid\n2021-01-01,10,11,12\n", "quotes.csv")
    message = _error(load_ticks, path, symbol="X", kind="quotes")
    assert message == f"{path}: several columns are named bid ('bid', 'bid'); keep exactly one."


def test_a_tick_timestamp_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,price,amount\nsoon,10,1\n2021-01-01,10,1\n", "trades.csv")
    assert "has text that is not an ISO-8601 time" in _error(
        load_ticks, path, symbol="X", kind="trades"
    )


def test_headline_csv_with_a_repeated_column_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "timestamp,symbol,headline,headline\n2021-01-01,A,first,second\n", "h.csv"
    )
    assert _error(load_news, path) == (
        f"{path}: several columns are named headline; keep exactly one"
    )


def test_a_headline_json_line_naming_a_key_twice_is_refused(tmp_path: Path) -> None:
    line = '{"timestamp": "2021-01-01", "symbol": "A", "headline": "a", "headline": "b"}\n'
    path = _write(tmp_path, line, "h.jsonl")
    assert _error(load_news, path) == f"{path}:1: the key 'headline' appears twice; keep one"


def test_headline_epoch_seconds_are_not_read_as_milliseconds(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,symbol,headline\n1609459200,A,x\n", "h.csv")
    message = _error(load_news, path)
    assert message.startswith(f"{path}:2: timestamp '1609459200' looks like epoch seconds")
    assert "milliseconds" in message


def test_headline_epoch_milliseconds_still_work(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,symbol,headline\n1609459200000,A,x\n", "h.csv")
    assert load_news(path)[0].ts_event == 1_609_459_200 * 10**9


# --- a folder where a file should be ---------------------------------------------------


def test_a_folder_given_as_the_bar_file_is_called_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "bars.csv"
    folder.mkdir()
    message = _error(load_bars, folder, symbol="X")
    assert message.startswith(f"{folder}: is a folder, not a file;")
    assert "no such file" not in message
    assert _error(inspect_file, folder) == message
    assert _error(load_ticks, folder, symbol="X", kind="trades") == message


def test_a_folder_given_as_the_headline_file_is_called_a_folder(tmp_path: Path) -> None:
    message = _error(load_news, tmp_path)
    assert message.startswith(f"headline file {str(tmp_path)!r} is a folder, not a file")
    folder = tmp_path / "news.jsonl"
    folder.mkdir()
    tailer = open_headline_source(folder)
    assert _error(tailer.poll).startswith(f"headline file {str(folder)!r} is a folder")


# --- hints in the form users write -----------------------------------------------------


def test_one_bar_hint_shows_the_toml_form(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,open,high,low,close\n2021-01-01,1,2,0.5,1.5\n")
    message = _error(load_bars, path, symbol="X")
    assert 'timeframe = "1d"' in message
    assert "[[data]]" in message
    assert "('1h', '1d', ...)" not in message


def test_epoch_seconds_mixed_with_milliseconds_are_named_as_such(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timestamp,open,high,low,close\n"
        "1609459200000,1,2,0.5,1.5\n"
        "1609459260,1,2,0.5,1.5\n"
        "1609459320000,1,2,0.5,1.5\n",
    )
    message = _error(load_bars, path, symbol="X")
    assert message == (
        f"{path}: timestamp column 'timestamp' mixes epoch units, epoch seconds among epoch "
        "milliseconds, in 1 row, first at row 2 (1609459260); write every time in the same unit."
    )
    assert "go backwards" not in message


def test_a_series_counted_from_zero_is_not_called_mixed(tmp_path: Path) -> None:
    # 0 is smaller than a millisecond time of 1973, but as seconds it is no time near them
    rows = "".join(f"{t},1,2,0.5,1.5\n" for t in (0, 120_000_000_000, 120_003_600_000))
    frame = load_bars(_write(tmp_path, "timestamp,open,high,low,close\n" + rows), symbol="X")
    assert frame.ts_open_ns.tolist()[0] == 0


def test_a_price_too_small_to_divide_by_is_refused(tmp_path: Path) -> None:
    # 1e-320 is a subnormal float: 1 / 1e-320 overflows, so a run on it ended in an
    # internal error (exit 70) writing metrics.json, after numpy overflow warnings.
    path = _write(
        tmp_path,
        "timestamp,open,high,low,close,volume\n"
        "2024-01-01,100,101,99,100,1000\n"
        "2024-01-02,1e-320,1e-320,1e-320,1e-320,1000\n"
        "2024-01-03,106,108,104,107,1000\n",
    )
    message = _error(load_bars, path, symbol="X")
    assert "1 row" in message
    assert "too small" in message
    assert "2024-01-02" in message


def test_a_tick_price_too_small_to_divide_by_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timestamp,price,size\n2024-01-01T00:00:00Z,100,1\n2024-01-01T00:00:01Z,1e-320,1\n",
        "trades.csv",
    )
    message = _error(load_ticks, path, symbol="X", kind="trades")
    assert "price must be positive (at least 2.2e-308), got 9.99989e-321" in message


def test_a_trade_side_other_than_buy_or_sell_is_refused(tmp_path: Path) -> None:
    # "sideways" reached strategies as the aggressor side (found by an audit)
    path = _write(
        tmp_path,
        "timestamp,price,size,side\n"
        "2024-01-01T00:00:00Z,100,1,BUY\n"
        "2024-01-01T00:00:01Z,100,1,sideways\n"
        "2024-01-01T00:00:02Z,100,1,\n",
        "trades.csv",
    )
    message = _error(load_ticks, path, symbol="X", kind="trades")
    assert "side must be buy, sell or empty, got 'sideways' at 2024-01-01T00:00:01Z" in message
    assert "(1 row(s))" in message


def test_trade_sides_are_read_in_lower_case(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timestamp,price,size,side\n"
        "2024-01-01T00:00:00Z,100,1,BUY\n"
        "2024-01-01T00:00:01Z,100,1,Sell\n"
        "2024-01-01T00:00:02Z,100,1,\n",
        "trades.csv",
    )
    assert load_ticks(path, symbol="X", kind="trades").sides == ["buy", "sell", ""]


@pytest.mark.parametrize("header", ["Gmt time", "Open Time"])
def test_a_pandas_row_index_beside_a_time_column_is_not_taken_for_the_times(
    tmp_path: Path, header: str
) -> None:
    """``df.to_csv()`` writes the row numbers as an unnamed first column; they were read as
    epoch seconds (1970 one-second bars, exit 0) while the real times sat in 'Gmt time'."""
    path = _write(
        tmp_path,
        f",{header},Open,High,Low,Close,Volume\n"
        "0,2021-01-01 00:00:00,1,2,0.5,1.5,10\n"
        "1,2021-01-01 01:00:00,1.5,2,1,1.8,10\n"
        "2,2021-01-01 02:00:00,1.8,2,1,1.9,10\n",
    )
    message = _error(load_bars, path, symbol="X")
    assert f"'{header}'" in message
    assert "index=False" in message


def test_a_true_false_volume_column_is_not_read_as_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "timestamp,open,high,low,close,volume\n"
        "2021-01-01T00:00:00Z,1,2,0.5,1.5,True\n"
        "2021-01-01T01:00:00Z,1.5,2,1,1.8,False\n",
    )
    assert "column volume has values that are not numbers" in _error(load_bars, path, symbol="X")
