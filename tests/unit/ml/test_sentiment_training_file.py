"""A TF-IDF training file is read as a news file is (`engine.feeds.headlines`), plus ``label``.

The training reader had its own CSV/JSONL parser: a UTF-8 byte-order mark stopped it
("missing column(s) ['timestamp']"), an unterminated quote or an extra CSV field was read
silently, a JSON key named twice kept its last value and repeated rows trained twice. Each
case here is the news reader's one line naming file and row, or the values read.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.errors import DataError
from engine.ml.sentiment import load_headlines

BOM = "\ufeff"
HEADER = "timestamp,symbol,headline,label\n"


def _error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_headlines(path)
    return str(info.value)


def test_a_byte_order_mark_is_skipped_in_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "bom.csv"
    csv_file.write_text(
        BOM + HEADER + "2020-11-01T00:00:00Z,BTC/USDT,plunge,0\n1604196000000,BTC/USDT,rally,1\n",
        encoding="utf-8",
    )
    rows = load_headlines(csv_file)
    assert [(h.ts_ns, h.symbol, h.text, h.label) for h in rows] == [
        (1604188800 * 10**9, "BTC/USDT", "plunge", 0.0),
        (1604196000 * 10**9, "BTC/USDT", "rally", 1.0),
    ]
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_text(
        BOM + '{"timestamp": 1604196000000, "symbol": "BTC", "headline": "up", "label": 1}\n',
        encoding="utf-8",
    )
    (row,) = load_headlines(jsonl)
    assert (row.ts_ns, row.symbol, row.text, row.label) == (1604196000 * 10**9, "BTC", "up", 1.0)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "quote.csv",
            HEADER + '2020-11-01T00:00:00Z,BTC,fine,1\n2020-11-01T01:00:00Z,BTC,"open,0\n',
            "quote.csv:3: the quote opened in this row is never closed",
        ),
        (
            "extra.csv",
            HEADER + "2020-11-01T00:00:00Z,BTC,x,1,extra\n",
            "extra.csv:2: 5 fields but the header names 4; quote a field that holds a comma",
        ),
        (
            "stray.csv",
            HEADER + '2020-11-01T00:00:00Z,BTC,"quoted" word,1\n',
            "stray.csv:2: malformed quoting",
        ),
        (
            "twice.jsonl",
            '{"timestamp": 1604196000000, "symbol": "B", "headline": "x", "label": 1, '
            '"label": 0}\n',
            "twice.jsonl:1: the key 'label' appears twice; keep one",
        ),
        (
            "labels.csv",
            "timestamp,symbol,headline,label,label\n2020-11-01T00:00:00Z,BTC,x,1,0\n",
            "labels.csv: several columns are named label; keep exactly one",
        ),
        (
            "decimal.csv",
            HEADER + "1604196000000.0,BTC,x,1\n",
            "decimal.csv:2: timestamp '1604196000000.0' is a decimal number; epoch "
            "milliseconds are whole numbers: write 1604196000000, or ISO-8601",
        ),
        (
            "decimal.jsonl",
            '{"timestamp": 1604196000000.0, "symbol": "B", "headline": "x", "label": 1}\n',
            "decimal.jsonl:1: timestamp '1604196000000.0' is a decimal number; epoch "
            "milliseconds are whole numbers: write 1604196000000, or ISO-8601",
        ),
        (
            "nolabel.jsonl",
            '{"timestamp": 1604196000000, "symbol": "B", "headline": "x", "label": "up"}\n',
            "nolabel.jsonl:1: label must be 1 (positive) or 0 (negative), got 'up'",
        ),
        (
            "later.csv",
            HEADER + '2020-11-01T00:00:00Z,BTC,"two\nlines",1\n2020-11-01T01:00:00Z,BTC,x,2\n',
            "later.csv:4: label must be 1 (positive) or 0 (negative), got '2'",
        ),
    ],
)
def test_malformed_rows_are_one_line_naming_file_and_row(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    error = _error(tmp_path / name)
    assert error.startswith(str(tmp_path))  # the whole path, then ":row: ..."
    assert message in error
    assert "\n" not in error


def test_a_repeated_row_with_the_same_label_is_refused_naming_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(
        HEADER
        + "2020-11-01T00:00:00Z,BTC,rally,1\n"
        + "2020-11-01T01:00:00Z,BTC,slide,0\n"
        + "2020-11-01T00:00:00Z,BTC,rally,1\n"
    )
    assert _error(path) == (
        "headline 'rally' of BTC at 2020-11-01T00:00:00Z appears 2 times: "
        f"{path} rows 2, 4; a headline is delivered once, so keep one row"
    )


def test_a_repeated_row_with_different_labels_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "contradicts.jsonl"
    path.write_text(
        '{"timestamp": 1604196000000, "symbol": "BTC", "headline": "flat day", "label": 1}\n'
        '{"timestamp": 1604196000000, "symbol": "ETH", "headline": "flat day", "label": 0}\n'
        "\n"
        '{"timestamp": 1604196000000, "symbol": "BTC", "headline": "flat day", "label": 0}\n'
    )
    assert _error(path) == (
        "headline 'flat day' of BTC at 2020-11-01T02:00:00Z is labelled 1 at "
        f"{path}:1 and 0 at {path}:4; a headline has one label, keep the right row"
    )


def test_an_unlabelled_row_stays_unlabelled_and_the_order_is_by_time(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER + "2020-11-01T02:00:00Z,BTC,later,1\n\n2020-11-01T00:00:00Z,BTC,earlier,\n"
    )
    rows = load_headlines(path)
    assert [h.text for h in rows] == ["earlier", "later"]
    assert math.isnan(rows[0].label)
    assert rows[1].label == 1.0
