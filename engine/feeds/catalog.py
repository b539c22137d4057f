"""The market-data catalog: downloaded candles and trades as Parquet files, one layout.

```
<root>/<exchange>/<BASE>_<QUOTE>/<timeframe>.parquet   candles, e.g. binance/BTC_USDT/1h.parquet
<root>/<exchange>/<BASE>_<QUOTE>/trades.parquet        trades (``kestrel data download --trades``)
```

``<root>`` is ``data/catalog`` unless given. A symbol's ``/`` becomes ``_`` (``BTC/USDT`` ->
``BTC_USDT``; a ``:`` of a derivative symbol becomes ``-``). Candle files have the columns
``timestamp`` (int64, bar OPEN time in ms since the epoch, UTC), ``open``, ``high``, ``low``,
``close``, ``volume`` (float64), sorted and unique, closed candles only. Trade files have
``timestamp`` (ms), ``id`` (string), ``side`` (string), ``price``, ``amount`` (float64).

A config names a catalog file instead of a path as ``path = "catalog://binance/BTC/USDT/1h"``
(``catalog://<exchange>/<symbol>/<timeframe>``), resolved under ``data/catalog`` of the
working directory, else of the config's folder.

Files are only ever replaced whole, by writing a temporary file beside them and renaming it
over the old one (atomic on POSIX): a download killed at any moment leaves either the old
file or the new one, never a torn one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.errors import DataError

__all__ = [
    "CANDLE_SCHEMA",
    "CATALOG_SCHEME",
    "DEFAULT_CATALOG",
    "CatalogEntry",
    "catalog_path",
    "list_catalog",
    "parse_catalog_uri",
    "read_candles",
    "symbol_folder",
    "write_table",
]

DEFAULT_CATALOG = Path("data/catalog")
CATALOG_SCHEME = "catalog://"
CANDLE_SCHEMA = pa.schema(
    [
        ("timestamp", pa.int64()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
    ]
)


def symbol_folder(symbol: str) -> str:
    """Return the folder name of ``symbol``: ``BTC/USDT`` -> ``BTC_USDT``."""
    return symbol.replace("/", "_").replace(":", "-")


def catalog_path(root: str | os.PathLike[str], exchange: str, symbol: str, name: str) -> Path:
    """Return ``<root>/<exchange>/<symbol folder>/<name>.parquet`` (name: timeframe/trades)."""
    return Path(root) / exchange / symbol_folder(symbol) / f"{name}.parquet"


def parse_catalog_uri(uri: str) -> tuple[str, str, str]:
    """Split ``catalog://binance/BTC/USDT/1h`` into ``("binance", "BTC/USDT", "1h")``.

    Raises:
        DataError: If the URI has no exchange, symbol or timeframe.
    """
    parts = uri.removeprefix(CATALOG_SCHEME).strip("/").split("/")
    if len(parts) < 3 or not all(parts):
        raise DataError(
            f"{uri!r} is not a catalog path; write catalog://<exchange>/<symbol>/<timeframe>, "
            "e.g. catalog://binance/BTC/USDT/1h (see `kestrel data list`)."
        )
    return parts[0], "/".join(parts[1:-1]), parts[-1]


def write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (temporary file, fsync, rename)."""
    import pyarrow.parquet as pq  # lazy: the CLI imports this module; only downloads write

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    pq.write_table(table, temporary, compression="zstd")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_candles(path: Path) -> pa.Table:
    """Return the candle table at ``path`` (empty with the schema when absent)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return CANDLE_SCHEMA.empty_table()
    try:
        return pq.read_table(path).select(CANDLE_SCHEMA.names).cast(CANDLE_SCHEMA)
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise DataError(
            f"{path}: cannot read the catalog file ({exc}); delete it to download it again."
        ) from None


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog file: where, what, how many rows and which time range (ms, UTC)."""

    exchange: str
    symbol_folder: str
    name: str
    path: Path
    rows: int
    first_ms: int | None
    last_ms: int | None


def list_catalog(root: str | os.PathLike[str] = DEFAULT_CATALOG) -> list[CatalogEntry]:
    """Return every Parquet file of the catalog at ``root``, sorted by path."""
    import pyarrow.parquet as pq

    entries: list[CatalogEntry] = []
    base = Path(root)
    for path in sorted(base.glob("*/*/*.parquet")):
        try:
            stamps = pq.read_table(path, columns=["timestamp"]).column(0).to_numpy()
        except (OSError, pa.ArrowException, KeyError):
            stamps = np.empty(0, dtype=np.int64)
        entries.append(
            CatalogEntry(
                exchange=path.parent.parent.name,
                symbol_folder=path.parent.name,
                name=path.stem,
                path=path,
                rows=len(stamps),
                first_ms=int(stamps[0]) if len(stamps) else None,
                last_ms=int(stamps[-1]) if len(stamps) else None,
            )
        )
    return entries
