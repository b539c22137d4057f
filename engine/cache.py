"""MarketCache: the latest market state every stage reads, updated once per bar.

In: each `Bar` (and trade or quote tick), as the first handler of the bus. Out: last
prices (read by portfolio and risk), per-symbol bar history bounded by a cursor, and the
revealed values of every declared indicator (read by strategies).

In a backtest each symbol's full columns and each indicator's full batch output are
loaded up front; per bar the cache advances the symbol's cursor and appends the bar's
indicator values to the arrays strategies hold. A strategy's indicator array therefore
physically contains only values of closed bars — look-ahead is impossible by
construction — and reading it is plain array indexing. Paper and live use the same arrays,
fed by streaming indicators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from engine.clock import CloseTime
from engine.model import Bar, QuoteTick, TradeTick

__all__ = ["COLUMNS", "Cursor", "LiveMarketCache", "MarketCache", "SymbolHistory"]

COLUMNS = ("open", "high", "low", "close", "volume")


class Cursor:
    """How many bars of one symbol have been revealed."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n


class SymbolHistory:
    """Columns of one symbol's bars and the cursor that limits what is visible.

    Attributes:
        symbol: The symbol.
        ts_event: int64 close times (ns, UTC) of every loaded bar.
        columns: float64 ``open, high, low, close, volume`` of every loaded bar.
        cursor: Revealed bar count; only rows ``[0, cursor.n)`` are visible.
        feeds: ``(append, values)`` pairs: per revealed bar ``i``, ``append(values[i])``.
    """

    __slots__ = ("columns", "cursor", "feeds", "symbol", "ts_event", "updaters")

    def __init__(
        self, symbol: str, ts_event: np.ndarray, columns: Mapping[str, np.ndarray]
    ) -> None:
        self.symbol = symbol
        self.ts_event = np.ascontiguousarray(ts_event, dtype=np.int64)
        self.columns = {
            name: np.ascontiguousarray(columns[name], dtype=np.float64) for name in COLUMNS
        }
        self.cursor = Cursor()
        self.feeds: list[tuple[Callable[[float], None], Sequence[float]]] = []
        # paper/live: called with each appended bar (streaming indicators)
        self.updaters: list[Callable[[Bar], None]] = []

    @classmethod
    def empty(cls, symbol: str, capacity: int = 1024) -> SymbolHistory:
        """Return a history with no bars yet, to be grown with `append_bar` (paper/live)."""
        columns = {name: np.zeros(capacity) for name in COLUMNS}
        return cls(symbol, np.zeros(capacity, dtype=np.int64), columns)

    def append_bar(self, bar: Bar) -> None:
        """Store ``bar`` as the next row and reveal it (the buffers double when full)."""
        n = self.cursor.n
        if n >= self.ts_event.size:
            grow = max(self.ts_event.size, 16)
            self.ts_event = np.concatenate((self.ts_event, np.zeros(grow, dtype=np.int64)))
            for name in COLUMNS:
                self.columns[name] = np.concatenate((self.columns[name], np.zeros(grow)))
        self.ts_event[n] = bar.ts_event
        columns = self.columns
        columns["open"][n] = bar.open
        columns["high"][n] = bar.high
        columns["low"][n] = bar.low
        columns["close"][n] = bar.close
        columns["volume"][n] = bar.volume
        self.cursor.n = n + 1

    def __len__(self) -> int:
        return self.cursor.n

    def add_feed(self, append: Callable[[float], None], values: Sequence[float]) -> None:
        """Reveal ``values`` bar by bar through ``append``, catching up to the cursor first."""
        for i in range(self.cursor.n):
            append(values[i])
        self.feeds.append((append, values))

    def frame(self, n: int | None = None) -> pd.DataFrame:
        """Return the last ``n`` visible bars (all when None) indexed by close time, UTC."""
        end = self.cursor.n
        start = 0 if n is None else max(end - n, 0)
        index = pd.DatetimeIndex(pd.to_datetime(self.ts_event[start:end], unit="ns", utc=True))
        index.name = "ts_event"
        return pd.DataFrame(
            {name: self.columns[name][start:end] for name in COLUMNS}, index=index, copy=True
        )


