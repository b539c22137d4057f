"""Timeframe and timestamp text conversions."""

from __future__ import annotations

import pytest

from engine.errors import DataError
from engine.feeds import format_timeframe, format_timestamp, parse_timeframe, parse_timestamp
from engine.feeds.timeframe import format_duration

MINUTE = 60 * 10**9
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("30s", 30 * 10**9),
        ("1m", MINUTE),
        ("5m", 5 * MINUTE),
        ("1h", HOUR),
        ("4h", 4 * HOUR),
        ("1d", DAY),
        ("1w", 7 * DAY),
        ("1H", HOUR),
        (" 15m ", 15 * MINUTE),
        ("250ms", 250 * 10**6),
    ],
)
def test_parse_timeframe(text: str, ns: int) -> None:
    assert parse_timeframe(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1M", "months"),
        ("0h", "longer than zero"),
        ("1y", "unknown unit 'y'"),
        ("h", "number followed by a unit"),
        ("1.5h", "number followed by a unit"),
        ("", "number followed by a unit"),
    ],
)
def test_parse_timeframe_rejects(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_timeframe(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (MINUTE, "1m"),
        (90 * MINUTE, "90m"),
        (4 * HOUR, "4h"),
        (DAY, "1d"),
        (14 * DAY, "2w"),
        (30 * 10**9, "30s"),
        (1500, "1500ns"),
    ],
)
def test_format_timeframe_round_trips(ns: int, text: str) -> None:
    assert format_timeframe(ns) == text
    if not text.endswith("ns"):
        assert parse_timeframe(text) == ns


def test_format_duration() -> None:
    assert format_duration(3 * HOUR) == "3h"
    assert format_duration(DAY + 3 * HOUR + 30 * 10**9) == "1d 3h 30s"


def test_timestamps_are_utc_iso() -> None:
    assert format_timestamp(1_609_459_200 * 10**9) == "2021-01-01T00:00:00Z"
    assert format_timestamp(1_609_459_200 * 10**9 + 500) == "2021-01-01T00:00:00.000000500Z"
    assert parse_timestamp("2021-01-01") == 1_609_459_200 * 10**9
    assert parse_timestamp("2021-01-01T02:00:00+02:00") == 1_609_459_200 * 10**9
    assert parse_timestamp("2021-01-01T00:00:00Z") == 1_609_459_200 * 10**9


def test_parse_timestamp_rejects_garbage() -> None:
    with pytest.raises(DataError, match="The start 'soon' is not an ISO-8601"):
        parse_timestamp("soon", what="start")


@pytest.mark.parametrize(
    "text", ["01/02/2021", "13/02/2021", "Feb 1 2021", "now", "today", "2021/01/02", "20210102"]
)
def test_parse_timestamp_refuses_what_is_not_iso_8601(text: str) -> None:
    """pandas guessed: '01/02/2021' was 2 January (month first), '13/02/2021' 13 February
    (day first), 'now' the clock's time: a silently different window (an audit)."""
    with pytest.raises(DataError, match="is not an ISO-8601"):
        parse_timestamp(text, what="start")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2021-01-01 02:00:00+02:00", 1_609_459_200),  # str() of a TOML date-time
        ("2021-01-01T04:00", 1_609_473_600),
        ("2021-01-01T00:00:00.5Z", 1_609_459_200.5),
        ("2021-01-01T01:00:00+0100", 1_609_459_200),
        (" 2021-01-01 ", 1_609_459_200),
    ],
)
def test_parse_timestamp_takes_the_iso_forms(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == round(seconds * 10**9)


@pytest.mark.parametrize("text", ["2999-01-01", "1500-06-01T00:00", "9999-12-31T23:59:59Z"])
def test_parse_timestamp_refuses_a_time_nanoseconds_cannot_hold(text: str) -> None:
    """pandas' ns range is 1677-09-21 to 2262-04-11: '2999-01-01' was "internal error
    OutOfBoundsDatetime", exit 70 (a config's start, ``runs list --since``)."""
    with pytest.raises(DataError, match="outside 1677-09-22 to 2262-04-11"):
        parse_timestamp(text, what="--since")
