"""Read CSV, Parquet or a DataFrame and turn its columns into raw numpy arrays.

Column rules (documented in :func:`engine.feeds.load_bars`):

* Names are matched case-insensitively after stripping spaces.
* The timestamp column is the first of ``timestamp, time, date, datetime, ts, open_time``
  that exists; otherwise an unnamed first column (``",Open,High,..."`` CSVs, an index
  written by pandas) or a ``DatetimeIndex``. An unnamed first column beside a column
  named like a time (``Gmt time``) is refused: pandas' ``to_csv()`` row numbers.
  Separate ``date`` and ``time`` columns (and no other timestamp column) are joined as
  ``"<date> <time>"``.
* ``open, high, low, close`` are required; ``volume`` is optional (0.0 when absent).
* Each column read is named once: ``close`` and ``Close``, or ``close`` twice (which pandas
  would read as ``close`` and ``close.1``), is a problem, not a guess.

Timestamp rules: `engine.feeds.epochs` (:func:`to_epoch_ns`, re-exported here with
:func:`rows_sentence`).
"""

from __future__ import annotations

import lzma
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from zipfile import BadZipFile

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.errors import DataError, did_you_mean
from engine.feeds.epochs import rows_sentence, to_epoch_ns

__all__ = [
    "TIMESTAMP_NAMES",
    "Extracted",
    "closest_column",
    "extract",
    "read_source",
    "repeated_sentence",
    "rows_sentence",
    "to_epoch_ns",
]

TIMESTAMP_NAMES = ("timestamp", "time", "date", "datetime", "ts", "open_time")
PRICE_NAMES = ("open", "high", "low", "close")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
# The compression pandas infers from each suffix, named as users know it.
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}
# pandas lets the codecs' own exceptions through (a truncated file is an EOFError, which
# click would even turn into "Aborted!"); ImportError: .zst without the zstandard package.
_CODEC_ERRORS = (lzma.LZMAError, zlib.error, BadZipFile)
SUPPORTED = (
    ".csv, .csv.gz, .csv.bz2, .csv.xz, .csv.zip (one CSV inside), .csv.zst (needs the "
    "zstandard package), .parquet or .pq"
)

# How pandas renames a repeated header name: close, close.1, close.2, ...
_RENAMED = re.compile(r"\.\d+$")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Extracted:
    """Raw columns of one table before validation.

    Attributes:
        source: Path or ``"<DataFrame>"`` for messages.
        columns: Column names as found in the source.
        rows: Number of data rows.
        ts_ns: int64 open times in ns UTC, or None if the timestamp column is missing.
        ts_ok: True when every timestamp parsed (ordering checks are meaningful).
        values: float64 arrays by lowercase name (``open``..``volume``); NaN where missing
            or non-numeric.
        has_volume: Whether the source had a volume column.
        problems: Every problem found so far, as sentences.
        reported: True for rows whose values were already reported as not numbers (so the
            NaN check does not report them twice).
    """

    source: str
    columns: list[str]
    rows: int
    ts_ns: IntArray | None = None
    ts_ok: bool = False
    values: dict[str, FloatArray] = field(default_factory=dict)
    has_volume: bool = False
    problems: list[str] = field(default_factory=list)
    reported: BoolArray | None = None

    @property
    def complete(self) -> bool:
        """Whether all required columns were found (problems may still exist)."""
        return self.ts_ns is not None and all(name in self.values for name in PRICE_NAMES)


