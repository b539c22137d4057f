"""The live feed's pure logic: which candles are closed, and the time-ordered merge of streams.

In: candles as ccxt returns them (``[open_ms, open, high, low, close, volume]``, from
``watch_ohlcv`` or ``fetch_ohlcv``) and ticks already made into `TradeTick` / `QuoteTick`.
Out: closed `Bar`s and one time-ordered sequence of events. No I/O here: `CcxtFeed`
(`engine.adapters.ccxt.feed`) does the network and calls these; unit tests drive them with
plain lists.

**The closed-candle rule.** ccxt's ``watch_ohlcv`` yields in-progress candles and drops the
venue's "closed" flag, so a candle with open time ``o`` becomes a `Bar` only when it is known
final, by one of:

1. *Stream*: the version handed over is the final one. Where the venue's kline messages
   say which version is final (Binance's ``"x": true``, the local exchange's too:
   `kline_message` reads it as ccxt receives it), that version is handed over as soon as
   it is seen (a replay's last bar has no later candle to wait for), and a candle a later
   one superseded within the session without its final version read (ccxt's cache,
   ``OHLCVLimit`` candles, evicted it unread; a message was lost) is left to REST. Where
   the messages say nothing: within one websocket session (one subscription, no reconnect
   in between) an update of a later candle (open > ``o``) has arrived, and the last update
   seen of ``o`` before it is taken as final (messages on one connection arrive in order
   and carry the candle's cumulative values). A candle whose updates came in an earlier
   session is forgotten on reconnect (`CandleSession.reset`) and never trusted.
2. *REST*: the exchange clock read *before* a ``fetch_ohlcv`` says ``o + timeframe <= now``;
   that call's row for ``o`` is final. (`closed_rows`.)

A bar's ``ts_event`` (and ``ts_init``, as in backtests, for parity) is its close time
``o + timeframe``; a missing volume is 0.0.

**Malformed data.** A file with a NaN, a zero or negative price or a high below the low is
refused before a backtest starts (`engine.feeds.validate`); a live venue cannot be asked to
fix its data, and halting would leave the account unwatched, so the feed drops such a
candle, trade or quote, counts it (`FeedStats.malformed`) and logs a warning naming it
(`candle_problem`, `trade_problem`, `quote_problem` say what is wrong). The strategy sees a
dropped candle as a gap, as it would a venue outage.

**The merge.** Every symbol's bars come in close-time order from its own stream; each stream
also says the earliest close time a bar it has not handed over yet can have (its *bound*:
the close of the in-progress candle, or just after the exchange clock of the last REST
fill). An event is released once its key ``(ts_event, 0 for bars / 1 for ticks, symbol
position)`` is below every symbol's ``(bound, 0, position)``: bars come out in close-time
order with ties in the order the symbols were given, and a tick never precedes a bar that
closed at or before it. Ticks are not waited for (they are live; holding them for a quiet
symbol would delay them by up to a timeframe): a tick older than the last event released
is dropped and counted (`EventMerger.late_ticks`), never delivered out of order — except
while a trade stream backfills after a drop: it holds the merge at its last trade
(`EventMerger.hold`) so the trades it finds over REST still fit in.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from engine.errors import InternalError
from engine.model import Bar, QuoteTick, TradeTick

__all__ = [
    "NS_PER_MS",
    "CandleSession",
    "EventMerger",
    "SessionUpdate",
    "candle_bar",
    "candle_problem",
    "closed_rows",
    "kline_message",
    "quote_problem",
    "trade_problem",
    "unread_candles",
]

NS_PER_MS = 1_000_000
MarketEvent = Bar | TradeTick | QuoteTick


def candle_bar(symbol: str, candle: Sequence[Any], timeframe_ms: int) -> Bar:
    """Return the `Bar` of closed ccxt candle ``candle`` (``ts_event`` = its close, in ns)."""
    close_ns = (int(candle[0]) + timeframe_ms) * NS_PER_MS
    return Bar(
        symbol=symbol,
        ts_event=close_ns,
        ts_init=close_ns,
        open=float(candle[1]),
        high=float(candle[2]),
        low=float(candle[3]),
        close=float(candle[4]),
        volume=float(candle[5] or 0.0),
        timeframe_ns=timeframe_ms * NS_PER_MS,
    )


def _numbers(values: Sequence[Any]) -> list[float] | None:
    """Return ``values`` as floats, or None if one is missing or not a number."""
    try:
        return [float(value) for value in values]
    except (TypeError, ValueError):
        return None


def _positive(values: Sequence[float]) -> bool:
    return all(math.isfinite(value) and value > 0 for value in values)


def _non_negative(values: Sequence[float]) -> bool:
    return all(math.isfinite(value) and value >= 0 for value in values)


def candle_problem(candle: Sequence[Any]) -> str:
    """Return what is wrong with ccxt candle ``candle`` ("" if it can become a `Bar`).

    The rules of a bar file (`engine.feeds.validate`): prices present, finite and above
    zero, volume finite and not negative (missing means 0), high and low bound the open and
    the close.
    """
    prices = _numbers(list(candle[1:5])) if len(candle) >= 5 else None
    volume = _numbers([candle[5] or 0.0] if len(candle) > 5 else [0.0])
    if prices is None or volume is None:
        return "a price or the volume is missing or not a number"
    if not _positive(prices):
        return "a price is zero, negative or not finite"
    if not _non_negative(volume):
        return "the volume is negative or not finite"
    open_, high, low, close = prices
    if high < low or high < max(open_, close) or low > min(open_, close):
        return "high and low do not bound the open and close"
    return ""


def trade_problem(price: Any, amount: Any) -> str:
    """Return what is wrong with a trade's price and amount ("" if it can be a `TradeTick`)."""
    values = _numbers([price, amount])
    if values is None:
        return "the price or amount is missing or not a number"
    if not _positive(values[:1]):
        return "the price is zero, negative or not finite"
    if not _non_negative(values[1:]):
        return "the amount is negative or not finite"
    return ""


