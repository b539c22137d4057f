"""The local exchange's market: historical bars replayed on a clock of their own.

Time model (the reference; ``tests/unit/adapters/test_local_replay.py`` pins it):

* The replay clock ``now_ms`` (ms since the Unix epoch, UTC) only takes the values of the
  *boundaries*: every bar open and every bar close of every symbol, sorted. It starts at the
  open of bar ``history`` of the earliest symbol (so clients find closed history to warm up
  on) and stops at the last bar's open: the data has no later price, so the last bar never
  closes and the market stays open for orders until the server stops. With
  ``last_bar_closes`` it stops at the last bar's close instead: every bar of the data
  arrives closed, as a backtest plays them all (what ``kestrel paper --replay`` wants: the
  order decided on the second-to-last bar fills at the last bar's open, the last bar's
  equity row exists); no bar is in progress after that, so a market order waits, never
  filled, like one decided on a backtest's last bar.
* A bar is *closed* once ``now_ms >= open + timeframe``; it is *in progress* while
  ``open <= now_ms < open + timeframe``. Like Binance, klines answer the closed bars plus the
  in-progress one as the last row. Of an in-progress bar only its open is known (the replay
  does not invent an intrabar path): it is served as ``open = high = low = close = open`` with
  zero volume, and its full OHLCV appears once it closes.
* The market price of a symbol is the last known price: the in-progress bar's open, else
  the last closed bar's close. Tickers, the synthetic order book and market fills use it.
* Trades: each bar contributes one synthetic trade at its open (its ``ts`` is the bar's open
  and its amount is the bar's volume) — the only price the replay knows at that instant.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.feeds import BarFrame
from engine.model import Bar

__all__ = ["Kline", "Market", "Replay"]

_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Kline:
    """One candle as served: ``open_ms`` is its open time; ``closed`` is False while in progress."""

    open_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool

    def as_bar(self, symbol: str) -> Bar:
        """Return the engine `Bar` (``ts_event`` = close time in ns) for the matching rules."""
        ts_close = self.close_ms * _NS_PER_MS
        return Bar(
            symbol=symbol,
            ts_event=ts_close,
            ts_init=ts_close,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            timeframe_ns=(self.close_ms - self.open_ms) * _NS_PER_MS,
        )


class Market:
    """One symbol's bars in ms, read-only, with the time-model queries above."""

    def __init__(self, frame: BarFrame) -> None:
        """Take ``frame``'s columns (open times converted from ns to ms)."""
        self.symbol = frame.symbol
        self.timeframe_ms = frame.timeframe_ns // _NS_PER_MS
        self.open_ms: list[int] = (frame.ts_open_ns // _NS_PER_MS).tolist()
        self.columns = {
            name: np.asarray(getattr(frame, name), dtype=np.float64).tolist()
            for name in ("open", "high", "low", "close", "volume")
        }

    def __len__(self) -> int:
        return len(self.open_ms)

    def kline(self, index: int, now_ms: int) -> Kline:
        """Return bar ``index`` as known at ``now_ms`` (in progress: only its open)."""
        open_ms = self.open_ms[index]
        close_ms = open_ms + self.timeframe_ms
        price = self.columns["open"][index]
        if now_ms < close_ms:
            return Kline(open_ms, close_ms, price, price, price, price, 0.0, False)
        c = self.columns
        return Kline(
            open_ms,
            close_ms,
            price,
            c["high"][index],
            c["low"][index],
            c["close"][index],
            c["volume"][index],
            True,
        )

    def visible_count(self, now_ms: int) -> int:
        """Return how many bars have opened by ``now_ms`` (closed ones plus the in-progress one)."""
        return bisect.bisect_right(self.open_ms, now_ms)

    def klines(
        self, now_ms: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[Kline]:
        """Return up to ``limit`` visible bars, as Binance's klines endpoint selects them.

        With ``start_ms`` the first ``limit`` bars opening at or after it; else the last
        ``limit`` bars; ``end_ms`` drops bars opening after it.
        """
        visible = self.visible_count(now_ms)
        stop = (
            visible if end_ms is None else min(visible, bisect.bisect_right(self.open_ms, end_ms))
        )
        if start_ms is not None:
            first = bisect.bisect_left(self.open_ms, start_ms)
            indices = range(first, min(stop, first + limit))
        else:
            indices = range(max(0, stop - limit), stop)
        return [self.kline(i, now_ms) for i in indices]

    def price(self, now_ms: int) -> float | None:
        """Return the last known price at ``now_ms``, or None before the first bar opens."""
        visible = self.visible_count(now_ms)
        if visible == 0:
            return None
        return self.kline(visible - 1, now_ms).close

    def in_progress(self, now_ms: int) -> int | None:
        """Return the index of the bar in progress at ``now_ms``, or None (a gap, or before)."""
        visible = self.visible_count(now_ms)
        if visible == 0:
            return None
        index = visible - 1
        return index if now_ms < self.open_ms[index] + self.timeframe_ms else None


class Replay:
    """Several markets on one replay clock that moves from boundary to boundary."""

    def __init__(
        self, frames: Sequence[BarFrame], history: int = 500, *, last_bar_closes: bool = False
    ) -> None:
        """Index the boundaries and put the clock at bar ``history`` of the earliest market.

        Args:
            frames: One validated frame per symbol (symbols must be unique).
            history: How many closed bars exist when the server starts (clamped to the data).
            last_bar_closes: End at the last bar's close (every bar closes), not its open.
        """
        self.markets = {frame.symbol: Market(frame) for frame in frames if len(frame) > 0}
        edges: set[int] = set()
        for market in self.markets.values():
            edges.update(market.open_ms)
            edges.update(t + market.timeframe_ms for t in market.open_ms)
        self._edges = sorted(edges)
        last_open = max(m.open_ms[-1] for m in self.markets.values())
        self.boundaries = [t for t in self._edges if t <= last_open]
        first = min(self.markets.values(), key=lambda m: m.open_ms[0])
        start_ms = first.open_ms[min(max(history, 0), len(first) - 1)]
        self.cursor = bisect.bisect_left(self.boundaries, start_ms)
        if last_bar_closes:
            self.end_at_last_close()

    def end_at_last_close(self) -> None:
        """Let the clock go on to the last bar's close (``last_bar_closes``; idempotent).

        For an exchange already built (``LocalExchange(...).replay``), before it starts.
        """
        last_close = max(m.open_ms[-1] + m.timeframe_ms for m in self.markets.values())
        self.boundaries = [t for t in self._edges if t <= last_close]

    @property
    def now_ms(self) -> int:
        """The replay clock: ms since the epoch, UTC (the exchange's "now")."""
        return self.boundaries[self.cursor]

    @property
    def finished(self) -> bool:
        """True at the last boundary (the last bar's open, or its close: see the module)."""
        return self.cursor >= len(self.boundaries) - 1

    def next_ms(self) -> int | None:
        """Return the next boundary, or None when finished."""
        return None if self.finished else self.boundaries[self.cursor + 1]

    def closing_at(self, now_ms: int) -> list[tuple[str, int]]:
        """Return ``(symbol, close time in ns)`` of every bar closing exactly at ``now_ms``."""
        closing = []
        for symbol in sorted(self.markets):
            market = self.markets[symbol]
            index = bisect.bisect_left(market.open_ms, now_ms - market.timeframe_ms)
            if index < len(market) and market.open_ms[index] + market.timeframe_ms == now_ms:
                closing.append((symbol, now_ms * _NS_PER_MS))
        return closing

    def step(self) -> tuple[list[tuple[str, Kline]], list[tuple[str, Kline]]]:
        """Advance to the next boundary; return ``(closed, opened)`` bars of that instant.

        ``closed`` holds every bar that closed at the new ``now_ms`` (full OHLCV), ``opened``
        every bar that opened at it (open only), each as ``(symbol, kline)`` in symbol order.
        """
        if self.finished:
            return [], []
        self.cursor += 1
        now = self.now_ms
        closed: list[tuple[str, Kline]] = []
        opened: list[tuple[str, Kline]] = []
        for symbol in sorted(self.markets):
            market = self.markets[symbol]
            index = bisect.bisect_left(market.open_ms, now - market.timeframe_ms)
            if index < len(market) and market.open_ms[index] + market.timeframe_ms == now:
                closed.append((symbol, market.kline(index, now)))
            index = bisect.bisect_left(market.open_ms, now)
            if index < len(market) and market.open_ms[index] == now:
                opened.append((symbol, market.kline(index, now)))
        return closed, opened
