"""Market data values: bars, trade ticks, quote ticks and news headlines.

They are `NamedTuple`s on purpose: immutable, typed, and several times cheaper to create
than frozen dataclasses, which matters because the feed creates one per bar on the hot path.
"""

from __future__ import annotations

from typing import NamedTuple


class Bar(NamedTuple):
    """One OHLCV bar of one symbol.

    ``ts_event`` is the time the bar CLOSED (open time + timeframe): the moment its values
    became known. Ordering every symbol's bars by close time is what makes a multi-symbol,
    multi-timeframe merge free of look-ahead.
    """

    symbol: str
    ts_event: int
    ts_init: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    timeframe_ns: int

    @property
    def ts_open(self) -> int:
        """Return the bar's open time in ns (``ts_event - timeframe_ns``)."""
        return self.ts_event - self.timeframe_ns


class TradeTick(NamedTuple):
    """One trade printed at the venue (price in quote currency, size in base units)."""

    symbol: str
    ts_event: int
    ts_init: int
    price: float
    size: float
    aggressor_side: str  # "buy", "sell" or "" when the venue does not say
    trade_id: str


class QuoteTick(NamedTuple):
    """Top of book: best bid and ask with their sizes."""

    symbol: str
    ts_event: int
    ts_init: int
    bid_price: float
    ask_price: float
    bid_size: float
    ask_size: float


class NewsHeadline(NamedTuple):
    """One published headline about one symbol: a fact, delivered on the bus.

    ``ts_event`` is the publication time the source gives; ``ts_init`` when Kestrel read
    it (equal to ``ts_event`` for a file replayed in a backtest). The driver delivers a
    headline before the first bar whose close time is at or after ``ts_event``
    (`engine.runtime.news`), so a strategy sees it at that bar's close decision, never
    earlier. ``headline_id`` is the source's id, or ``"<file>:<line>"`` when it has none.
    """

    symbol: str
    ts_event: int
    ts_init: int
    text: str
    source: str
    headline_id: str