def quote_problem(bid: Any, ask: Any, bid_size: Any, ask_size: Any) -> str:
    """Return what is wrong with a best bid/ask ("" if it can be a `QuoteTick`)."""
    values = _numbers([bid, ask, bid_size, ask_size])
    if values is None:
        return "a price or size is missing or not a number"
    if not _positive(values[:2]):
        return "a price is zero, negative or not finite"
    if not _non_negative(values[2:]):
        return "a size is negative or not finite"
    if values[0] > values[1]:
        return "the bid is above the ask (a crossed book)"
    return ""


def closed_rows(
    rows: Iterable[Sequence[Any]], timeframe_ms: int, now_ms: int, after_close_ms: int
) -> list[list[Any]]:
    """Return the REST rows closed by ``now_ms`` that close after ``after_close_ms``, in order.

    ``now_ms`` must be the exchange clock read before the rows were fetched (rule 2 above).
    """
    kept = {
        int(row[0]): list(row[:6])
        for row in rows
        if int(row[0]) + timeframe_ms <= now_ms and int(row[0]) + timeframe_ms > after_close_ms
    }
    return [kept[key] for key in sorted(kept)]


def kline_message(message: Any) -> tuple[str, str, bool, list[Any]] | None:
    """Return ``(market id, interval, final, candle)`` of a Binance kline message, else None.

    ``message`` is what ccxt's ``handle_ohlcv`` receives: ``{"e": "kline", "k": {"t": open
    ms, "s": "BTCUSDT", "i": "1h", "o", "h", "l", "c", "v": strings, "x": closed}}``. None
    for any other shape (another venue's message, a field missing or not a number): the
    message then says nothing about which version of a candle is final.
    """
    kline = message.get("k") if isinstance(message, dict) else None
    if not isinstance(kline, dict) or not isinstance(kline.get("x"), bool):
        return None
    try:
        candle = [int(kline["t"]), *(float(kline[key]) for key in ("o", "h", "l", "c", "v"))]
    except (KeyError, TypeError, ValueError):
        return None
    return str(kline.get("s", "")), str(kline.get("i", "")), kline["x"], candle


def unread_candles(
    cached: Iterable[Sequence[Any]], newest: int | None, handed_ms: int, timeframe_ms: int
) -> list[list[Any]]:
    """Return the candles of ccxt's cache a watch returns at once, else [] (it waits).

    ccxt resolves a watch on a message and only caches the messages that come while no
    watch waits; the next watch returns on the next message, which may never come (a venue
    that speaks only when candles open and close, the local exchange at its end). So the
    feed reads the cache first. ``newest``: the session's newest candle not handed over
    (`CandleSession.newest`), None when it handed over all it read; ``handed_ms``: the
    close of the last bar handed over. With ``newest``, the candles from it on if a later
    one is among them (the newest's own final values too); without, every candle not
    handed over yet (a later candle's opening, or a whole closed one, read after the final
    version the session handed over). Never the same candles twice with nothing new.
    """
    if newest is None:
        return [list(c) for c in cached if int(c[0]) + timeframe_ms > handed_ms]
    recent = [list(c) for c in cached if int(c[0]) >= newest]
    return recent if any(int(c[0]) != newest for c in recent) else []


class SessionUpdate(NamedTuple):
    """What one ``watch_ohlcv`` result tells (`CandleSession.update`).

    Attributes:
        closed: Candles known final, in time order, to hand over.
        newest: The open time of the newest candle seen, if any: in progress, unless
            ``closed`` ends with its final version.
        unconfirmed: Open times of candles a later one superseded whose final version was
            not read: closed, but their values must come from REST.
    """

    closed: list[list[Any]]
    newest: int | None
    unconfirmed: list[int]


