"""CSV text in bulk: whole columns of timestamps and floats formatted at once, and written.

In: columns of values (Python lists, numpy arrays). Out: their text — timestamps as
ISO-8601 UTC with a ``Z`` (`iso`: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, empty for 0/None),
floats as ``repr`` (shortest exact), NaN/inf and None empty — and CSV files of them with
the bytes the csv module writes row by row (``QUOTE_MINIMAL``, ``\n`` line ends). What
`engine.report.artifacts` writes its CSVs with.

`iso_many` lays a whole timestamp column out in numpy, each day's date formatted once;
`repr_many` gives floats ``repr``'s text from Arrow's cast, `repr_runs` once per run of
equal values. Formatted columns stay Arrow string arrays (no Python ``str`` per cell) up
to Arrow's CSV writer, which lays the rows out unquoted when no cell needs quotes
(`write_unquoted`: timestamps and numbers never do); a file with a cell that does goes
through the csv module, `CHUNK_ROWS` rows at a time.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHUNK_ROWS",
    "cell_text",
    "format_column",
    "format_numbers",
    "iso",
    "iso_arrow",
    "iso_many",
    "number_text",
    "repr_many",
    "repr_runs",
    "repr_runs_arrow",
    "write_columns",
    "write_rows",
    "write_unquoted",
]

CHUNK_ROWS = 200_000  # rows formatted at once: bounds the strings alive while writing
BULK_REPR_MIN = 256  # fewer values: ``repr`` each, Arrow's set-up would cost more


def iso(ts_ns: int | None) -> str:
    """Return ``ts_ns`` as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (empty for None/0)."""
    if not ts_ns:
        return ""
    seconds, nanos = divmod(int(ts_ns), 10**9)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += f".{nanos:09d}".rstrip("0")
    return text + "Z"


def period_text(start_ns: int | None, end_ns: int | None) -> str:
    """Return a run's dates, ``YYYY-MM-DD → YYYY-MM-DD``, both days holding its bars.

    ``end_ns`` is the run's end, its last bar's close: a daily bar opened on Friday closes
    on Saturday at 00:00, and that date ended GOOG's range on a Saturday (audit finding
    10d). The end date is the day of the last instant before the close, the last bar's.
    """
    last = end_ns - 1 if end_ns and start_ns is not None and end_ns > start_ns else end_ns
    return f"{iso(start_ns)[:10]} → {iso(last)[:10]}"


def iso_many(ts_ns: Sequence[int | None] | np.ndarray) -> list[str]:
    """Return `iso` of every value, formatted in bulk (the same text as `iso`)."""
    out: list[str] = iso_arrow(ts_ns).to_pylist()
    return out


def iso_arrow(ts_ns: Sequence[int | None] | np.ndarray) -> Any:
    """Return `iso` of every value as an Arrow string array (None and 0 give ``""``).

    Whole seconds are laid out by `_iso_seconds`; the rare values with a fraction of a
    second, ``0`` / None and times before 1970 are replaced by `_iso_numpy`'s text.
    """
    import pyarrow as pa  # pandas has imported it already
    import pyarrow.compute as pc

    values = np.asarray(
        [0 if v is None else v for v in ts_ns] if not isinstance(ts_ns, np.ndarray) else ts_ns,
        dtype=np.int64,
    )
    seconds, nanos = np.divmod(values, 10**9)
    text = _iso_seconds(seconds)
    rare = (nanos != 0) | (seconds <= 0)
    if rare.any():
        text = pc.replace_with_mask(text, pa.array(rare), pa.array(_iso_numpy(values[rare])))
    return text


ISO_WIDTH = 20  # len("YYYY-MM-DDTHH:MM:SSZ"): int64 nanoseconds span the years 1677-2262
_DAY_S = 86_400


def _iso_seconds(seconds: np.ndarray) -> Any:
    """Return whole seconds since 1970 as ``YYYY-MM-DDTHH:MM:SSZ``, an Arrow string array.

    Every text is `ISO_WIDTH` bytes, so the array is laid out in numpy and handed to Arrow
    as it is: each distinct day is formatted once (numpy's ``datetime_as_string``; a
    sorted column of bars has one per day) and the time of day is read from a table of
    the 86,400 ``HH:MM:SS``. ~3x faster than Arrow's cast of a timestamp array to text
    (the same text), which formats each date again.
    """
    import pyarrow as pa  # pandas has imported it already

    count = seconds.size
    if count * ISO_WIDTH >= 2**31:  # past what int32 offsets address: Arrow's own cast
        text = pa.array(seconds.astype("datetime64[s]")).cast(pa.string())
        return _arrow_iso_layout(text)
    days, second_of_day = np.divmod(seconds, _DAY_S)
    if count > 1 and bool((days[1:] >= days[:-1]).all()):  # sorted: one run per day
        starts = np.empty(count, dtype=bool)
        starts[0] = True
        np.not_equal(days[1:], days[:-1], out=starts[1:])
        distinct, which = days[starts], np.cumsum(starts) - 1
    else:
        distinct, which = np.unique(days, return_inverse=True)
    dates = np.datetime_as_string(distinct.astype("datetime64[D]")).astype("S10")
    layout = np.empty((count, ISO_WIDTH), dtype=np.uint8)
    layout[:, :10] = dates[which].view(np.uint8).reshape(count, 10)
    layout[:, 10] = ord("T")
    layout[:, 11:19] = _clock_texts()[second_of_day].view(np.uint8).reshape(count, 8)
    layout[:, 19] = ord("Z")
    offsets = np.arange(0, (count + 1) * ISO_WIDTH, ISO_WIDTH, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(layout))


def _arrow_iso_layout(text: Any) -> Any:
    """Return Arrow's ``YYYY-MM-DD HH:MM:SS`` texts as ``YYYY-MM-DDTHH:MM:SSZ``."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        pc.binary_replace_slice(text, start=10, stop=11, replacement="T"), "Z", ""
    )


