"""Headline files: timestamped news per symbol, read into `NewsHeadline` events.

In: a ``.csv`` (header row) or ``.jsonl`` (one JSON object per line) file with the
columns/keys ``timestamp``, ``symbol``, ``headline`` and optionally ``id`` and ``source``
(other columns, e.g. a training ``label``, are ignored). Out: `NewsHeadline` values in
time order.

Validation (each failure is one `DataError` naming the file and line): a missing file or
column, a CSV column named twice, a CSV row with more fields than the header or with a
quote never closed (or malformed quoting), a line that is not a JSON object, an empty or
NaN headline or symbol, a timestamp that is neither ISO-8601 (UTC when naive) nor integer
milliseconds since the epoch, or outside 1677-09-21 to 2262-04-11 (nanoseconds in an
int64). Epoch milliseconds have 13 digits (2001-09-09 on); a shorter integer is refused,
not read as a 1970s time: 10-11 digits as epoch seconds, 8, 12 or 14 digits that read as
a date (``20201203``, ``202012031030``: ISO-8601 basic, compact) with the ISO-8601 form
to write instead (``2020-12-03``, ``2020-12-03T10:30``), any other as implausible. A
decimal number (``1619838000000.0``, ``1.6e12``; CSV text or a JSON number alike) is
refused with the whole number to write: a fraction of a millisecond is no headline's
time, and the same message in both formats. A UTF-8 byte-order mark (Excel's "CSV UTF-8")
is skipped, as in a bar file.

Repeats (`refuse_repeats`): a headline is delivered once, so the same headline twice in
the stream a run reads — the same ``id`` for the same symbol, or, for rows without an
``id``, the same time, symbol and text — is refused in one line naming it and its rows
(and files), like a bar file's repeated timestamp: which copy is meant (an edited text?
a file listed in two news tables?) is the user's to say, and delivering both would count
one story twice. One ``id`` on rows of different symbols is one story tagged with several
symbols (a feed flattened to one row per symbol), not a repeat. Only the rows of the
symbols kept are checked: a repeat the run never reads does not stop it.

Order: rows need not be sorted — crawled feeds often are not, and delivery depends only on
each headline's own timestamp (`engine.runtime.news`) — so they are sorted by timestamp,
stably: headlines with equal timestamps keep their file order. That makes the result the
same for the same file, byte for byte.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from engine.errors import DataError, warn
from engine.feeds.headline_symbols import near_miss, near_miss_warning
from engine.feeds.timeframe import format_timestamp
from engine.model import NewsHeadline

__all__ = [
    "COLUMNS",
    "HeadlineRow",
    "headline_from_record",
    "headline_key",
    "headline_name",
    "headline_timestamp",
    "keep_symbols",
    "load_news",
    "own_id",
    "parse_json_line",
    "read_news",
    "refuse_repeats",
]

COLUMNS = ("timestamp", "symbol", "headline")
# Integers in [1e9, 1e11) are epoch seconds of 2001-5138, but as the milliseconds headline
# files hold they are 1970-01-12 to 1973-03-03: no headline's time; refused, not misread.
_SECONDS_LOW, _SECONDS_HIGH = 10**9, 10**11
# Epoch milliseconds have 13 digits from 2001-09-09T01:46:40Z on. Fewer digits read as ms
# are 1970-2001: no time of a news file fed to a trading engine, but a compact date
# (``20201203`` as ms is 1970-01-01T05:36:41Z, delivered at a backtest's first bar, days
# early) or a slip; refused with the ISO form to write instead.
_MS_LOW = 10**12
_COMPACT = {8: ("%Y%m%d", "%Y-%m-%d"), 12: ("%Y%m%d%H%M", "%Y-%m-%dT%H:%M"),
            14: ("%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S")}  # fmt: skip
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
_RANGE = "1677-09-21 to 2262-04-11"  # nanoseconds since the epoch in an int64
_READ = (*COLUMNS, "id", "source")  # the columns a CSV row is read from


def headline_timestamp(raw: Any, where: str) -> int:
    """Return a headline's publication time in ns since the epoch (UTC); see the module.

    ``where`` (``file:line``) starts every error message.

    Raises:
        DataError: Empty, not ISO-8601 nor an integer, an integer that is not plausible
            epoch milliseconds (epoch seconds, a compact date, before 2001-09-09), or a
            time outside 1677-09-21 to 2262-04-11.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == "":
        raise DataError(f"{where}: empty timestamp")
    try:
        if isinstance(raw, bool):
            raise TypeError
        if isinstance(raw, str) and _DECIMAL.match(raw.strip()):
            raise DataError(_decimal(raw.strip(), where))
        if isinstance(raw, float) and math.isfinite(raw):  # a reader that parsed JSON itself
            raise DataError(_decimal(repr(raw), where))
        if isinstance(raw, int) or (isinstance(raw, str) and _INTEGER.match(raw.strip())):
            stamp = pd.Timestamp(_milliseconds(raw, where), unit="ms", tz="UTC")
        elif isinstance(raw, str):
            stamp = pd.Timestamp(raw.strip())
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        else:
            raise TypeError
        if pd.isna(stamp):
            raise DataError(f"{where}: timestamp {raw!r} is not a time")
        return int(stamp.as_unit("ns").value)  # pandas 3 parses far dates at us resolution
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        raise DataError(f"{where}: timestamp {raw!r} is out of range ({_RANGE})") from None
    except (ValueError, TypeError):
        raise DataError(
            f"{where}: timestamp {raw!r} is neither ISO-8601 nor integer epoch milliseconds"
        ) from None


