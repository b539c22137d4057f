"""A new paper account's warm-up: the right market, the count asked for, a true warning.

* A ``catalog://`` file naming another symbol than its ``[[data]]`` table warmed the
  indicators on another market's prices (an ETH file for BTC/USDT): refused in one line.
* A venue whose history has gaps returned fewer than N bars (``history`` asks for N bar
  lengths of time): 996 of 1000 on the shipped BTC data, with a warning saying the data
  "holds no more" although it did. The warm-up now asks again, further back, until it has
  N bars or the venue has no more.
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
START = 1_606_780_800_000_000_000 + 5_000 * HOUR  # the account's start, on a bar close


class GappyFeed:
    """Hourly bars closing by ``START``, none at the ``missing`` closes, none before ``first``."""

    def __init__(self, missing: set[int], first: int = 0) -> None:
        self.missing = missing
        self.first = first
        self.asked: list[dict[str, int]] = []

    async def history(self, count: Mapping[str, int], until_ns: int) -> dict[str, list[Bar]]:
        # as CcxtFeed.history: the bars closed in the last ``n`` bar lengths before until_ns
        self.asked.append(dict(count))
        found = {}
        for symbol, n in count.items():
            closes = [until_ns - k * HOUR for k in range(n - 1, -1, -1)]
            found[symbol] = [
                Bar(symbol, c, c, 1.0, 1.0, 1.0, 1.0, 1.0, HOUR)
                for c in closes
                if c not in self.missing and c >= self.first
            ]
        return found


def _config(tmp_path: Path, path: str = "b.csv") -> RunConfig:
    return parse_config(
        {"data": [{"path": path, "symbol": "B/USDT"}], "strategy": {"path": "x:Y"}},
        base_dir=tmp_path,
    )


def test_gaps_in_the_venues_history_are_reached_over(tmp_path: Path) -> None:
    missing = {START - k * HOUR for k in (3, 10, 500, 998)}  # 4 gaps in the last 1000 hours
    feed = GappyFeed(missing)
    bars = asyncio.run(fetch_warmup(_config(tmp_path), feed, 1000, START, {"B/USDT": HOUR}))
    assert len(bars) == 1000  # was 996
    assert bars[-1].ts_event == START
    assert bars[0].ts_event == START - 1003 * HOUR  # 1000 bars span 1004 hours
    assert len({bar.ts_event for bar in bars}) == 1000
    assert not missing & {bar.ts_event for bar in bars}


def test_a_history_that_ends_is_not_asked_forever(tmp_path: Path) -> None:
    first = START - 99 * HOUR  # the venue lists the market 100 bars before the start
    feed = GappyFeed({START - HOUR}, first=first)
    bars = asyncio.run(fetch_warmup(_config(tmp_path), feed, 1000, START, {"B/USDT": HOUR}))
    assert len(bars) == 99  # all there is: 100 hours, one missing
    assert len(feed.asked) == 2  # the widened ask found nothing more: no third one


def test_a_catalog_file_of_another_symbol_is_refused(tmp_path: Path) -> None:
    opens = START - HOUR * np.arange(30, 0, -1)
    table = pa.table(
        {
            "timestamp": (opens // 10**6).astype("int64"),
            **{k: np.full(30, 2_000.0) for k in ("open", "high", "low", "close")},
            "volume": np.ones(30),
        },
        schema=CANDLE_SCHEMA,
    )
    path = catalog_path(tmp_path / "data" / "catalog", "ex", "ETH/USDT", "1h")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, table)
    config = _config(tmp_path, "catalog://ex/ETH/USDT/1h")
    with pytest.raises(ConfigError) as caught:
        asyncio.run(fetch_warmup(config, GappyFeed(set()), 10, START, {"B/USDT": HOUR}))
    message = str(caught.value)
    assert "catalog://ex/ETH/USDT/1h" in message
    assert "ETH/USDT bars" in message
    assert "B/USDT" in message
