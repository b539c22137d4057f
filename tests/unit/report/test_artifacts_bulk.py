"""The bulk CSV writers give the bytes the row-by-row ones gave."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.report import artifacts, csv_text
from engine.report.artifacts import iso, iso_many, repr_many, repr_runs
from engine.report.outputs import EquityCurve


def test_iso_many_matches_iso_on_edge_values() -> None:
    values = [
        None,
        0,
        1,
        1_600_000_000 * 10**9,
        1_600_000_000 * 10**9 + 500_000_000,
        1_600_000_000 * 10**9 + 123,
        -86_400 * 10**9,
        4_102_444_799 * 10**9 + 999_999_999,  # 2099-12-31T23:59:59.999999999
        9_223_372_036 * 10**9,  # 2262-04-11T23:47:16, the last whole second in int64 ns
        -1,
    ]
    assert iso_many(values) == [iso(v) for v in values]
    assert iso_many(np.array([0, 60 * 10**9], dtype=np.int64)) == ["", "1970-01-01T00:01:00Z"]
    assert iso_many([]) == []


def test_iso_many_matches_iso_sorted_or_not_across_days_and_years() -> None:
    """Each day's date is formatted once: sorted columns by runs, others by distinct day."""
    rng = np.random.default_rng(3)
    seconds = rng.integers(-9_000_000_000, 9_223_372_036, 5_000)  # 1684 to 2262
    values = seconds * 10**9 + np.where(rng.random(5_000) < 0.1, 500_000_000, 0)
    minutes = np.arange(3 * 1440, dtype=np.int64) * 60 * 10**9 + 1_600_000_000 * 10**9
    for column in (values, np.sort(values), minutes):
        assert iso_many(column) == [iso(v) for v in column.tolist()]


def test_block_writer_matches_csv_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [["a,b", 'say "hi"', ""], ["x", "1.5", "2020-01-01T00:00:00Z"], ["", "", ""]] * 5
    expected = tmp_path / "expected.csv"
    with expected.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("h1", "h2", "h3"))
        writer.writerows(rows)
    got = tmp_path / "got.csv"
    monkeypatch.setattr(csv_text, "CHUNK_ROWS", 4)  # several blocks, the last one short
    columns = [list(column) for column in zip(*rows, strict=True)]
    csv_text.write_columns(got, ("h1", "h2", "h3"), columns)
    assert got.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize(
    "cell",
    [
        "plain",
        "",
        " lead and trail ",
        "é ✓",
        "tab\there",
        "semi;colon",
        "quo'te",
        "a,b",
        'q"',
        "\r",
        "x\ny",
    ],
)
def test_unquoted_writer_matches_csv_writer(tmp_path: Path, cell: str) -> None:
    """Arrow writes the file when no cell needs quotes; otherwise the csv module does."""
    rows = [["o-1", cell, "", "1.5"], ["o-2", "x", cell, "2020-01-01T00:00:00Z"]] * 3
    expected = tmp_path / "expected.csv"
    with expected.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("h1", "h2", "h3", "h4"))
        writer.writerows(rows)
    got = tmp_path / "got.csv"
    columns = [list(column) for column in zip(*rows, strict=True)]
    csv_text.write_columns(got, ("h1", "h2", "h3", "h4"), columns)
    assert got.read_bytes() == expected.read_bytes()
    quoted = any(c in cell for c in ',"\r\n')
    assert csv_text.write_unquoted(got, ("h1", "h2", "h3", "h4"), columns) is not quoted


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        (
            ("order_id", "quantity", "limit_price", "ts_event", "tag", "count"),
            [
                {"order_id": "o-1", "quantity": 1.5, "limit_price": None,
                 "ts_event": 1_600_000_000 * 10**9, "tag": "a,b", "count": 3},
                {"order_id": "o-2", "quantity": 2.0, "limit_price": 99.25,
                 "ts_event": 1_600_000_060 * 10**9, "tag": "", "count": 4},
            ] * 200,
        ),
        (("only",), [{"only": "x", "ignored": 1}, {"only": "y", "ignored": 2}]),
        (("a", "b"), []),
    ],
)  # fmt: skip
def test_dict_rows_writer_matches_cell_by_cell_csv(
    tmp_path: Path, header: tuple[str, ...], rows: list[dict[str, object]]
) -> None:
    """`write_rows` gathers each row's cells in one pass: the bytes of `cell_text` per cell."""
    expected = tmp_path / "expected.csv"
    with expected.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[csv_text.cell_text(k, row[k]) for k in header] for row in rows])
    got = tmp_path / "got.csv"
    csv_text.write_rows(got, header, rows)
    assert got.read_bytes() == expected.read_bytes()