def _decimal(text: str, where: str) -> str:
    """Return the error for a decimal epoch (JSON numbers reach here as their own text)."""
    try:
        value = Decimal(text)
        whole = int(value) if value == value.to_integral_value() else None
    except (InvalidOperation, OverflowError, ValueError):
        whole = None
    fix = "whole epoch milliseconds" if whole is None else str(whole)
    return (
        f"{where}: timestamp {text!r} is a decimal number; epoch milliseconds are whole "
        f"numbers: write {fix}, or ISO-8601"
    )


def _milliseconds(raw: int | str, where: str) -> int:
    value = int(raw)
    digits = str(raw).strip()
    layout = _COMPACT.get(len(digits))  # never 13 digits: a plausible ms time is not one
    if layout is not None:
        try:
            day = datetime.strptime(digits, layout[0])
        except ValueError:
            pass
        else:
            raise DataError(
                f"{where}: timestamp {raw!r} reads as a compact date, not epoch milliseconds; "
                f"write it as ISO-8601: {day.strftime(layout[1])} (UTC when naive)"
            )
    if value >= _MS_LOW:
        return value  # 2262-04-12 on: out of range, said by the caller
    if _SECONDS_LOW <= value < _SECONDS_HIGH:
        raise DataError(
            f"{where}: timestamp {raw!r} looks like epoch seconds (as milliseconds it "
            "is in 1970-1973); write epoch milliseconds (seconds × 1000) or ISO-8601"
        )
    as_ms = pd.Timestamp(value, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    raise DataError(
        f"{where}: timestamp {raw!r} is not plausible epoch milliseconds ({as_ms}Z, before "
        "2001-09-09); write 13-digit epoch milliseconds or ISO-8601"
    )


def _text(raw: Any, name: str, where: str) -> str:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        raise DataError(f"{where}: empty {name}")
    text = str(raw).strip()
    if not text or text.lower() == "nan":
        raise DataError(f"{where}: empty {name}")
    return text


def headline_from_record(
    record: Mapping[str, Any],
    where: str,
    source: str,
    default_id: str,
    ts_init: int | None = None,
) -> NewsHeadline:
    """Return the `NewsHeadline` of one row/object; ``where`` names it in errors.

    ``source`` is used when the record has no ``source`` key and ``default_id`` when it
    has no ``id``; ``ts_init`` defaults to the publication time (a replayed file).

    Raises:
        DataError: A missing key, an empty headline or symbol, or a bad timestamp.
    """
    missing = [c for c in COLUMNS if c not in record]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}; need {', '.join(COLUMNS)}")
    ts = headline_timestamp(record["timestamp"], where)
    return NewsHeadline(
        symbol=_text(record["symbol"], "symbol", where),
        ts_event=ts,
        ts_init=ts if ts_init is None else ts_init,
        text=_text(record["headline"], "headline", where),
        source=_given(record, "source") or source,
        headline_id=own_id(record) or default_id,
    )


