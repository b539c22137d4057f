"""A run folder damaged after the run: one line naming the file, exit 2, nothing changed.

Found by an audit (stop 31): `kestrel report` and `runs compare` on a folder whose
metrics.json, equity.csv, trades.csv or config.toml had been damaged ended in "internal
error … please report it" (exit 70); a metrics.json holding a JSON list was shown as "—"
for every figure; an equity.csv cut short was rendered as a three-day run (return 2.12 %,
CAGR 751 %) beside "trades 115". The stored metrics say how many equity rows the run wrote
and when it ended (``bars``, ``end``), so a curve cut short is caught without hashing.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli import main
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good") / "run"
    config = tmp_path_factory.mktemp("cfg") / "sma.toml"
    config.write_text(
        '[run]\nname = "damage"\n[[data]]\n'
        f'path = "{REPO / "data/binance_BTC_USDT_1h_20201201_20210717.csv"}"\n'
        'symbol = "BTC/USDT"\nend = "2021-01-15"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
    )
    assert main(["backtest", str(config), "--no-db", "--out", str(folder)]) == 0
    return folder


def _truncate(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 3]))


DAMAGE = {
    "metrics.json not JSON": ("metrics.json", lambda p: p.write_text('{"total_return": 0.3, ')),
    "metrics.json a list": ("metrics.json", lambda p: p.write_text("[1, 2, 3]\n")),
    "equity.csv garbage": ("equity.csv", lambda p: p.write_text(p.read_text() + "xx,yy,zz\n")),
    "equity.csv cut short": ("equity.csv", _truncate),
    "trades.csv garbage": ("trades.csv", lambda p: p.write_text("garbage\n1\n")),
    "config.toml not TOML": ("config.toml", lambda p: p.write_text("[run\nname = \n")),
}


def _cut_last_line(keep: int) -> Callable[[Path], None]:
    """Cut the file's last line to its first ``keep`` characters (a copy that stopped)."""

    def cut(path: Path) -> None:
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:-1]) + lines[-1][:keep])

    return cut


def _set_cell(row: int, column: str, text: str = "") -> Callable[[Path], None]:
    """Set one cell (``row``: 1 = the first line under the header; empty by default)."""

    def spoil(path: Path) -> None:
        lines = path.read_text().splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        cells = lines[row].rstrip("\n").split(",")
        cells[header.index(column)] = text
        lines[row] = ",".join(cells) + "\n"
        path.write_text("".join(lines))

    return spoil


def _keep_rows(count: int) -> Callable[[Path], None]:
    def keep(path: Path) -> None:
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[: count + 1]))

    return keep


def _last_cell_cut(path: Path) -> None:
    """Cut equity.csv's last line inside its equity cell: `…,13342.94…` becomes `…,133`."""
    lines = path.read_text().splitlines(keepends=True)
    time, cash, equity, _ = lines[-1].rstrip("\n").split(",")
    lines[-1] = f"{time},{cash},{equity[:3]}"
    path.write_text("".join(lines))


# Audit of the HTML reports, finding 1: each of these rendered silently with wrong numbers
# (final equity 133.00, Sharpe "—", fees short by the cut fee and a fill dated 1970, 59 of
# 115 trades). Each is one line naming the file, the row and the column, exit 2.
CELLS = {
    "equity.csv last line cut in a cell": ("equity.csv", _last_cell_cut, "column 'gross_exposure'"),
    "equity.csv one empty cell": ("equity.csv", _set_cell(100, "equity"), "row 100"),
    "equity.csv empty time": ("equity.csv", _set_cell(7, "ts_event"), "row 7"),
    "fills.csv last line cut": ("fills.csv", _cut_last_line(70), "column 'ts_event'"),
    "fills.csv empty fee": ("fills.csv", _set_cell(3, "fee"), "row 3, column 'fee'"),
    "fills.csv bad price": ("fills.csv", _set_cell(1, "price", "18x9"), "row 1, column 'price'"),
    "trades.csv empty exit time":
        ("trades.csv", _set_cell(5, "exit_time"), "row 5, column 'exit_time'"),
    "trades.csv empty net pnl": ("trades.csv", _set_cell(2, "net_pnl"), "row 2, column 'net_pnl'"),
    "trades.csv cut after rows": ("trades.csv", _keep_rows(3), "num_trades"),
    "fills.csv cut after rows": ("fills.csv", _keep_rows(6), "fees_paid"),
    "orders.csv empty time":
        ("orders.csv", _set_cell(4, "ts_requested"), "row 4, column 'ts_requested'"),
    "orders.csv last line cut": ("orders.csv", _cut_last_line(30), "orders.csv"),
}  # fmt: skip


@pytest.mark.parametrize("damage", sorted(CELLS))
def test_a_damaged_cell_or_row_is_one_line_naming_file_row_and_column(
    kestrel: CliRunner, good_run: Path, tmp_path: Path, damage: str
) -> None:
    name, spoil, where = CELLS[damage]
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    spoil(folder / name)
    before = _digest(folder)
    page = tmp_path / "page.html"
    store = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel("report", str(folder), "--out", str(page), "--db", store)
    assert_one_line_error(result, f"{folder / name}: damaged")
    assert where in result.err
    assert not page.exists()
    compared = kestrel(
        "runs", "compare", str(good_run), str(folder), "--html", str(tmp_path / "c.html"),
        "--db", store,
    )  # fmt: skip
    if name == "equity.csv":  # compare reads metrics.json and equity.csv only
        assert_one_line_error(compared, f"{folder / name}: damaged")
    else:
        assert compared.code == 0, compared.err
    assert _digest(folder) == before


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_report_and_compare_refuse_a_damaged_file_in_one_line(
    kestrel: CliRunner, good_run: Path, tmp_path: Path, damage: str
) -> None:
    name, spoil = DAMAGE[damage]
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    spoil(folder / name)
    before = _digest(folder)
    page = tmp_path / "page.html"
    store = f"sqlite:///{tmp_path / 'k.db'}"  # none of the project's
    result = kestrel("report", str(folder), "--out", str(page), "--db", store)
    assert_one_line_error(result, f"{folder / name}: damaged")
    assert not page.exists()
    compared = kestrel(
        "runs", "compare", str(good_run), str(folder), "--html", str(tmp_path / "c.html"),
        "--db", store,
    )  # fmt: skip
    if name == "trades.csv":  # compare reads metrics.json and equity.csv, not the trades
        assert compared.code == 0, compared.err
    else:
        assert_one_line_error(compared, f"{folder / name}: damaged")
    assert _digest(folder) == before  # nothing of the run was changed or removed