def test_unquoted_writer_leaves_odd_columns_to_the_csv_module(tmp_path: Path) -> None:
    header = ("a", "b")
    assert not csv_text.write_unquoted(tmp_path / "x.csv", header, [["1"], [None]])
    assert not csv_text.write_unquoted(tmp_path / "x.csv", header, [["1"], [2]])
    assert not csv_text.write_unquoted(tmp_path / "x.csv", ("a",), [[""]])
    assert not csv_text.write_unquoted(tmp_path / "x.csv", ("a,b", "c"), [["1"], ["2"]])
    assert csv_text.write_unquoted(tmp_path / "x.csv", header, [[], []])
    assert (tmp_path / "x.csv").read_text() == "a,b\n"


def test_repr_runs_is_repr_of_every_value() -> None:
    runs = np.repeat([0.0, -0.0, 0.1, np.nan, 1e300, -2.5, 0.0], [3, 2, 4, 2, 1, 5, 3])
    assert repr_runs(runs) == [repr(v) for v in runs.tolist()]
    assert repr_runs(runs)[3:5] == ["-0.0", "-0.0"]  # not folded into the 0.0 run
    distinct = np.arange(10, dtype=np.float64) / 3.0  # the path without runs
    assert repr_runs(distinct) == [repr(v) for v in distinct.tolist()]
    assert repr_runs(np.empty(0)) == []


def test_repr_many_is_repr_across_magnitudes_and_layouts() -> None:
    rng = np.random.default_rng(13)
    magnitudes = 10.0 ** rng.integers(-330, 309, 200_000).astype(np.float64)
    values = np.concatenate(
        [
            rng.uniform(-1, 1, 200_000) * 10.0 ** rng.integers(-8, 20, 200_000),
            rng.uniform(-1, 1, 200_000) * np.where(np.isfinite(magnitudes), magnitudes, 1.0),
            np.round(rng.uniform(0, 1e6, 100_000), 2),  # prices and cash in cents
            np.round(rng.uniform(-1e5, 1e5, 100_000), 8),
            rng.lognormal(11, 0.5, 100_000),  # equity-like
            np.round(rng.uniform(-1e7, 1e7, 50_000)),  # integers: "100000.0", not "100000"
            [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e-5, 1e15, 1e16, 123456789012345.6],
            [1e22, 5e-324, -1.7976931348623157e308, np.nan, np.inf, -np.inf, 0.1, 1 / 3],
            [999_999_999_999_999.0, -(1e15 - 1), 2.0**53, 1e14, -1e14, 12.0, -3.0, 0.0] * 40,
        ]
    )
    assert repr_many(values) == [repr(v) for v in values.tolist()]
    assert repr_many(values[:10]) == [repr(v) for v in values[:10].tolist()]  # small: repr


def test_repr_many_is_repr_where_arrow_is_positional_and_where_not() -> None:
    """Whole numbers, zeros of either sign and values repr writes with an exponent among
    positional ones; a column Arrow writes an exponent in (1e10 and up) is checked per text."""
    rng = np.random.default_rng(11)
    positional = np.concatenate(
        [
            rng.lognormal(11, 0.5, 5_000),
            np.round(rng.uniform(-1e6, 1e6, 1_000)),
            [0.0, -0.0, 1e-4, -1e-4, 9_999_999_999.0, 123.5],
        ]
    )
    odd = np.array([1e-5, -9.999999999999999e-05, 1e-300, 1e16, -2e20, np.nan, np.inf, -np.inf])
    for values in (positional, np.concatenate([positional, odd]), np.append(positional, 1e10)):
        values = rng.permutation(values)
        assert repr_many(values) == [repr(v) for v in values.tolist()]


def test_equity_writer_matches_csv_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow's CSV writer lays out equity.csv as the csv module did, row by row."""
    n = 700  # past BULK_REPR_MIN, in several blocks
    rng = np.random.default_rng(7)
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9 + 1_600_000_000 * 10**9
    ts[3] += 500_000_000  # a fraction of a second
    ts[5] = -86_400 * 10**9  # before 1970
    cash = np.repeat([100_000.0, 0.1, -0.0, 1e-300, 5e20], [300, 100, 100, 100, 100])
    equity = 1e5 + rng.normal(0.0, 1e3, n)
    exposure = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.0, 1e6, n))
    curve = EquityCurve(ts, cash, equity, exposure)
    expected = tmp_path / "expected.csv"
    with expected.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(artifacts.EQUITY_COLUMNS)
        for row in zip(ts.tolist(), cash.tolist(), equity.tolist(), exposure.tolist(), strict=True):
            writer.writerow([iso(row[0]), *map(repr, row[1:])])
    got = tmp_path / "got.csv"
    monkeypatch.setattr(csv_text, "CHUNK_ROWS", 256)  # several blocks, the last one short
    artifacts.write_equity(got, curve)
    assert got.read_bytes() == expected.read_bytes()
    artifacts.write_equity(got, EquityCurve(*(np.empty(0) for _ in range(4))))
    assert got.read_text() == "ts_event,cash,equity,gross_exposure\n"


def test_cli_import_leaves_heavy_optional_libraries_alone() -> None:
    """``import engine.cli`` must not load the charting, exchange or ML libraries."""
    code = (
        "import sys, engine.cli; "
        "print(','.join(m for m in ('plotly', 'ccxt', 'sklearn') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
