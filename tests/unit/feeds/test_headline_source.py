"""Headline sources for paper/live: an in-memory fake and a tailer of a growing JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import DataError
from engine.feeds.headline_source import (
    HeadlineSource,
    JsonlTailer,
    ListHeadlineSource,
    open_headline_source,
)
from engine.model import NewsHeadline

T = 1_606_791_600_000_000_000  # 2020-12-01T03:00:00Z


def line(ident: str, symbol: str = "BTC/USDT", ms: int = T // 10**6) -> str:
    record = {"timestamp": ms, "symbol": symbol, "headline": f"text {ident}", "id": ident}
    return json.dumps(record) + "\n"


def ids(headlines: list[NewsHeadline]) -> list[str]:
    return [h.headline_id for h in headlines]


def test_the_list_source_hands_each_headline_out_once_and_resumes_by_count() -> None:
    first = NewsHeadline("A", 1, 1, "x", "s", "1")
    second = NewsHeadline("A", 2, 2, "y", "s", "2")
    source: HeadlineSource = ListHeadlineSource([first])
    assert source.poll() == [first]
    assert source.poll() == []
    assert isinstance(source, ListHeadlineSource)
    source.extend([second])
    assert source.poll() == [second]
    assert source.position == 2
    assert ListHeadlineSource([first, second], start=1).poll() == [second]


def test_the_tailer_reads_whole_lines_as_the_file_grows(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(line("a") + "\n" + line("b", symbol="ETH/USDT"))
    tailer = JsonlTailer(path, symbols=["BTC/USDT"], now_ns=lambda: 42)
    got = tailer.poll()
    assert got == [NewsHeadline("BTC/USDT", T, 42, "text a", "n.jsonl", "a")]
    assert tailer.position == path.stat().st_size
    assert tailer.line == 3
    assert tailer.poll() == []
    half = line("c")[:20]
    with path.open("a") as handle:
        handle.write(half)  # a line still being written is left for later
    assert tailer.poll() == []
    assert tailer.position == path.stat().st_size - len(half)
    with path.open("a") as handle:
        handle.write(line("c")[20:])
    assert ids(tailer.poll()) == ["c"]
    assert tailer.line == 4


def test_a_tailer_reopened_at_a_position_goes_on_from_there(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(line("a") + line("b"))
    start = len(line("a"))
    resumed = JsonlTailer(path, start=start, line=1)
    headline = resumed.poll()[0]
    assert (headline.headline_id, resumed.line) == ("b", 2)


def test_default_ids_count_lines_across_a_resume(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    record = {"timestamp": "2020-12-01T03:00:00Z", "symbol": "A", "headline": "x"}
    # two headlines of the same length, so that the second starts at half the size
    path.write_text(json.dumps(record) + "\n" + json.dumps(record | {"headline": "y"}) + "\n")
    resumed = JsonlTailer(path, start=path.stat().st_size // 2, line=1)
    assert ids(resumed.poll()) == ["n.jsonl:2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"timestamp": 1606791600000, "symbol": "A", "headline": ""}\n',
            "n.jsonl:1: empty headline",
        ),
        ("not json\n", "n.jsonl:1: not JSON"),
        (b"\xff\n", "n.jsonl:1: not UTF-8 text"),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(
    tmp_path: Path, text: str | bytes, message: str
) -> None:
    path = tmp_path / "n.jsonl"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError, match=message):
        JsonlTailer(path).poll()


def test_a_file_that_shrank_or_vanished_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(line("a"))
    tailer = JsonlTailer(path)
    tailer.poll()
    path.write_text("")
    with pytest.raises(DataError, match="shrank to 0 bytes, below the"):
        tailer.poll()
    path.unlink()
    with pytest.raises(DataError, match="does not exist"):
        tailer.poll()


def test_csv_files_are_read_whole_and_jsonl_files_followed(tmp_path: Path) -> None:
    csv = tmp_path / "n.csv"
    csv.write_text("timestamp,symbol,headline\n2020-12-01T04:00:00Z,A,later\n2020-12-01,A,x\n")
    source = open_headline_source(csv, start=1)
    assert isinstance(source, ListHeadlineSource)
    assert [h.text for h in source.poll()] == ["later"]  # sorted: the first was skipped
    jsonl = tmp_path / "n.jsonl"
    jsonl.write_text(line("a"))
    assert isinstance(open_headline_source(jsonl), JsonlTailer)