def own_id(record: Mapping[str, Any]) -> str | None:
    """Return the ``id`` a record gives, trimmed; None when it gives none (or a blank)."""
    return _given(record, "id")


def _given(record: Mapping[str, Any], key: str) -> str | None:
    raw = record.get(key)
    text = "" if raw is None else str(raw).strip()
    return text or None  # a blank id is no id: two blanks are not one headline


def parse_json_line(line: str, where: str) -> dict[str, Any]:
    """Return the JSON object of one ``.jsonl`` line, or raise a `DataError` naming it."""
    try:
        # parse_float=str: a decimal timestamp is refused quoting the file's own text.
        record = json.loads(line, object_pairs_hook=_object, parse_float=str)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: not JSON: {exc.msg}") from None
    except _RepeatedKeyError as exc:
        raise DataError(f"{where}: the key {exc.args[0]!r} appears twice; keep one") from None
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object per line")
    return record


class _RepeatedKeyError(Exception):
    """A JSON object names a key twice (json.loads would keep the last silently)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _RepeatedKeyError(key)
        record[key] = value
    return record


def _records(file: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    suffix = file.suffix.lower()
    try:
        if suffix == ".jsonl":
            # utf-8-sig: a byte-order mark would make line 1 "not JSON".
            with file.open(encoding="utf-8-sig") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        yield number, parse_json_line(line, f"{file}:{number}")
        elif suffix == ".csv":
            with file.open(newline="", encoding="utf-8-sig") as handle:
                yield from _csv_rows(file, csv.reader(handle, strict=True))
        else:
            raise DataError(f"headline file {str(file)!r}: expected a .csv or .jsonl file")
    except UnicodeDecodeError:
        raise DataError(f"headline file {str(file)!r}: not UTF-8 text") from None


def _csv_rows(file: Path, reader: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Yield (line the row starts on, row) of a CSV reader; the header is checked first.

    strict: a quote never closed would otherwise swallow the rest of the file into one
    field, and a stray quote would be read silently into the text.
    """
    names = _next_row(file, 1, reader) or []
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"{file}: missing column(s) {', '.join(missing)}; need {', '.join(COLUMNS)}"
        )
    repeated = next((c for c in _READ if names.count(c) > 1), None)
    if repeated is not None:  # a row would silently hold the last one's value
        raise DataError(f"{file}: several columns are named {repeated}; keep exactly one")
    end = reader.line_num
    while True:
        start = end + 1  # a quoted field may span lines: name the line the row starts on
        row = _next_row(file, start, reader)
        if row is None:
            return
        end = reader.line_num
        if not row:
            continue  # a blank line
        if len(row) > len(names):  # DictReader would hide the extra under a None key
            raise DataError(
                f"{file}:{start}: {len(row)} fields but the header names {len(names)}; "
                "quote a field that holds a comma"
            )
        yield start, dict(zip(names, row, strict=False))


def _next_row(file: Path, line: int, reader: Any) -> list[str] | None:
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        where = f"{file}:{line}"
        if "unexpected end of data" in str(exc):
            raise DataError(
                f"{where}: the quote opened in this row is never closed ({exc}); close it, "
                'or double a quote inside a quoted field ("")'
            ) from None
        if "NUL" in str(exc):
            raise DataError(f"{where}: holds a NUL byte; not a text headline file") from None
        raise DataError(
            f"{where}: malformed quoting ({exc}); quote the whole field and double a quote "
            'inside it ("")'
        ) from None
    return row


@dataclass(frozen=True)
class HeadlineRow:
    """A headline with where it was read: for messages that name the rows.

    Attributes:
        headline: The headline.
        file: The file it was read from.
        line: Its line (a CSV row's first line).
        own_id: The row gave its ``id`` (else the id is ``file name:line``).
    """

    headline: NewsHeadline
    file: Path
    line: int
    own_id: bool


