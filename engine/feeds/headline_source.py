"""Headline sources for paper and live: where news comes from while the node runs.

A `HeadlineSource` is polled by the paper/live loop before each input; what it returns is
queued and delivered by the driver's rule (`engine.runtime.news`: before the first bar
closing at or after each headline's time). Its ``position`` says how far it has read, so
that a restarted paper account resumes where the journal says it stopped
(`engine.runtime.paper`), never delivering a headline twice nor skipping one.

- `ListHeadlineSource`: headlines held in memory (a whole CSV file read at start, or a
  test's fake); ``position`` counts the headlines returned.
- `JsonlTailer`: follows a ``.jsonl`` file as it grows (another process appends one JSON
  object per line); ``position`` is the byte offset after the last whole line read. A line
  still being written (no newline yet) is left for the next poll. A file that shrinks below
  the position (truncated or rotated) is an error: the position would name another line.

Each headline is validated as a headline file's line is (`engine.feeds.headlines`); a bad
line stops the source with a one-line `DataError` naming file and line. A headline whose
symbol misses a kept one by spelling only (``ETHUSDT``) is not delivered and is named in
one ``warning:`` line per spelling (`engine.feeds.headline_symbols`). A headline already
read from the file (the same id and symbol, or without an id the same time, symbol and
text: `engine.feeds.headlines.headline_key`), before a restart's start position too, is
skipped with a ``warning:`` line naming both lines: a file read whole refuses a repeat,
but a followed file's earlier lines were delivered already and the node runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from engine.errors import DataError, warn
from engine.feeds.headline_symbols import near_miss, near_miss_warning
from engine.feeds.headlines import (
    headline_from_record,
    headline_key,
    headline_name,
    load_news,
    own_id,
    parse_json_line,
)
from engine.model import NewsHeadline

__all__ = ["HeadlineSource", "JsonlTailer", "ListHeadlineSource", "open_headline_source"]


class HeadlineSource(Protocol):
    """Headlines as they become known, polled by the paper/live loop."""

    @property
    def position(self) -> int:
        """How far the source has read (its meaning is the source's; a restart resumes it)."""
        ...

    def poll(self) -> list[NewsHeadline]:
        """Return the headlines that arrived since the last poll, in file order."""
        ...


class ListHeadlineSource:
    """Headlines held in memory, handed out once each (from ``start`` on)."""

    def __init__(self, headlines: Sequence[NewsHeadline], start: int = 0) -> None:
        """Serve ``headlines[start:]`` (``start``: a previous `position`)."""
        self._headlines = list(headlines)
        self._next = start
        self._pending: list[NewsHeadline] = []

    @property
    def position(self) -> int:
        """Return the number of headlines handed out so far (with those before ``start``)."""
        return self._next

    def extend(self, headlines: Iterable[NewsHeadline]) -> None:
        """Append headlines that the next `poll` returns (a test's fake feed)."""
        self._headlines.extend(headlines)

    def poll(self) -> list[NewsHeadline]:
        """Return the headlines not handed out yet."""
        out = self._headlines[self._next :]
        self._next = len(self._headlines)
        return out


class JsonlTailer:
    """Follows a growing ``.jsonl`` headline file from a byte position (see the module)."""

    def __init__(
        self,
        path: str | Path,
        *,
        start: int = 0,
        line: int = 0,
        symbols: Iterable[str] | None = None,
        now_ns: Callable[[], int] | None = None,
    ) -> None:
        """Read ``path`` from byte ``start`` (after line ``line``, for messages and ids).

        ``symbols`` keeps only those symbols' headlines (None: all). ``now_ns`` stamps
        ``ts_init`` (the time the line was read); None keeps the publication time.
        """
        self.path = Path(path)
        self._position = start
        self.line = line
        self._keep = None if symbols is None else frozenset(symbols)
        self._now_ns = now_ns
        self._missed: set[str] = set()  # near-miss spellings already warned about
        # headline_key -> line of the kept headlines read; None until the first poll reads
        # the lines before ``start`` (a restart must know them too)
        self._seen: dict[tuple[object, ...], int] | None = None

    @property
    def position(self) -> int:
        """Return the byte offset after the last whole line read."""
        return self._position

    def poll(self) -> list[NewsHeadline]:
        """Return the headlines of the whole lines appended since the last poll.

        Raises:
            DataError: The file is missing or shrank below the position, or a line is bad.
        """
        try:
            size = self.path.stat().st_size
        except OSError:
            raise DataError(f"headline file {str(self.path)!r} does not exist") from None
        if self.path.is_dir():
            raise DataError(
                f"headline file {str(self.path)!r} is a folder, not a file; name the file"
            )
        if size < self._position:
            raise DataError(
                f"headline file {str(self.path)!r} shrank to {size} bytes, below the "
                f"{self._position} already read (truncated or rotated?); append to it instead"
            )
        if self._seen is None:
            self._seen = self._known_before()
        if size == self._position:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._position)
            chunk = handle.read(size - self._position)
        end = chunk.rfind(b"\n")
        if end < 0:
            return []  # a line still being written
        out: list[NewsHeadline] = []
        for raw in chunk[:end].split(b"\n"):
            self.line += 1
            where = f"{self.path}:{self.line}"
            ts_init = None if self._now_ns is None else self._now_ns()
            read = self._headline(raw, self.line, ts_init)
            if read is None:
                continue
            headline, own_id = read
            if self._keep is not None and headline.symbol not in self._keep:
                if headline.symbol not in self._missed:
                    self._warn_near_miss(where, headline.symbol, self._keep)
                continue
            key = headline_key(headline, own_id)
            if key in self._seen:  # a file followed cannot be refused whole: skip, say so
                warn(
                    f"{where}: {headline_name(headline, own_id)} was read before (line "
                    f"{self._seen[key]}); not delivered again (a repeated line in a followed "
                    "file is skipped)"
                )
                continue
            self._seen[key] = self.line
            out.append(headline)
        self._position += end + 1
        return out

    def _headline(
        self, raw: bytes, line: int, ts_init: int | None
    ) -> tuple[NewsHeadline, bool] | None:
        """Return line ``line``'s headline and whether it gave its id (None: a blank line)."""
        where = f"{self.path}:{line}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{where}: not UTF-8 text") from None
        if line == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark, as load_news skips it
        if not text.strip():
            return None
        record = parse_json_line(text, where)
        name = self.path.name
        headline = headline_from_record(record, where, name, f"{name}:{line}", ts_init)
        return headline, own_id(record) is not None

    def _known_before(self) -> dict[tuple[object, ...], int]:
        """Return the keys of the kept headlines on the lines before the start position."""
        if self._position == 0:
            return {}
        with self.path.open("rb") as handle:
            lines = handle.read(self._position).split(b"\n")[:-1]  # ends with a newline
        known: dict[tuple[object, ...], int] = {}
        for line, raw in enumerate(lines, 1):
            read = self._headline(raw, line, None)
            if read is not None and (self._keep is None or read[0].symbol in self._keep):
                known.setdefault(headline_key(*read), line)
        return known

    def _warn_near_miss(self, where: str, symbol: str, keep: frozenset[str]) -> None:
        """Say once per spelling that a near-miss symbol's headlines are not delivered."""
        meant = near_miss(symbol, keep)
        if meant is not None:
            self._missed.add(symbol)
            warn(near_miss_warning(where, None, symbol, meant))


def open_headline_source(
    path: Path,
    *,
    start: int = 0,
    line: int = 0,
    symbols: Iterable[str] | None = None,
    now_ns: Callable[[], int] | None = None,
) -> ListHeadlineSource | JsonlTailer:
    """Return the source a paper/live node reads ``path`` with, from ``start`` on.

    A ``.jsonl`` file is followed as it grows (`JsonlTailer`, ``start`` a byte offset); a
    ``.csv`` file is read whole at once (`ListHeadlineSource`, in time order, ``start`` a
    count of headlines).

    Raises:
        DataError: A missing or malformed file.
    """
    if path.suffix.lower() == ".jsonl":
        return JsonlTailer(path, start=start, line=line, symbols=symbols, now_ns=now_ns)
    return ListHeadlineSource(load_news(path, symbols), start)
