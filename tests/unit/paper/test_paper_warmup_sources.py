"""Where a new paper account's warm-up comes from: the catalog, REST, or nowhere (ticks).

A fake feed records what `fetch_warmup` asks of ``history`` and answers with synthetic
hourly bars. A catalog-backed symbol asks REST only for the bars after the catalog's last
one; a plain file asks REST for all N; a trade symbol gets no warm-up at all; catalog bars
of another timeframe than the feed's are refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine import parse_config
from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds.catalog import CANDLE_SCHEMA, catalog_path, write_table
from engine.model import Bar
from engine.runtime.paper.warmup import fetch_warmup

HOUR = 3_600 * 10**9
START = 1_606_780_800_000_000_000 + 50 * HOUR  # the account's start, on a bar close


def _bar(symbol: str, close: int, price: float) -> Bar:
    return Bar(symbol, close, close, price, price, price, price, 1.0, HOUR)


class FakeFeed:
    def __init__(self) -> None:
        self.asked: list[dict[str, int]] = []

    async def history(self, count: Mapping[str, int], until_ns: int) -> dict[str, list[Bar]]:
        self.asked.append(dict(count))
        return {
            symbol: [_bar(symbol, until_ns - k * HOUR, -1.0) for k in range(n - 1, -1, -1)]
            for symbol, n in count.items()
        }


def _config(tmp_path: Path, catalog_bars: int) -> RunConfig:
    opens = START - HOUR * np.arange(catalog_bars + 3, 3, -1)  # ends 3 bars before START
    prices = np.arange(1, catalog_bars + 1, dtype=float)  # 1, 2, ...: a price is above zero
    table = pa.table(
        {
            "timestamp": (opens // 10**6).astype("int64"),
            "open": prices,
            "high": prices,
            "low": prices,
            "close": prices,
            "volume": np.ones(catalog_bars),
        },
        schema=CANDLE_SCHEMA,
    )
    path = catalog_path(tmp_path / "data" / "catalog", "ex", "A/USDT", "1h")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, table)
    return parse_config(
        {
            "data": [
                {"path": "catalog://ex/A/USDT/1h", "symbol": "A/USDT"},
                {"path": "b.csv", "symbol": "B/USDT"},
                {"path": "t.csv", "symbol": "T/USDT", "kind": "trades"},
            ],
            "strategy": {"path": "x:Y"},
        },
        base_dir=tmp_path,
    )


def test_catalog_topped_up_rest_for_the_rest_none_for_ticks(tmp_path: Path) -> None:
    config = _config(tmp_path, 20)
    feed = FakeFeed()
    timeframes = dict.fromkeys(("A/USDT", "B/USDT", "T/USDT"), HOUR)
    bars = asyncio.run(fetch_warmup(config, feed, 10, START, timeframes))
    assert feed.asked == [{"A/USDT": 3, "B/USDT": 10}]
    a = [bar for bar in bars if bar.symbol == "A/USDT"]
    assert [bar.close for bar in a] == [14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, -1.0, -1.0, -1.0]
    assert [bar.ts_event for bar in a] == [START - k * HOUR for k in range(9, -1, -1)]
    assert len([bar for bar in bars if bar.symbol == "B/USDT"]) == 10
    assert not [bar for bar in bars if bar.symbol == "T/USDT"]
    times = [bar.ts_event for bar in bars]
    assert times == sorted(times)


def test_a_catalog_of_another_timeframe_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, 20)
    timeframes = {"A/USDT": 4 * HOUR, "B/USDT": HOUR}
    with pytest.raises(ConfigError, match="holds 1h bars but the feed delivers A/USDT at 4h"):
        asyncio.run(fetch_warmup(config, FakeFeed(), 5, START, timeframes))
