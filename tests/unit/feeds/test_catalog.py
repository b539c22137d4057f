"""The catalog layout, catalog:// names, atomic writes and the listing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine.errors import DataError
from engine.feeds import load_bars
from engine.feeds.catalog import (
    CANDLE_SCHEMA,
    catalog_path,
    list_catalog,
    parse_catalog_uri,
    read_candles,
    symbol_folder,
    write_table,
)
from engine.runtime.backtest import resolve_data_path

T0 = 1_609_459_200_000  # 2021-01-01T00:00Z in ms


def candles(count: int) -> pa.Table:
    rows = {
        "timestamp": [T0 + i * 3_600_000 for i in range(count)],
        **{name: [100.0 + i for i in range(count)] for name in ("open", "high", "low", "close")},
        "volume": [1.0] * count,
    }
    return pa.Table.from_pydict(rows, schema=CANDLE_SCHEMA)


def test_layout_and_names() -> None:
    assert symbol_folder("BTC/USDT") == "BTC_USDT"
    assert symbol_folder("BTC/USDT:USDT") == "BTC_USDT-USDT"
    assert catalog_path("data/catalog", "binance", "ETH/BTC", "1h") == Path(
        "data/catalog/binance/ETH_BTC/1h.parquet"
    )
    assert parse_catalog_uri("catalog://binance/BTC/USDT/1h") == ("binance", "BTC/USDT", "1h")
    assert parse_catalog_uri("catalog://kraken/XBT/EUR/1d/") == ("kraken", "XBT/EUR", "1d")
    with pytest.raises(DataError, match="catalog://<exchange>/<symbol>/<timeframe>"):
        parse_catalog_uri("catalog://binance/1h")


def test_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = catalog_path(tmp_path, "binance", "BTC/USDT", "1h")
    write_table(path, candles(3))
    write_table(path, candles(5))
    assert read_candles(path).num_rows == 5
    assert sorted(p.name for p in path.parent.iterdir()) == ["1h.parquet"]
    frame = load_bars(path, symbol="BTC/USDT")  # the engine reads catalog files as they are
    assert (len(frame), frame.timeframe_ns) == (5, 3_600_000_000_000)
    assert frame.close.tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_a_damaged_file_is_a_data_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = catalog_path(tmp_path, "binance", "BTC/USDT", "1h")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="delete it to download it again"):
        read_candles(path)


def test_list_shows_rows_and_range(tmp_path: Path) -> None:
    write_table(catalog_path(tmp_path, "binance", "BTC/USDT", "1h"), candles(4))
    write_table(catalog_path(tmp_path, "binance", "ETH/USDT", "1h"), candles(0))
    entries = list_catalog(tmp_path)
    assert [(e.symbol_folder, e.name, e.rows) for e in entries] == [
        ("BTC_USDT", "1h", 4),
        ("ETH_USDT", "1h", 0),
    ]
    assert (entries[0].first_ms, entries[0].last_ms) == (T0, T0 + 3 * 3_600_000)
    assert entries[1].first_ms is None


def test_a_config_names_a_catalog_file_beside_it(tmp_path: Path) -> None:
    path = catalog_path(tmp_path / "data" / "catalog", "binance", "BTC/USDT", "1h")
    write_table(path, candles(2))
    found = resolve_data_path("catalog://binance/BTC/USDT/1h", str(tmp_path))
    assert found == tmp_path / "data" / "catalog" / "binance" / "BTC_USDT" / "1h.parquet"
    with pytest.raises(DataError, match="kestrel data download --exchange binance --symbols"):
        resolve_data_path("catalog://binance/ETH/USDT/1h", str(tmp_path))
