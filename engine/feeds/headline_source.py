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
one ``warning:`` line per spelling (`engine.feeds.headline_symbols`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from engine.errors import DataError, warn
from engine.feeds.headline_symbols import near_miss, near_miss_warning
from engine.feeds.headlines import headline_from_record, load_news, parse_json_line
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
        if size == self._position:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._position)
            chunk = handle.read(size - self._position)
        end = chunk.rfind(b"\n")
        if end < 0:
            return []  # a line still being written
        out: list[NewsHeadline] = []
        name = self.path.name
        for raw in chunk[:end].split(b"\n"):
            self.line += 1
            where = f"{self.path}:{self.line}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{where}: not UTF-8 text") from None
            if self.line == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark, as load_news skips it
            if not text.strip():
                continue
            record = parse_json_line(text, where)
            ts_init = None if self._now_ns is None else self._now_ns()
            headline = headline_from_record(record, where, name, f"{name}:{self.line}", ts_init)
            if self._keep is None or headline.symbol in self._keep:
                out.append(headline)
            elif headline.symbol not in self._missed:
                self._warn_near_miss(where, headline.symbol, self._keep)
        self._position += end + 1
        return out

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