def _read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file, decoding it in the system allocator's memory.

    pyarrow's default pool (mimalloc / jemalloc) keeps much of the memory of the decoded
    table after it is converted to pandas, even after ``release_unused()``: ~1.2 GB after
    10 M bars, ~36 bytes a bar measured with it. The system pool (malloc) gives it back
    when freed. The default pool is switched for the read only and restored after (the
    buffers stay valid: each knows its pool).
    """
    import pyarrow  # pandas' Parquet engine: installed with Kestrel

    previous = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    try:
        frame = pd.read_parquet(path)
    finally:
        pyarrow.set_memory_pool(previous)
    previous.release_unused()
    return frame


def read_source(source: str | os.PathLike[str] | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Parquet file, or pass a DataFrame through.

    Args:
        source: ``.csv`` (optionally compressed: ``.csv.gz``, ``.csv.zip``, ...; separated
            by commas, or by ``;``, tabs or ``|`` when the header has no comma),
            ``.parquet``/``.pq`` path, or a DataFrame.

    Returns:
        The table and its name for messages (the path, or ``"<DataFrame>"``).

    Raises:
        DataError: If the file is missing, of an unknown type, empty or unreadable.
    """
    if isinstance(source, pd.DataFrame):
        return source, "<DataFrame>"
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"Cannot read bars from a {type(source).__name__}; "
            "pass a .csv/.parquet path or a pandas DataFrame."
        )
    path = Path(source)
    name = str(source)
    lower = path.name.lower()
    if path.is_dir():
        raise DataError(f"{name}: is a folder, not a file; give the path of the data file in it.")
    if not path.is_file():
        raise DataError(f"{name}: no such file; check the path (it is relative to {Path.cwd()}).")
    if lower.endswith(PARQUET_SUFFIXES):
        try:
            return _read_parquet(path), name
        except (ValueError, OSError) as error:
            raise DataError(f"{name}: cannot be read as Parquet ({_reason(error)}).") from error
    if not lower.endswith(CSV_SUFFIXES):
        raise DataError(f"{name}: unsupported file type; use {SUPPORTED} (or a pandas DataFrame).")
    try:
        table = pd.read_csv(path)
        header = str(table.columns[0]) if table.shape[1] == 1 else ""
        separator = next((sep for sep in (";", "\t", "|") if sep in header), None)
        if separator is not None:
            # One column whose name holds another separator: a ; or tab separated file.
            table = pd.read_csv(path, sep=separator)
        return _header_as_written(table, path, separator or ","), name
    except pd.errors.EmptyDataError as error:
        raise DataError(
            f"{name}: the file is empty; give a file with a header and rows."
        ) from error
    except (ImportError, EOFError, ValueError, OSError, *_CODEC_ERRORS) as error:
        raise DataError(_unreadable_csv(name, lower, error)) from error


def _header_as_written(table: pd.DataFrame, path: Path, separator: str) -> pd.DataFrame:
    """Give back the names pandas changed to tell repeated header names apart.

    pandas reads ``close,...,close`` as ``close`` and ``close.1``: the second column would
    pass for another column and the first be used silently. Restored, the table has two
    columns named ``close``, which the readers refuse ("several columns are named close")
    as they refuse ``close`` and ``Close``. Only names ending in ``.<digits>`` can be such a
    rename, so the header is read again only then.
    """
    columns = [str(column) for column in table.columns]
    if not any(_RENAMED.search(column) for column in columns):
        return table
    header = pd.read_csv(
        path, sep=separator, header=None, nrows=1, dtype=str, keep_default_na=False
    )
    written = [str(value) for value in header.iloc[0].tolist()] if len(header) else []
    if len(written) != len(columns):
        return table
    restored = [
        original if _RENAMED.sub("", column) == original and column != original else column
        for column, original in zip(columns, written, strict=True)
    ]
    if restored == columns:
        return table
    table = table.copy(deep=False)
    table.columns = pd.Index(restored, dtype=object)
    return table


