"""Headline files (`engine.feeds.headlines`) and their ``[[data]] kind = "news"`` tables."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from engine.config import dump_config, parse_config
from engine.errors import ConfigError, DataError
from engine.feeds.headlines import load_news
from engine.feeds.news_config import NewsSourceConfig
from engine.model import NewsHeadline

T = 1_606_791_600_000_000_000  # 2020-12-01T03:00:00Z


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_csv_is_read_sorted_by_time_stably_with_ids_from_file_and_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "h.csv",
        "timestamp,symbol,headline,label\n"
        "2020-12-01T04:00:00Z,BTC/USDT,later,1\n"
        "2020-12-01T03:00:00Z,BTC/USDT,first of a tie,\n"
        "1606791600000,ETH/USDT,second of a tie (epoch ms),0\n",
    )
    assert load_news(path) == [
        NewsHeadline("BTC/USDT", T, T, "first of a tie", "h.csv", "h.csv:3"),
        NewsHeadline("ETH/USDT", T, T, "second of a tie (epoch ms)", "h.csv", "h.csv:4"),
        NewsHeadline("BTC/USDT", T + 3_600 * 10**9, T + 3_600 * 10**9, "later", "h.csv", "h.csv:2"),
    ]
    assert [h.text for h in load_news(path, ["ETH/USDT"])] == ["second of a tie (epoch ms)"]


def test_a_jsonl_file_keeps_its_own_ids_and_sources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "h.jsonl",
        '{"timestamp": "2020-12-01T05:00:00+02:00", "symbol": "BTC/USDT", '
        '"headline": " Bank buys ", "id": "n-7", "source": "wire"}\n'
        "\n"
        '{"timestamp": 1606791600000, "symbol": "BTC/USDT", "headline": "plain"}\n',
    )
    assert load_news(path) == [
        NewsHeadline("BTC/USDT", T, T, "Bank buys", "wire", "n-7"),
        NewsHeadline("BTC/USDT", T, T, "plain", "h.jsonl", "h.jsonl:3"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "h.csv",
            "timestamp,headline\n",
            "missing column(s) symbol; need timestamp, symbol, headline",
        ),
        (
            "h.csv",
            "timestamp,symbol,headline\nyesterday,A,x\n",
            "h.csv:2: timestamp 'yesterday' is neither ISO-8601 nor integer epoch milliseconds",
        ),
        ("h.csv", "timestamp,symbol,headline\n,A,x\n", "h.csv:2: empty timestamp"),
        ("h.csv", "timestamp,symbol,headline\n2020-12-01,A,  \n", "h.csv:2: empty headline"),
        ("h.csv", "timestamp,symbol,headline\n2020-12-01,A,NaN\n", "h.csv:2: empty headline"),
        ("h.csv", "timestamp,symbol,headline\n2020-12-01,,x\n", "h.csv:2: empty symbol"),
        (
            "h.jsonl",
            '{"timestamp": 1606791600000, "symbol": "A", "headline": null}\n',
            "h.jsonl:1: empty headline",
        ),
        (
            "h.jsonl",
            '{"timestamp": 1606791600000, "symbol": "A", "headline": NaN}\n',
            "h.jsonl:1: empty headline",
        ),
        (
            "h.jsonl",
            '{"timestamp": 1.5, "symbol": "A", "headline": "x"}\n',
            "h.jsonl:1: timestamp '1.5' is a decimal number; epoch milliseconds are whole",
        ),
        (
            "h.jsonl",
            '{"timestamp": 1606791600000, "symbol": "A"}\n',
            "h.jsonl:1: missing headline",
        ),
        ("h.jsonl", "{oops\n", "h.jsonl:1: not JSON"),
        ("h.jsonl", "[1]\n", "h.jsonl:1: expected a JSON object per line"),
        ("h.txt", "x\n", "expected a .csv or .jsonl file"),
    ],
)
def test_bad_files_are_refused_in_one_line_naming_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(DataError) as caught:
        load_news(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # ISO-8601 basic / compact dates: as epoch ms they were 1970 and 1976, delivered at
        # a backtest's first bar, days early (an audit)
        ("20201203", "timestamp '20201203' reads as a compact date, not epoch milliseconds; "
         "write it as ISO-8601: 2020-12-03"),
        ("202012031030", "timestamp '202012031030' reads as a compact date, not epoch "
         "milliseconds; write it as ISO-8601: 2020-12-03T10:30"),
        ("20201203103000", "write it as ISO-8601: 2020-12-03T10:30:00"),
        # epoch ms before 2001-09-09 (fewer than 13 digits): no headline file's time
        ("5", "timestamp '5' is not plausible epoch milliseconds (1970-01-01T00:00:00.005Z, "
         "before 2001-09-09); write 13-digit epoch milliseconds or ISO-8601"),
        ("999999999999", "timestamp '999999999999' is not plausible epoch milliseconds"),
        ("-5", "timestamp '-5' is not plausible epoch milliseconds"),
        # outside the nanosecond range: OverflowError, "internal error", exit 70 (an audit)
        ("9999-12-31T00:00:00Z", "timestamp '9999-12-31T00:00:00Z' is out of range "
         "(1677-09-21 to 2262-04-11)"),
        ("0001-01-01", "timestamp '0001-01-01' is out of range"),
        ("2300-01-01", "timestamp '2300-01-01' is out of range"),
        ("9999999999999", "timestamp '9999999999999' is out of range"),
    ],
)  # fmt: skip
def test_timestamps_that_cannot_be_the_time_meant_are_refused(
    tmp_path: Path, raw: str, message: str
) -> None:
    path = write(tmp_path, "h.csv", f"timestamp,symbol,headline\n{raw},A,x\n")
    with pytest.raises(DataError) as caught:
        load_news(path)
    assert str(caught.value).startswith(f"{path}:2: timestamp '{raw}' ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    if raw.lstrip("-").isdigit():  # a JSON number is the same value: the same rule
        line = f'{{"timestamp": {int(raw)}, "symbol": "A", "headline": "x"}}\n'
        with pytest.raises(DataError) as as_number:
            load_news(write(tmp_path, "h.jsonl", line))
        assert message.split(";")[0].replace(f"'{raw}'", raw) in str(as_number.value)


def test_thirteen_digit_epoch_milliseconds_from_2001_on_are_read() -> None:
    from engine.feeds.headlines import headline_timestamp

    assert headline_timestamp("1000000000000", "x") == 10**12 * 10**6  # 2001-09-09T01:46:40Z
    assert headline_timestamp(9_223_372_036_854, "x") == 9_223_372_036_854 * 10**6  # 2262-04-11


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"headline file .*nope.csv' does not exist"):
        load_news(tmp_path / "nope.csv")


BASE = {
    "data": [{"path": "bars.csv", "symbol": "BTC/USDT"}],
    "strategy": {"path": "x:Y"},
}


def with_news(**table: object) -> dict[str, object]:
    return {**BASE, "data": [*BASE["data"], {"kind": "news", **table}]}  # type: ignore[list-item]


def test_a_news_table_becomes_run_config_news_and_dumps_back_the_same() -> None:
    config = parse_config(with_news(path="h.csv", symbols=["BTC/USDT"]))
    assert config.news == [NewsSourceConfig("h.csv", ["BTC/USDT"])]
    assert config.symbols == ["BTC/USDT"]
    dumped = dump_config(config)
    assert dumped["data"][1] == {"path": "h.csv", "symbols": ["BTC/USDT"], "kind": "news"}
    assert parse_config(dumped) == config
    tomli_w.dumps(dumped)  # writable as the run's config.toml
    assert "news" not in dump_config(parse_config(BASE))
    assert len(dump_config(parse_config(BASE))["data"]) == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            with_news(path="h.csv", symbol="BTC/USDT"),
            "unknown key 'data.1.symbol' (did you mean 'symbols'?)",
        ),
        (
            with_news(path="h.csv", symbols=["ETH/USDT"]),
            "keeps symbol 'ETH/USDT', which has no bar [[data]] source",
        ),
        (with_news(path=""), "a kind = 'news' table needs a path"),
        (
            {**BASE, "news": {"path": "h.csv"}},
            'a headline file is a [[data]] table with kind = "news"',
        ),
    ],
)
def test_bad_news_tables_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert message in str(caught.value)
