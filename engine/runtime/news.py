"""When a headline reaches the strategy: the delivery (tie) rule, the same in every mode.

The rule: a headline stamped ``t`` is delivered just before the first bar whose close time
is at or after ``t`` — when the driver moves the clock to that bar's time, after the
timers due by then, before the venue matches the bar and before any Bar handler runs. So
a headline published exactly at a bar's close is seen at that bar's close decision, and
one published 1 ns later waits for the next bar. The clock reads the bar's close time
while ``on_news`` runs, and an order placed there is not at the venue before that time
(it cannot fill at the bar's open, which is earlier than the headline).

A headline that arrives late (a live source, or a file tailed while the run goes on) with a
time already passed is delivered at the next bar: nothing is ever delivered before its
own time, nor dropped. Headlines after the last bar are never delivered (a backtest ends
with its data). Equal times keep the order they were added in. In a tick replay
(`Driver.run`) and in the node, "bar" reads "event": the first bar, trade or quote at or
after ``t``.

`NewsQueue` holds the headlines not delivered yet; the driver asks it, once per new event
time, whether any is due (one comparison when none is), so runs without news pay nothing:
they have no queue at all.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.config import RunConfig
from engine.errors import ConfigError, DataError, warn
from engine.feeds.headline_source import JsonlTailer
from engine.feeds.headlines import HeadlineRow, keep_symbols, read_news, refuse_repeats
from engine.feeds.timeframe import format_timestamp
from engine.model import NewsHeadline
from engine.runtime.inputs import resolve_data_path
from engine.strategy import Strategy

__all__ = [
    "NEVER",
    "NewsQueue",
    "load_run_news",
    "news_files",
    "news_queue",
    "open_live_news",
    "require_news_hook",
    "warn_news_outside_bars",
]

NEVER = 2**63 - 1  # `NewsQueue.next_ns` when nothing waits


class NewsQueue:
    """Headlines waiting for delivery, in (time, arrival) order."""

    def __init__(self, headlines: Iterable[NewsHeadline] = ()) -> None:
        """Start with ``headlines`` (any order; equal times keep this order)."""
        self._heap: list[tuple[int, int, NewsHeadline]] = []
        self._added = 0
        self.next_ns = NEVER  # time of the earliest waiting headline
        self.add(headlines)

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, headlines: Iterable[NewsHeadline]) -> None:
        """Queue ``headlines`` (those already due are delivered at the next bar)."""
        heap = self._heap
        for headline in headlines:
            heapq.heappush(heap, (headline.ts_event, self._added, headline))
            self._added += 1
        self.next_ns = heap[0][0] if heap else NEVER

    def due(self, bar_close_ns: int) -> list[NewsHeadline]:
        """Remove and return the headlines to deliver before a bar closing at ``bar_close_ns``.

        Those stamped at or before it, in time order (ties: arrival order).
        """
        heap = self._heap
        out: list[NewsHeadline] = []
        while heap and heap[0][0] <= bar_close_ns:
            out.append(heapq.heappop(heap)[2])
        self.next_ns = heap[0][0] if heap else NEVER
        return out

    def stamps(self) -> list[int]:
        """Return the waiting headlines' times (ns UTC), in order."""
        return sorted(entry[0] for entry in self._heap)


def require_news_hook(strategy: object, config: RunConfig) -> None:
    """Refuse a run with news whose strategy has no ``on_news`` hook (it would ignore them).

    Raises:
        ConfigError: ``config`` has a news source and the strategy's class does not
            define ``on_news``.
    """
    if config.news and getattr(type(strategy), "on_news", None) is Strategy.on_news:
        raise ConfigError(
            "a kind = 'news' [[data]] source is configured but strategy "
            f"{type(strategy).__name__} defines no on_news(ctx, headline) hook; add one or "
            "remove the news [[data]] table"
        )


def news_files(config: RunConfig) -> list[Path]:
    """Return the headline files of ``config``'s news sources, resolved (config order).

    Raises:
        DataError: A file is in neither place a relative path is looked up.
        ConfigError: One file is the path of two news tables keeping a common symbol:
            its headlines would be delivered twice (in paper and live too, where each
            table is a source of its own).
    """
    files = [
        resolve_data_path(source.path, config.base_dir, key="[[data]] kind = 'news' path")
        for source in config.news
    ]
    seen: dict[Path, set[str]] = {}
    for source, file in zip(config.news, files, strict=True):
        symbols = set(source.symbols or config.symbols)
        earlier = seen.setdefault(file.resolve(), set())
        if earlier & symbols:
            raise ConfigError(
                f"[[data]] kind = 'news' path {source.path!r} is the file of another news "
                f"table too, for the same symbols ({', '.join(sorted(earlier & symbols))}): "
                "its headlines would be delivered twice; list the file once"
            )
        earlier |= symbols
    return files