def repeated_sentence(source: str, name: str, columns: list[str], positions: list[int]) -> str:
    """Return the sentence refusing several columns that all read as ``name``."""
    shown = ", ".join(repr(columns[p]) for p in positions)
    return f"{source}: several columns are named {name} ({shown}); keep exactly one."


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _unreadable_csv(name: str, lower: str, error: BaseException) -> str:
    """Return the one-line reason a CSV (maybe compressed) cannot be read, and the fix."""
    compression = next(
        (kind for suffix, kind in _COMPRESSIONS.items() if lower.endswith(suffix)), None
    )
    if isinstance(error, UnicodeDecodeError):
        # No offset: pandas decodes in chunks, so the error's offset is not the file's.
        return f"{name}: not UTF-8 text (byte {error.object[error.start]:#04x}); save it as UTF-8."
    if compression is None or isinstance(error, pd.errors.ParserError):
        return f"{name}: cannot be read ({_reason(error)}); check that it is valid CSV."
    if isinstance(error, ImportError):
        return (
            f"{name}: reading {compression}-compressed CSV needs the zstandard package "
            f"(pip install zstandard), or decompress it and give the .csv; supported: {SUPPORTED}."
        )
    if isinstance(error, EOFError):
        what = "is truncated (the compressed data ends early)"
        fix = "copy or download it again"
    else:
        what = f"is not valid {compression} data ({_reason(error)})"
        fix = "check the file, or decompress it yourself and give the .csv"
    return f"{name}: cannot be read as {compression}-compressed CSV: it {what}; {fix}."


def extract(frame: pd.DataFrame, source: str) -> Extracted:
    """Find the timestamp and OHLCV columns and convert them to numpy arrays.

    Never raises for bad data: every problem is appended to ``Extracted.problems``.

    Args:
        frame: The table as read.
        source: Its name for messages.

    Returns:
        The raw arrays and the problems found in them.
    """
    frame = _index_to_column(frame)
    columns = [str(name) for name in frame.columns]
    result = Extracted(source=source, columns=columns, rows=len(frame))
    if isinstance(frame.index, pd.MultiIndex) or isinstance(frame.columns, pd.MultiIndex):
        result.problems.append(
            f"{source}: has a multi-level index or header; give one row per bar with flat "
            "columns timestamp, open, high, low, close, volume."
        )
        return result
    by_name: dict[str, list[int]] = {}
    for position, name in enumerate(columns):
        by_name.setdefault(name.strip().lower(), []).append(position)
    ts_position = _timestamp_position(by_name, columns)
    wanted = {name: by_name.get(name, []) for name in (*PRICE_NAMES, "volume")}
    # Suggest only among columns that are not already used for something.
    unused = [c for c in columns if c.strip().lower() not in (*wanted, *TIMESTAMP_NAMES)]
    index_like = _time_like(columns[1:]) if ts_position is None else None
    if index_like is not None and _unnamed_first(columns):
        result.problems.append(
            f"{source}: the first, unnamed column looks like a row index (pandas' to_csv() "
            f"writes one) and {index_like!r} like the times; rename {index_like!r} to "
            "'timestamp', or write the file with to_csv(index=False)."
        )
    elif ts_position is None:
        result.problems.append(
            f"{source}: no timestamp column{closest_column('timestamp', unused)}; name one of "
            f"{', '.join(TIMESTAMP_NAMES)} or put the times in the first, unnamed column."
        )
    for name in (name for name in PRICE_NAMES if not wanted[name]):
        result.problems.append(
            f"{source}: missing required column '{name}'{closest_column(name, unused)}; "
            f"the columns are {', '.join(columns)}, rename one to '{name}'."
        )
    for name, positions in wanted.items():
        if len(positions) > 1:
            result.problems.append(repeated_sentence(source, name, columns, positions))
    for name in _timestamp_names_used(by_name, ts_position, columns):
        if len(by_name[name]) > 1:
            result.problems.append(repeated_sentence(source, name, columns, by_name[name]))
    if result.problems or result.rows == 0:
        if result.rows == 0 and not result.problems:
            result.problems.append(f"{source}: has no data rows; give at least one bar.")
        return result
    assert ts_position is not None  # for mypy: problems were appended otherwise
    stamps, stamps_name = frame.iloc[:, ts_position], columns[ts_position]
    if _split_date_time(by_name):
        # Separate Date and Time columns (MetaTrader style): read them as one ISO text.
        date, time = frame.iloc[:, by_name["date"][0]], frame.iloc[:, by_name["time"][0]]
        stamps = date.astype("string").str.strip() + " " + time.astype("string").str.strip()
        stamps_name = f"{columns[by_name['date'][0]]} + {columns[by_name['time'][0]]}"
    result.ts_ns, ts_problems = to_epoch_ns(stamps, source, stamps_name)
    result.ts_ok = not ts_problems
    result.problems.extend(ts_problems)
    result.reported = np.zeros(result.rows, dtype=bool)
    for name, positions in wanted.items():
        if positions:
            values, bad, problem = _to_float(
                frame.iloc[:, positions[0]], source, name, result.ts_ns
            )
            result.values[name] = values
            result.reported |= bad
            if problem:
                result.problems.append(problem)
    result.has_volume = "volume" in result.values
    if not result.has_volume:
        result.values["volume"] = np.zeros(result.rows, dtype=np.float64)
    return result


