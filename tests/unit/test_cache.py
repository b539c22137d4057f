"""MarketCache and SymbolHistory: last prices, cursors, and values revealed per bar."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.cache import COLUMNS, MarketCache, SymbolHistory
from engine.model import Bar

HOUR = 3_600 * 10**9
T0 = 1_609_459_200 * 10**9


def history(symbol: str, closes: list[float]) -> SymbolHistory:
    n = len(closes)
    return SymbolHistory(
        symbol,
        T0 + HOUR * np.arange(1, n + 1),
        {
            "open": [c - 1 for c in closes],
            "high": [c + 2 for c in closes],
            "low": [c - 2 for c in closes],
            "close": closes,
            "volume": [10] * n,
        },
    )


def bar(symbol: str, k: int, close: float) -> Bar:
    ts = T0 + HOUR * (k + 1)
    return Bar(symbol, ts, ts, close - 1, close + 2, close - 2, close, 10.0, HOUR)


@pytest.fixture
def cache() -> MarketCache:
    return MarketCache({"B": history("B", [1.0, 2.0, 3.0]), "A": history("A", [7.0, 8.0])})


def test_columns_are_contiguous_float64_and_nothing_is_visible_at_first() -> None:
    h = history("A", [1.0, 2.0])
    assert set(h.columns) == set(COLUMNS)
    for values in h.columns.values():
        assert values.dtype == np.float64
        assert values.flags.c_contiguous
    assert h.ts_event.dtype == np.int64
    assert len(h) == 0
    assert h.frame().empty


def test_last_prices_and_cursors(cache: MarketCache) -> None:
    assert cache.symbols == ["B", "A"]
    assert math.isnan(cache.last_price("A"))
    assert math.isnan(cache.last_price("B"))
    cache.on_bar(bar("B", 0, 1.0))
    cache.on_bar(bar("B", 1, 2.0))
    cache.on_bar(bar("A", 0, 7.0))
    assert (cache.last_price("B"), cache.last_price("A")) == (2.0, 7.0)
    assert (len(cache.histories["B"]), len(cache.histories["A"])) == (2, 1)
    assert cache.last == {"B": 2.0, "A": 7.0}


def test_frame_shows_the_last_n_revealed_bars(cache: MarketCache) -> None:
    for k, close in enumerate([1.0, 2.0, 3.0]):
        cache.on_bar(bar("B", k, close))
    h = cache.histories["B"]
    frame = h.frame()
    assert frame["close"].tolist() == [1.0, 2.0, 3.0]
    assert frame["high"].tolist() == [3.0, 4.0, 5.0]
    assert frame["volume"].tolist() == [10.0] * 3
    assert frame.index.name == "ts_event"
    assert [ts.value for ts in frame.index] == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    assert h.frame(2)["close"].tolist() == [2.0, 3.0]
    assert h.frame(0).empty
    assert h.frame(99)["close"].tolist() == [1.0, 2.0, 3.0]


def test_feeds_reveal_one_value_per_bar_and_catch_up(cache: MarketCache) -> None:
    h = cache.histories["B"]
    early: list[float] = []
    h.add_feed(early.append, [10.0, 20.0, 30.0])
    cache.on_bar(bar("B", 0, 1.0))
    cache.on_bar(bar("A", 0, 7.0))  # another symbol: B's feeds do not move
    cache.on_bar(bar("B", 1, 2.0))
    assert early == [10.0, 20.0]
    late: list[float] = []
    h.add_feed(late.append, [-1.0, -2.0, -3.0])  # declared after two bars: catches up
    assert late == [-1.0, -2.0]
    cache.on_bar(bar("B", 2, 3.0))
    assert (early, late) == ([10.0, 20.0, 30.0], [-1.0, -2.0, -3.0])