class CandleSession:
    """One symbol's candles seen on the current websocket session (rule 1 above)."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self._latest: dict[int, list[Any]] = {}

    def reset(self) -> None:
        """Forget every candle: a new session starts (after a drop, a stall or a subscribe)."""
        self._latest.clear()

    @property
    def newest(self) -> int | None:
        """The open time of the newest candle seen and not handed over, if any."""
        return max(self._latest) if self._latest else None

    def update(
        self,
        candles: Iterable[Sequence[Any]],
        finals: Mapping[int, Sequence[Any]] | None = None,
    ) -> SessionUpdate:
        """Take a ``watch_ohlcv`` result; return the candles it closed (`SessionUpdate`).

        ``candles`` are in time order (ccxt's cache); each replaces what was known of its
        open time. ``finals``: the final version of each candle the venue's messages marked
        final, by open time, or None where its messages mark none. With ``finals``, a
        candle in it is closed with that version, and one a later candle superseded that
        is not is unconfirmed; without, one a later candle superseded is closed with the
        last version seen. A candle closed or unconfirmed is forgotten (handed over once).
        """
        for candle in candles:
            self._latest[int(candle[0])] = list(candle[:6])
        if not self._latest:
            return SessionUpdate([], None, [])
        newest = max(self._latest)
        closed: list[list[Any]] = []
        unconfirmed: list[int] = []
        for open_ms in sorted(self._latest):
            if finals is not None and open_ms in finals:
                del self._latest[open_ms]
                closed.append(list(finals[open_ms][:6]))
            elif open_ms < newest:
                seen = self._latest.pop(open_ms)
                if finals is None:
                    closed.append(seen)
                else:
                    unconfirmed.append(open_ms)
        return SessionUpdate(closed, newest, unconfirmed)


class EventMerger:
    """Events of several symbols' streams released in time order (see the module docstring)."""

    def __init__(self, symbols: Sequence[str]) -> None:
        """Merge the streams of ``symbols``; ties between bars go in this order."""
        self._position = {symbol: i for i, symbol in enumerate(symbols)}
        self._bounds: dict[str, int] = dict.fromkeys(symbols, 0)
        self._heap: list[tuple[int, int, int, int, MarketEvent]] = []
        self._seq = 0
        self._last_ts: int | None = None
        self._last_bar: dict[str, int] = {}
        self._holds: dict[str, int] = {}
        self.late_ticks = 0

    def bound(self, symbol: str) -> int:
        """Return the earliest close time (ns) a bar ``symbol`` has not handed over can have."""
        return self._bounds[symbol]

    def add_bar(self, bar: Bar) -> None:
        """Queue a closed bar; a symbol's bars must come in close-time order, each once."""
        last = self._last_bar.get(bar.symbol)
        if last is not None and bar.ts_event <= last:
            raise InternalError(
                f"live feed: {bar.symbol} bar closing at {bar.ts_event} after one at {last}"
            )
        self._last_bar[bar.symbol] = bar.ts_event
        self._push(bar, 0)

    def add_tick(self, tick: TradeTick | QuoteTick) -> None:
        """Queue a trade or quote tick."""
        self._push(tick, 1)

    def advance(self, symbol: str, bound_ns: int) -> None:
        """Say no bar of ``symbol`` still to come closes before ``bound_ns`` (never moves back)."""
        self._bounds[symbol] = max(self._bounds[symbol], bound_ns)

    def hold(self, stream: str, ts_ns: int) -> None:
        """Release nothing at or after ``ts_ns`` until `release`: ``stream`` is backfilling.

        A trade stream that dropped holds the merge at its last trade, so the trades its
        REST backfill finds are not late for events the other streams delivered meanwhile.
        """
        self._holds[stream] = ts_ns

    def release(self, stream: str) -> None:
        """End the `hold` of ``stream``."""
        self._holds.pop(stream, None)

    def _push(self, event: MarketEvent, rank: int) -> None:
        self._seq += 1
        key = (event.ts_event, rank, self._position[event.symbol], self._seq, event)
        heapq.heappush(self._heap, key)

    def _floor(self) -> tuple[int, int, int]:
        floor = min((bound, 0, self._position[s]) for s, bound in self._bounds.items())
        if self._holds:
            floor = min(floor, (min(self._holds.values()), -1, -1))
        return floor

    def watermark(self) -> int:
        """Return a time (ns) no event still to be released precedes, bars or queued ticks.

        A consumer may move its clock there when nothing arrives (to fire timers): every
        bar before it has been released, and a tick arriving later before it is late.
        """
        floor = self._floor()[0]
        return min(floor, self._heap[0][0]) if self._heap else floor

    def settled(self, ts_ns: int) -> bool:
        """Return True when no bar at or before ``ts_ns`` is still to come or to be popped."""
        return self._floor()[0] > ts_ns and (not self._heap or self._heap[0][0] > ts_ns)

    def ready(self) -> list[MarketEvent]:
        """Pop every event no stream can still precede, in order."""
        floor = self._floor()
        out: list[MarketEvent] = []
        while self._heap and self._heap[0][:3] < floor:
            ts, rank, _, _, event = heapq.heappop(self._heap)
            if rank == 1 and self._last_ts is not None and ts < self._last_ts:
                self.late_ticks += 1
                continue
            self._last_ts = ts
            out.append(event)
        return out

    def pending(self) -> int:
        """Return how many events wait for a slower stream."""
        return len(self._heap)