def load_run_news(config: RunConfig) -> list[NewsHeadline]:
    """Return the headlines of every news source of ``config``, in time order.

    A source keeps the headlines of its ``symbols`` (default: the run's symbols); a
    near-miss spelling (``ETHUSDT`` for ``ETH/USDT``) is named in a warning, not kept
    (`engine.feeds.headlines.keep_symbols`). The sources are merged by time, ties in
    config then file order. A headline twice in the merged stream (one id in two files,
    or one file in two news tables) is refused (`engine.feeds.headlines.refuse_repeats`).

    Raises:
        DataError: A missing or malformed headline file (`engine.feeds.headlines`), one
            with no headline for its symbols, or a repeated headline.
    """
    rows: list[HeadlineRow] = []
    for source, file in zip(config.news, news_files(config), strict=True):
        symbols = source.symbols or config.symbols
        every = read_news(file)
        kept = keep_symbols(every, symbols)
        if not kept:  # a run "with news" that would read none: a misnamed symbol, say
            raise DataError(_no_headline(file, symbols, every))
        rows.extend(kept)
    refuse_repeats(rows)
    merged = [row.headline for row in rows]
    merged.sort(key=lambda h: h.ts_event)  # stable
    return merged


def _no_headline(file: Path, symbols: Iterable[str], rows: list[HeadlineRow]) -> str:
    """Return the error for a headline file with nothing for ``symbols``."""
    found = sorted({row.headline.symbol for row in rows})
    where = f"{file}: no headline for {', '.join(symbols)}"
    if not found:
        return f"{where}; the file has no headlines"
    return (
        f"{where}; the file's headlines are for {', '.join(found)}; set this news [[data]] "
        "table's symbols, or fix the file's symbol column"
    )


def warn_news_outside_bars(queue: NewsQueue, first_open_ns: int, last_close_ns: int) -> None:
    """Write a ``warning:`` line to stderr for the headlines a backtest cannot deliver as news.

    Those stamped before the first bar opens are all delivered at its close, as if new
    (the delivery rule never drops one); those after the last bar's close are never
    delivered (the run ends with its data). Neither is an error: a file may cover more
    than the run's window.
    """
    stamps = queue.stamps()
    early = [ts for ts in stamps if ts < first_open_ns]
    late = [ts for ts in stamps if ts > last_close_ns]
    if early:
        it, be = ("it", "is") if len(early) == 1 else ("they", "are")
        warn(
            f"{_count(early)} stamped before the first bar (from {format_timestamp(early[0])}; "
            f"the first bar opens {format_timestamp(first_open_ns)}): {it} {be} delivered at "
            f"that bar's close as if {it} were new; start the headlines with the data, or "
            "the data earlier"
        )
    if late:
        it = "it is" if len(late) == 1 else "they are"
        warn(
            f"{_count(late)} stamped after the last bar's close "
            f"({format_timestamp(last_close_ns)}, until {format_timestamp(late[-1])}): "
            f"{it} never delivered"
        )


def _count(stamps: list[int]) -> str:
    return "1 headline is" if len(stamps) == 1 else f"{len(stamps):,} headlines are"


def news_queue(
    config: RunConfig, strategy: object, headlines: Iterable[NewsHeadline] | None = None
) -> NewsQueue | None:
    """Return the queue of ``config``'s headlines for a backtest (None: no news source).

    ``headlines`` replaces the files' (pre-loaded, e.g. cut at a time by a test).

    Raises:
        ConfigError: The strategy defines no ``on_news`` (`require_news_hook`).
        DataError: A missing or malformed headline file.
    """
    if not config.news:
        return None
    require_news_hook(strategy, config)
    return NewsQueue(load_run_news(config) if headlines is None else headlines)


def open_live_news(config: RunConfig, now_ns: Callable[[], int]) -> list[JsonlTailer]:
    """Return tailers of ``config``'s headline files for ``kestrel live``, at their ends.

    Live keeps no strategy state across restarts, so a headline already in the file when
    the node starts is not news to it: delivered at the first bar, an old headline would
    be acted on as if fresh. Each file is followed from its current end (its earlier lines
    still count for line numbers and default ids); ``ts_init`` is ``now_ns()`` at reading.

    Raises:
        ConfigError: A headline file is not ``.jsonl`` (only those can be followed).
        DataError: A headline file is missing.
    """
    tailers = []
    for source, file in zip(config.news, news_files(config), strict=True):
        if file.suffix.lower() != ".jsonl":
            raise ConfigError(
                f"[[data]] kind = 'news' path {source.path!r}: kestrel live follows .jsonl "
                "headline files as they grow; convert it to JSONL (one object per line)"
            )
        content = file.read_bytes()
        tailers.append(
            JsonlTailer(
                file,
                start=len(content),
                line=content.count(b"\n"),
                symbols=source.symbols or config.symbols,
                now_ns=now_ns,
            )
        )
    return tailers