def closest_column(name: str, candidates: list[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for a close candidate, else an empty string."""
    lowered = {candidate.strip().lower(): candidate for candidate in candidates}
    hint = did_you_mean(name, lowered)
    if not hint.startswith(" (did you mean"):
        return ""
    match = hint.split("'")[1]
    return f" (did you mean '{lowered[match]}'?)"


def _index_to_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Move a meaningful index (a DatetimeIndex or any named index) into the columns."""
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) and index.name is None:
        taken = {str(name).strip().lower() for name in frame.columns}
        if not taken.intersection(TIMESTAMP_NAMES):
            return frame.rename_axis("timestamp").reset_index()
        return frame
    if index.name is not None and not isinstance(index, pd.MultiIndex):
        return frame.reset_index()
    return frame


def _timestamp_names_used(
    by_name: dict[str, list[int]], ts_position: int | None, columns: list[str]
) -> list[str]:
    """Return the (lowercase) names of the columns the times are read from."""
    if ts_position is None:
        return []
    if _split_date_time(by_name):
        return ["date", "time"]
    name = columns[ts_position].strip().lower()
    return [name] if name in TIMESTAMP_NAMES else []


def _split_date_time(by_name: dict[str, list[int]]) -> bool:
    """Whether the times are split into a ``date`` and a ``time`` column and nothing else."""
    single = ("timestamp", "datetime", "ts", "open_time")
    return "date" in by_name and "time" in by_name and not any(n in by_name for n in single)


def _timestamp_position(by_name: dict[str, list[int]], columns: list[str]) -> int | None:
    """Return the position of the timestamp column, or None."""
    for name in TIMESTAMP_NAMES:
        if name in by_name:
            return by_name[name][0]
    if _unnamed_first(columns):
        # beside a column named like a time ("Gmt time"), an unnamed first column is a
        # pandas row index (`to_csv()`), not the times: its 0, 1, 2 read as 1970 seconds
        return None if _time_like(columns[1:]) else 0
    return None


def _unnamed_first(columns: list[str]) -> bool:
    first = columns[0].strip().lower() if columns else "close"
    return first in ("", "index") or first.startswith("unnamed: 0")


def _time_like(columns: list[str]) -> str | None:
    """Return the first of ``columns`` whose name says time or date, or None."""
    return next((c for c in columns if re.search(r"time|date", c, re.IGNORECASE)), None)


def _to_float(
    column: pd.Series, source: str, name: str, ts_ns: IntArray | None
) -> tuple[FloatArray, BoolArray, str | None]:
    """Convert a price or volume column to float64, reporting text that is not a number."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.ascontiguousarray(values), np.zeros(len(values), dtype=bool), None
    # true/false is not a number (pandas would read 1.0/0.0)
    numbers = (
        pd.Series(np.nan, index=column.index)
        if pd.api.types.is_bool_dtype(column)
        else pd.to_numeric(column, errors="coerce")
    )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = column.notna().to_numpy() & np.isnan(values)
    problem = None
    if bad.any():
        example = column.iloc[int(np.argmax(bad))]
        problem = rows_sentence(
            source,
            bad,
            f"column {name} has values that are not numbers",
            "write plain decimal numbers",
            ts_ns,
            f"{name}={example!r}",
        )
        values = np.where(bad, np.nan, values)
    return np.ascontiguousarray(values, dtype=np.float64), bad, problem