@cache
def _clock_texts() -> np.ndarray:
    """Return ``HH:MM:SS`` of every second of a day, as 86,400 8-byte strings."""
    second = np.arange(_DAY_S)
    fields = (second // 3600, second // 60 % 60, second % 60)
    table = np.full((_DAY_S, 8), ord(":"), dtype=np.uint8)
    for position, value in zip((0, 3, 6), fields, strict=True):
        table[:, position] = ord("0") + value // 10
        table[:, position + 1] = ord("0") + value % 10
    return table.view("S8").ravel()


def _iso_numpy(values: np.ndarray) -> list[str]:
    """Return `iso` of every int64 in ``values``, through numpy's ``datetime_as_string``."""
    seconds, nanos = np.divmod(values, 10**9)
    text = np.char.add(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "Z")
    out: list[str] = text.tolist()
    for i in np.flatnonzero((values == 0) | (nanos != 0)).tolist():  # rare: per value
        out[i] = iso(int(values[i]))
    return out


def repr_many(values: np.ndarray) -> list[str]:
    """Return ``repr`` of every float64 in ``values`` (the same text), formatted in bulk."""
    out: list[str] = _repr_arrow(values).to_pylist()
    return out


def _repr_arrow(values: np.ndarray) -> Any:
    """Return ``repr`` of every float64 in ``values`` as an Arrow string array.

    Arrow's float-to-string cast writes the same shortest round-trip digits as ``repr``
    but lays some numbers out differently (``100000`` for ``100000.0``, ``0.00001`` for
    ``1e-05``, ``1.2e+11`` for ``120000000000.5``). Its text is kept where it is positional
    (no exponent) and ``repr``'s is too (``1e-4 <= |x| < 1e16``, or zero): with a decimal
    point as it is, a whole number (``0``, ``-0``, ``100000``: exposure while flat, round
    cash) with ``.0`` appended; there the two agree (``tests/unit/report/
    test_artifacts_bulk.py`` compares ~750 k values across magnitudes). Every other value
    — tiny, huge, NaN, inf — goes through ``repr``. For an equity curve this is ~4x
    faster than ``repr`` per value (issue 13).

    Which texts are positional is checked over the whole text buffer at once
    (`_all_positional`); when one is not (Arrow writes ``1e+10`` and up with an exponent),
    `_repr_arrow_checked` looks at each text.
    """
    import pyarrow as pa  # pandas has imported it already
    import pyarrow.compute as pc

    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.size < BULK_REPR_MIN:
        return pa.array(list(map(repr, values.tolist())), pa.string())
    size = np.abs(values)
    # repr's exponent range, NaN and inf (comparisons with NaN are False): repr'd one by one
    odd = ~((size >= 1e-4) & (size < 1e16)) & (values != 0)
    stand_in = np.where(odd, 0.5, values) if odd.any() else values  # any positional value
    whole = np.trunc(stand_in) == stand_in
    texts = pa.array(stand_in).cast(pa.string())
    if not _all_positional(texts, values.size - int(np.count_nonzero(whole))):
        return _repr_arrow_checked(values)
    if whole.any():
        mask = pa.array(whole)
        appended = pc.binary_join_element_wise(texts.filter(mask), ".0", "")
        texts = pc.replace_with_mask(texts, mask, appended)
    if odd.any():
        fixed = pa.array(list(map(repr, values[odd].tolist())), pa.string())
        texts = pc.replace_with_mask(texts, pa.array(odd), fixed)
    return texts


def _all_positional(texts: Any, points: int) -> bool:
    """Return whether every text of Arrow's cast is positional, ``points`` of them with a
    decimal point (the values that are not whole) and the rest without.

    Read from the text bytes in one pass each: no letter (``e``, ``nan``, ``inf``: every
    byte is a digit, ``-`` or ``.``) and as many ``.`` as texts that must have one. A
    positional text of a value with a fraction has a point, so the count can only match
    if each of those has exactly one and no whole number has any.
    """
    _, offsets_buffer, data_buffer = texts.buffers()
    if data_buffer is None:
        return points == 0
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    if data.size and int(data.max()) > ord("9"):
        return False
    return int(np.count_nonzero(data == ord("."))) == points


def _repr_arrow_checked(values: np.ndarray) -> Any:
    """`_repr_arrow` deciding text by text which of Arrow's texts to keep (see there)."""
    import pyarrow as pa  # pandas has imported it already
    import pyarrow.compute as pc

    texts = pa.array(values).cast(pa.string())
    plain = pc.invert(pc.match_substring(texts, "e")).to_numpy(zero_copy_only=False)
    point = pc.match_substring(texts, ".").to_numpy(zero_copy_only=False)
    size = np.abs(values)
    whole = plain & ~point & np.isfinite(values) & (size < 1e15)
    if whole.any():
        texts = pc.if_else(pa.array(whole), pc.binary_join_element_wise(texts, ".0", ""), texts)
    disagree = ~((plain & point & (size >= 1e-4)) | whole)
    if disagree.any():
        fixed = pa.array(list(map(repr, values[disagree].tolist())), pa.string())
        texts = pc.replace_with_mask(texts, pa.array(disagree), fixed)
    return texts


def repr_runs(values: np.ndarray) -> list[str]:
    """Return ``repr`` of every float64 in ``values``, formatting each run of equal values once.

    Equal means the same bits, so ``-0.0`` and ``0.0`` (and NaNs) keep their own text.
    """
    out: list[str] = repr_runs_arrow(values).to_pylist()
    return out


def repr_runs_arrow(values: np.ndarray) -> Any:
    """`repr_runs` as an Arrow string array (each run's text repeated by Arrow's ``take``)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.float64)
    if not values.size:
        return pa.array([], pa.string())
    bits = values.view(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], bits[1:] != bits[:-1])))
    # A value's text costs ~10x what repeating it does (Arrow's cast vs its take): runs
    # pay unless nearly every value is new (an equity curve half the time flat: ~1/2 are)
    if starts.size * 8 > values.size * 7:
        return _repr_arrow(values)
    runs = np.repeat(np.arange(starts.size), np.diff(np.append(starts, values.size)))
    return _repr_arrow(values[starts]).take(pa.array(runs))


def number_text(value: float | None) -> str:
    """Return a number's cell: ``repr`` of the float, empty for None, NaN and inf."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(float(value))


def cell_text(column: str, value: Any) -> str:
    """Return one CSV cell: a time column's `iso`, a float's `number_text`, else ``str``."""
    if column.startswith("ts_") or column.endswith("_time"):
        return iso(value)
    if isinstance(value, float) or value is None:
        return number_text(value)
    return str(value)


# A formatted CSV column: a list of ``str``, or an Arrow string array where it was
# formatted in bulk (timestamps, floats), which stays Arrow's up to the writer.
_Cells = Any


def format_numbers(values: list[float | None]) -> _Cells:
    """Return `number_text` of every value, in bulk when all are Python floats."""
    if set(map(type, values)) == {float}:
        return _float_texts(values)
    return [number_text(v) for v in values]


def _float_texts(values: list[Any]) -> _Cells:
    """Return `number_text` of Python floats in bulk: ``repr``, NaN and inf empty."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return _repr_arrow(array)
    return [repr(v) if ok else "" for v, ok in zip(values, finite.tolist(), strict=True)]


def format_column(name: str, values: list[Any]) -> _Cells:
    """Format one column as `cell_text` does, in bulk where every value has one plain type.

    A column of Python floats (finite: ``repr``; NaN/inf: empty), of ``str``, of ``int`` or
    all ``None`` (empty) is formatted without a call per cell (the same text); anything
    else — numpy scalars, bools, mixed types — cell by cell.
    """
    if name.startswith("ts_") or name.endswith("_time"):
        return iso_arrow(values)
    kinds = set(map(type, values))
    if kinds == {float}:
        return _float_texts(values)
    if kinds == {str}:
        return list(values)
    if kinds == {int}:
        return list(map(str, values))
    if kinds == {type(None)}:  # e.g. the limit and stop prices of market orders
        return [""] * len(values)
    return [cell_text(name, v) for v in values]


def write_rows(path: Path, header: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (dicts holding every ``header`` key) as a CSV file, column by column."""
    # One pass over the rows (each row's cells fetched by one C call, then transposed):
    # a pass per column cost ~6 ms per column at 39,000 orders, 0.1 s for orders.csv.
    if not rows:
        write_columns(path, header, [format_column(k, []) for k in header])
        return
    cells = map(itemgetter(*header), rows) if len(header) > 1 else ((r[header[0]],) for r in rows)
    columns = zip(*cells, strict=True)
    write_columns(
        path, header, [format_column(k, list(v)) for k, v in zip(header, columns, strict=True)]
    )


def write_columns(path: Path, header: Sequence[str], columns: list[_Cells]) -> None:
    """Write formatted ``columns`` (`format_column`'s) under ``header`` as a CSV file."""
    if write_unquoted(path, header, columns):
        return
    import pyarrow as pa

    lists = [c.to_pylist() if isinstance(c, pa.Array) else c for c in columns]
    size = len(lists[0]) if lists else 0
    _write_blocks(path, header, size, lambda a, b: [column[a:b] for column in lists])


# what makes the csv module quote a cell (QUOTE_MINIMAL, ``lineterminator="\n"``)
_QUOTED = '[,"\r\n]'


def write_unquoted(path: Path, header: Sequence[str], columns: list[_Cells]) -> bool:
    """Write the CSV with Arrow's writer if no cell needs quotes; return False if one does.

    Then the csv module would write every cell as it is, and so does Arrow with
    ``quoting_style="none"``: the same bytes, without a Python call per row. A column
    that is not all ``str`` (None, numbers) leaves the file to the csv module too. Arrow
    columns (`format_column`'s timestamps and float ``repr``s) never need quotes: not searched.
    """
    import pyarrow as pa  # pandas has imported it already
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if len(columns) < 2 or any(_needs_quotes(name) for name in header):
        return False  # one column: the csv module quotes an empty cell (``""``)
    arrays = []
    for column in columns:
        if isinstance(column, pa.Array):
            arrays.append(column)
            continue
        try:
            array = pa.array(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return False
        if array.null_count or pc.any(pc.match_substring_regex(array, _QUOTED)).as_py():
            return False
        arrays.append(array)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        if len(arrays[0]):
            pa_csv.write_csv(pa.table(arrays, names=list(header)), handle, options)
    return True


def _needs_quotes(cell: str) -> bool:
    return any(c in cell for c in ',"\r\n')


def _write_blocks(
    path: Path,
    header: Sequence[str],
    size: int,
    block: Callable[[int, int], list[list[str]]],
) -> None:
    """Write ``size`` rows, `CHUNK_ROWS` at a time; ``block(a, b)`` gives rows a..b by column.

    Quoting is the csv module's (a cell with a comma or a quote is quoted), so the bytes are
    those a ``csv.writer`` writes row by row.
    """
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for start in range(0, size, CHUNK_ROWS):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(
                zip(*block(start, min(start + CHUNK_ROWS, size)), strict=True)
            )
            handle.write(buffer.getvalue())