class MarketCache:
    """Last prices and histories of every symbol in the run."""

    __slots__ = ("close_time", "histories", "last", "tick_ns")

    def __init__(self, histories: Mapping[str, SymbolHistory]) -> None:
        self.histories = dict(histories)
        self.last: dict[str, float] = dict.fromkeys(self.histories, math.nan)
        self.close_time = CloseTime()  # set by the driver when bars share a close time
        # symbol -> time of the last trade or quote that set its last price (bars: their
        # history has their times; kept apart so that the bar loop stores nothing more)
        self.tick_ns: dict[str, int] = {}

    @property
    def symbols(self) -> list[str]:
        """Return the symbols in run order."""
        return list(self.histories)

    def last_price(self, symbol: str) -> float:
        """Return the last close of ``symbol`` (NaN before its first bar)."""
        return self.last[symbol]

    def last_bar(self, symbol: str) -> tuple[float, float, float | None]:
        """Return ``(high, low, volume)`` of the bar whose close is ``symbol``'s last price.

        What a fill at the last price (``market_fill = "same_close"``) may be slipped to at
        worst, and the volume that volume-share slippage and ``volume_participation``
        read. ``(inf, -inf, None)`` when the last price is not a bar's close (no bar yet,
        or a trade or quote came later): nothing is known then.
        """
        history = self.histories[symbol]
        n = history.cursor.n
        columns = history.columns
        if n == 0 or columns["close"][n - 1] != self.last[symbol]:
            return math.inf, -math.inf, None
        i = n - 1
        return float(columns["high"][i]), float(columns["low"][i]), float(columns["volume"][i])

    def priced_since(self, symbol: str, ts_ns: int) -> bool:
        """Return whether ``symbol``'s last price was set at ``ts_ns`` or later.

        Set by the close of the last bar when the last price is its close, else by the
        trade or quote that set it. A ``market_fill = "same_close"`` order fills at the
        last price only if it is no older than the decision (`engine.execution.broker`).
        """
        tick = self.tick_ns.get(symbol)
        if tick is not None and tick >= ts_ns:
            return True
        history = self.histories[symbol]
        n = history.cursor.n
        return bool(
            n
            and history.columns["close"][n - 1] == self.last[symbol]
            and history.ts_event[n - 1] >= ts_ns
        )

    def on_trade(self, tick: TradeTick) -> None:
        """Record a trade's price as the symbol's last price."""
        self.last[tick.symbol] = tick.price
        self.tick_ns[tick.symbol] = tick.ts_event

    def on_quote(self, quote: QuoteTick) -> None:
        """Record the quote's mid price as the symbol's last price."""
        self.last[quote.symbol] = (quote.bid_price + quote.ask_price) / 2.0
        self.tick_ns[quote.symbol] = quote.ts_event

    def on_bar(self, bar: Bar) -> None:
        """Record the bar's close and reveal its row and indicator values."""
        symbol = bar.symbol
        self.last[symbol] = bar.close
        history = self.histories[symbol]
        cursor = history.cursor
        i = cursor.n
        cursor.n = i + 1
        for append, values in history.feeds:
            append(values[i])


class LiveMarketCache(MarketCache):
    """The cache of paper and live trading: histories grow as bars arrive.

    Each bar is appended to its symbol's history, then every streaming indicator declared
    on the symbol is updated with it, so strategies read the same arrays as in a backtest.
    """

    __slots__ = ()

    def on_bar(self, bar: Bar) -> None:
        """Record the bar's close, append it to the history and update its indicators."""
        symbol = bar.symbol
        self.last[symbol] = bar.close
        history = self.histories[symbol]
        history.append_bar(bar)
        for update in history.updaters:
            update(bar)
