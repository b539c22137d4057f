"""Headline-file mistakes found by the audit: each one line naming the file and row.

A byte-order mark is accepted (as in a bar file); a decimal epoch says the same true thing
in CSV and JSONL; a CSV row with an unterminated quote or an extra field is refused; a
repeated headline (same id and symbol, or without ids the same time, symbol and text) is
refused naming the id and the rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DataError
from engine.feeds.headline_source import JsonlTailer
from engine.feeds.headlines import headline_timestamp, load_news

T = 1_619_830_800_000_000_000  # 2021-05-01T01:00:00Z


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["h.csv", "h.jsonl"])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str) -> None:
    body = (
        b"timestamp,symbol,headline\n2021-05-01T01:00Z,ETH/USDT,x\n"
        if name.endswith(".csv")
        else b'{"timestamp": "2021-05-01T01:00Z", "symbol": "ETH/USDT", "headline": "x"}\n'
    )
    headlines = load_news(write(tmp_path, name, b"\xef\xbb\xbf" + body))
    assert [(h.ts_event, h.symbol, h.text, h.headline_id) for h in headlines] == [
        (T, "ETH/USDT", "x", f"{name}:2" if name.endswith(".csv") else f"{name}:1")
    ]


@pytest.mark.parametrize(
    ("csv_value", "json_value", "message"),
    [
        (
            "1619838000000.0",
            "1619838000000.0",
            "timestamp '1619838000000.0' is a decimal number; epoch milliseconds are whole "
            "numbers: write 1619838000000, or ISO-8601",
        ),
        (
            "1619838000000.5",
            "1619838000000.5",
            "timestamp '1619838000000.5' is a decimal number; epoch milliseconds are whole "
            "numbers: write whole epoch milliseconds, or ISO-8601",
        ),
        (
            "1.619838e12",
            "1.619838e12",
            "timestamp '1.619838e12' is a decimal number; epoch milliseconds are whole "
            "numbers: write 1619838000000, or ISO-8601",
        ),
    ],
)
def test_a_decimal_epoch_says_the_same_true_thing_in_csv_and_jsonl(
    tmp_path: Path, csv_value: str, json_value: str, message: str
) -> None:
    csv_file = write(tmp_path, "h.csv", f"timestamp,symbol,headline\n{csv_value},E,x\n".encode())
    line = f'{{"timestamp": {json_value}, "symbol": "E", "headline": "x"}}\n'
    json_file = write(tmp_path, "h.jsonl", line.encode())
    with pytest.raises(DataError) as from_csv:
        load_news(csv_file)
    with pytest.raises(DataError) as from_json:
        load_news(json_file)
    assert str(from_csv.value) == f"{csv_file}:2: {message}"
    assert str(from_json.value) == f"{json_file}:1: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'timestamp,symbol,headline\n2021-05-01T01:00Z,E,ok\n2021-05-01T02:00Z,E,"open\n',
            "h.csv:3: the quote opened in this row is never closed (unexpected end of data); "
            'close it, or double a quote inside a quoted field ("")',
        ),
        (
            'timestamp,symbol,headline\n2021-05-01T01:00Z,E,"a"b\n',
            "h.csv:2: malformed quoting (',' expected after '\"'); quote the whole field and "
            'double a quote inside it ("")',
        ),
        (
            "timestamp,symbol,headline\n2021-05-01T01:00Z,E,x\n2021-05-01T02:00Z,E,x,extra\n",
            "h.csv:3: 4 fields but the header names 3; quote a field that holds a comma",
        ),
    ],
)
def test_malformed_csv_rows_are_refused_naming_the_row(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, "h.csv", text.encode())
    with pytest.raises(DataError) as caught:
        load_news(path)
    assert str(caught.value) == f"{tmp_path}/{message}"


def test_a_quoted_field_over_two_lines_is_read_and_later_rows_keep_their_line_numbers(
    tmp_path: Path,
) -> None:
    text = 'timestamp,symbol,headline\n2021-05-01T01:00Z,E,"two\nlines"\n\n2021-05-01T02:00Z,E,y\n'
    headlines = load_news(write(tmp_path, "h.csv", text.encode()))
    assert [(h.text, h.headline_id) for h in headlines] == [
        ("two\nlines", "h.csv:2"),
        ("y", "h.csv:5"),
    ]


def test_a_repeated_id_is_refused_naming_the_id_and_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.csv",
        b"timestamp,symbol,headline,id\n"
        b"2021-05-01T04:00:00,ETH/USDT,naive 04:00,h5\n"
        b"2021-05-01T01:00:00,ETH/USDT,other,h4\n"
        b"2021-05-01T04:00:00,ETH/USDT,naive 04:00 dup,h5\n"
        b"2021-05-01T04:00:00,ETH/USDT,naive 04:00 dup,h5\n",
    )
    with pytest.raises(DataError) as caught:
        load_news(path)
    assert str(caught.value) == (
        f"headline id 'h5' of ETH/USDT appears 3 times: {path} rows 2, 4, 5; a headline is "
        "delivered once, so keep one row per id (and symbol)"
    )


def test_one_id_for_several_symbols_is_one_story_per_symbol_not_a_repeat(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "h.csv",
        b"timestamp,symbol,headline,id\n"
        b"2021-05-01T01:00Z,ETH/USDT,both up,s1\n"
        b"2021-05-01T01:00Z,BTC/USDT,both up,s1\n",
    )
    assert [(h.symbol, h.headline_id) for h in load_news(path)] == [
        ("ETH/USDT", "s1"),
        ("BTC/USDT", "s1"),
    ]


def test_without_ids_the_same_time_symbol_and_text_is_a_repeat(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.jsonl",
        b'{"timestamp": "2021-05-01T01:00Z", "symbol": "E", "headline": "up"}\n'
        b'{"timestamp": "2021-05-01T01:00Z", "symbol": "E", "headline": "down"}\n'
        b'{"timestamp": 1619830800000, "symbol": "E", "headline": " up "}\n',
    )
    with pytest.raises(DataError) as caught:
        load_news(path)
    assert str(caught.value) == (
        "headline 'up' of E at 2021-05-01T01:00:00Z appears 2 times: "
        f"{path} rows 1, 3; a headline is delivered once, so keep one row"
    )


def test_a_repeat_of_a_symbol_not_kept_does_not_stop_the_symbols_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.csv",
        b"timestamp,symbol,headline,id\n"
        b"2021-05-01T01:00Z,ETH/USDT,kept,a\n"
        b"2021-05-01T01:00Z,BTC/USDT,not read,b\n"
        b"2021-05-01T01:00Z,BTC/USDT,not read,b\n",
    )
    assert [h.headline_id for h in load_news(path, ["ETH/USDT"])] == ["a"]


def test_a_followed_jsonl_file_with_a_byte_order_mark_reads_its_first_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "h.jsonl",
        b'\xef\xbb\xbf{"timestamp": "2021-05-01T01:00Z", "symbol": "E", "headline": "x"}\n',
    )
    assert [(h.text, h.headline_id) for h in JsonlTailer(path).poll()] == [("x", "h.jsonl:1")]


def test_a_float_timestamp_from_any_reader_says_it_is_a_decimal_number() -> None:
    # a reader that parses JSON numbers itself (a training file) hands over a float
    with pytest.raises(DataError) as caught:
        headline_timestamp(1619838000000.0, "f.jsonl:1")
    assert str(caught.value) == (
        "f.jsonl:1: timestamp '1619838000000.0' is a decimal number; epoch milliseconds are "
        "whole numbers: write 1619838000000, or ISO-8601"
    )


def test_a_blank_id_is_no_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.csv",
        b"timestamp,symbol,headline,id\n2021-05-01T01:00Z,E,up,  \n2021-05-01T02:00Z,E,down, \n",
    )
    assert [h.headline_id for h in load_news(path)] == ["h.csv:2", "h.csv:3"]
