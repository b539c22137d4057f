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