def read_news(path: str | Path) -> list[HeadlineRow]:
    """Return every headline of a ``.csv`` or ``.jsonl`` file, in file order, with its row.

    Raises:
        DataError: Missing file or column, bad line, timestamp, empty text (see module).
    """
    file = Path(path)
    if file.is_dir():
        raise DataError(f"headline file {str(file)!r} is a folder, not a file; name the file")
    if not file.is_file():
        raise DataError(f"headline file {str(file)!r} does not exist")
    source = file.name
    rows = []
    for number, record in _records(file):
        headline = headline_from_record(record, f"{file}:{number}", source, f"{source}:{number}")
        rows.append(HeadlineRow(headline, file, number, own_id(record) is not None))
    return rows


def headline_key(headline: NewsHeadline, own_id: bool) -> tuple[object, ...]:
    """Return what makes two headlines the same one (see the module: "Repeats").

    ``own_id``: the row gave its ``id`` (else the id is made up of file and line).
    """
    if own_id:
        return ("id", headline.symbol, headline.headline_id)
    return ("text", headline.ts_event, headline.symbol, headline.text)


def headline_name(headline: NewsHeadline, own_id: bool) -> str:
    """Return how a message names a headline: by its id, else by its text and time."""
    if own_id:
        return f"headline id {headline.headline_id!r} of {headline.symbol}"
    return (
        f"headline {headline.text!r} of {headline.symbol} at {format_timestamp(headline.ts_event)}"
    )


def refuse_repeats(rows: Iterable[HeadlineRow]) -> None:
    """Refuse a headline that appears twice in ``rows`` (see the module: "Repeats").

    Raises:
        DataError: One line naming the first repeated headline, its rows and files.
    """
    seen: dict[tuple[object, ...], list[HeadlineRow]] = {}
    for row in rows:
        seen.setdefault(headline_key(row.headline, row.own_id), []).append(row)
    for group in seen.values():
        if len(group) > 1:
            first = group[0]
            fix = "row per id (and symbol)" if first.own_id else "row"
            raise DataError(
                f"{headline_name(first.headline, first.own_id)} appears {len(group)} times: "
                f"{_places(group)}; a headline is delivered once, so keep one {fix}"
            )


def _places(group: list[HeadlineRow]) -> str:
    """Return "FILE rows 2, 4 and FILE2 row 3"."""
    by_file: dict[Path, list[int]] = {}
    for row in group:
        by_file.setdefault(row.file, []).append(row.line)
    parts = []
    for file, lines in by_file.items():
        part = f"{file} {'row' if len(lines) == 1 else 'rows'} {', '.join(map(str, lines))}"
        parts.append(part)
    return " and ".join(parts)


def keep_symbols(rows: list[HeadlineRow], symbols: Iterable[str]) -> list[HeadlineRow]:
    """Return the rows of ``symbols``; warn once per near-miss spelling dropped.

    A near miss (`engine.feeds.headline_symbols`: ``ETHUSDT`` for ``ETH/USDT``) is not
    delivered; one ``warning:`` line per spelling names it with its row count.
    """
    keep = set(symbols)
    kept = [row for row in rows if row.headline.symbol in keep]
    missed = Counter(row.headline.symbol for row in rows if row.headline.symbol not in keep)
    for spelling, count in missed.items():  # first-seen order
        meant = near_miss(spelling, keep)
        if meant is not None:
            warn(near_miss_warning(str(rows[0].file), count, spelling, meant))
    return kept


def load_news(path: str | Path, symbols: Iterable[str] | None = None) -> list[NewsHeadline]:
    """Return the headlines of a ``.csv`` or ``.jsonl`` file in time order (stable).

    Args:
        path: The file.
        symbols: Keep only headlines of these symbols (None: all); near misses are
            named in warnings (`keep_symbols`).

    Raises:
        DataError: Missing file or column, bad line, timestamp, empty text, or a repeated
            headline among those kept (see module).
    """
    rows = read_news(path)
    if symbols is not None:
        rows = keep_symbols(rows, symbols)
    refuse_repeats(rows)
    headlines = [row.headline for row in rows]
    headlines.sort(key=lambda h: h.ts_event)  # stable: equal times keep file order
    return headlines
