"""The merged headline stream of a run: repeats across news tables, near-miss symbols.

A headline listed twice (the same file in two news tables, or one id in two files) is
refused in one line naming the id, the files and rows; a symbol spelled near a run's
symbol (``ETHUSDT``, ``eth/usdt``) is not delivered and each spelling is named in one
warning line with its row count and "did you mean".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import RunConfig, parse_config
from engine.errors import ConfigError, DataError
from engine.feeds.headline_source import JsonlTailer, open_headline_source
from engine.runtime.news import load_run_news, news_files

NEWS = (
    "timestamp,symbol,headline,id\n"
    "2021-05-01T01:00Z,ETH/USDT,a,h1\n"
    "2021-05-01T02:00Z,ETH/USDT,b,h2\n"
)


def run_config(files: list[Path], symbols: tuple[str, ...] = ("ETH/USDT",)) -> RunConfig:
    return parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"symbol": s} for s in symbols]
            + [{"kind": "news", "path": str(file)} for file in files],
            "strategy": {"path": "x:Recorder"},
        }
    )


def test_the_same_file_in_two_news_tables_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text(NEWS)
    config = run_config([path, tmp_path / "." / "news.csv"])
    for read in (load_run_news, news_files):
        with pytest.raises(ConfigError) as caught:
            read(config)
        assert str(caught.value) == (
            f"[[data]] kind = 'news' path {str(tmp_path / '.' / 'news.csv')!r} is the file of "
            "another news table too, for the same symbols (ETH/USDT): its headlines would be "
            "delivered twice; list the file once"
        )


def test_one_file_in_two_news_tables_for_other_symbols_is_read_once_each(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.csv"
    path.write_text(NEWS + "2021-05-01T01:30Z,BTC/USDT,c,h3\n")
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [
                {"symbol": "ETH/USDT"},
                {"symbol": "BTC/USDT"},
                {"kind": "news", "path": str(path), "symbols": ["ETH/USDT"]},
                {"kind": "news", "path": str(path), "symbols": ["BTC/USDT"]},
            ],
            "strategy": {"path": "x:Recorder"},
        }
    )
    assert [h.headline_id for h in load_run_news(config)] == ["h1", "h3", "h2"]


def test_one_id_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(NEWS)
    second.write_text("timestamp,symbol,headline,id\n2021-05-01T03:00Z,ETH/USDT,c,h2\n")
    with pytest.raises(DataError) as caught:
        load_run_news(run_config([first, second]))
    assert str(caught.value) == (
        f"headline id 'h2' of ETH/USDT appears 2 times: {first} row 3 and {second} row 2; a "
        "headline is delivered once, so keep one row per id (and symbol)"
    )


def test_two_files_with_distinct_headlines_are_merged_in_time_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(NEWS)
    second.write_text("timestamp,symbol,headline,id\n2021-05-01T01:30Z,ETH/USDT,c,h3\n")
    assert [h.headline_id for h in load_run_news(run_config([first, second]))] == [
        "h1",
        "h3",
        "h2",
    ]


MIXED = (
    "timestamp,symbol,headline\n"
    "2021-05-01T01:00Z,ETH/USDT,a\n"
    "2021-05-01T02:00Z,ETHUSDT,b\n"
    "2021-05-01T03:00Z, ETH/USDT ,c\n"
    "2021-05-01T04:00Z,eth/usdt,d\n"
    "2021-05-01T05:00Z,ETHUSDT,e\n"
    "2021-05-01T06:00Z,BTC/USDT,f\n"
)


def test_near_miss_symbols_are_named_one_line_per_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "news.csv"
    path.write_text(MIXED)
    assert [h.text for h in load_run_news(run_config([path]))] == ["a", "c"]
    assert capsys.readouterr().err.splitlines() == [
        f"warning: {path}: 2 headlines have symbol 'ETHUSDT', not delivered: did you mean "
        "ETH/USDT? (a symbol must be spelled as in its [[data]] table)",
        f"warning: {path}: 1 headline has symbol 'eth/usdt', not delivered: did you mean "
        "ETH/USDT? (a symbol must be spelled as in its [[data]] table)",
    ]


def test_headlines_of_other_symbols_warn_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "news.csv"
    path.write_text(NEWS + "2021-05-01T06:00Z,BTC/USDT,f,h9\n")
    assert [h.text for h in load_run_news(run_config([path]))] == ["a", "b"]
    assert capsys.readouterr().err == ""


def test_paper_sources_name_near_miss_symbols_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "news.csv"
    csv_file.write_text(MIXED)
    source = open_headline_source(csv_file, symbols=["ETH/USDT"])
    assert [h.text for h in source.poll()] == ["a", "c"]
    jsonl = tmp_path / "news.jsonl"
    jsonl.write_text(
        '{"timestamp": "2021-05-01T01:00Z", "symbol": "ETHUSDT", "headline": "x"}\n'
        '{"timestamp": "2021-05-01T02:00Z", "symbol": "ETH/USDT", "headline": "y"}\n'
    )
    tailer = JsonlTailer(jsonl, symbols=["ETH/USDT"])
    assert [h.text for h in tailer.poll()] == ["y"]
    with jsonl.open("a") as handle:  # the same spelling again: said once, not per line
        handle.write('{"timestamp": "2021-05-01T03:00Z", "symbol": "ETHUSDT", "headline": "z"}\n')
    assert tailer.poll() == []
    assert capsys.readouterr().err.splitlines() == [
        f"warning: {csv_file}: 2 headlines have symbol 'ETHUSDT', not delivered: did you mean "
        "ETH/USDT? (a symbol must be spelled as in its [[data]] table)",
        f"warning: {csv_file}: 1 headline has symbol 'eth/usdt', not delivered: did you mean "
        "ETH/USDT? (a symbol must be spelled as in its [[data]] table)",
        f"warning: {jsonl}:1: a headline has symbol 'ETHUSDT', not delivered: did you mean "
        "ETH/USDT? (a symbol must be spelled as in its [[data]] table; said once per spelling)",
    ]


def test_a_followed_file_delivers_a_repeated_headline_once_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "news.jsonl"
    first = '{"timestamp": "2021-05-01T01:00Z", "symbol": "E", "headline": "a", "id": "n1"}\n'
    path.write_text(first)
    tailer = JsonlTailer(path, symbols=["E"])
    assert [h.headline_id for h in tailer.poll()] == ["n1"]
    with path.open("a") as handle:  # a crawler appends the same story again, then a new one
        handle.write(first.replace('"a"', '"a, updated"'))
        handle.write('{"timestamp": "2021-05-01T02:00Z", "symbol": "E", "headline": "b"}\n')
    assert [h.headline_id for h in tailer.poll()] == ["news.jsonl:3"]
    # a restart from the position after line 1 still knows line 1's headline
    again = JsonlTailer(path, start=len(first), line=1, symbols=["E"])
    assert [h.headline_id for h in again.poll()] == ["news.jsonl:3"]
    message = (
        f"warning: {path}:2: headline id 'n1' of E was read before (line 1); not delivered "
        "again (a repeated line in a followed file is skipped)"
    )
    assert capsys.readouterr().err.splitlines() == [message, message]
