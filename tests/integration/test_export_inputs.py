"""``runs export --include-data``: the zip re-runs from its own folder, every input inside.

Found by an audit of the export (stop 31): ``reproduce.toml`` pointed at the ``[[fx]]``
rate files, the ``[[data]] funding`` files and ``[[risk.checks]]`` plugin files where the
original config had them, none of them in the zip, so the unzipped run either failed or —
run from the project folder — read whatever file was there now; and two data files with
one file name (``a/X.csv``, ``b/X.csv``) went in as one ``data/X.csv``, so one symbol was
re-run on the other's prices. Files a strategy reads of its own (a saved model, a training
file: run.json ``strategy_files``) are named by the strategy's own parameters, which
export cannot re-point: such a run is refused with ``--include-data``, in one line.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import CliRunner, assert_one_line_error

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY
ARTIFACTS = ("metrics.json", "trades.csv", "fills.csv", "orders.csv", "equity.csv")

# Buys 4 of each symbol on the first bar, sells them on the fourth: every input shows in
# the fills and equity (prices, the fx rate, funding paid, the plugin's denials).
STRATEGY = """
from engine.strategy import Strategy


class InAndOut(Strategy):
    def on_start(self, ctx):
        self.seen = 0

    def on_bar(self, ctx, bar):
        self.seen += 1
        if self.seen == len(ctx.symbols):
            for symbol in ctx.symbols:
                ctx.buy(symbol, 4)
                ctx.buy(symbol, 3)  # odd: the file plugin check denies it
        if self.seen == 4 * len(ctx.symbols):
            for symbol in ctx.symbols:
                ctx.sell(symbol, 4)
"""

EVEN = """\
class EvenQuantity:
    name = "even_quantity"

    def check(self, order, state):
        return "odd" if order.quantity % 2 else None
"""


def _bars(path: Path, base: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["timestamp,open,high,low,close,volume"]
    for k in range(6):
        price = base + 3 * k
        lines.append(f"{(T0 + k * DAY) // 10**6},{price},{price + 1},{price - 1},{price},1e6")
    path.write_text("\n".join(lines) + "\n")


def _project(folder: Path) -> Path:
    """Write a run whose inputs all sit beside its config; return the config."""
    _bars(folder / "a" / "X.csv", 100.0)
    _bars(folder / "b" / "X.csv", 50.0)  # the same file name, other prices
    (folder / "rates.csv").write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(
            f"{(T0 + k * DAY) // 10**6},{rate},{rate},{rate},{rate},0\n"
            for k, rate in enumerate((0.9, 0.89, 0.88, 0.87, 0.86, 0.85))
        )
    )
    (folder / "funding.csv").write_text(f"timestamp,rate\n{(T0 + 2 * DAY) // 10**6},0.01\n")
    (folder / "in_and_out.py").write_text(STRATEGY)
    (folder / "checks.py").write_text(EVEN)
    config = folder / "run.toml"
    config.write_text(
        '[run]\nname = "inputs"\n'
        '[account]\ninitial_cash = 10000.0\ncurrency = "EUR"\n'
        '[[data]]\npath = "a/X.csv"\nsymbol = "X"\nfunding = "funding.csv"\n'
        '[[data]]\npath = "b/X.csv"\nsymbol = "Y"\n'
        '[[instruments]]\nsymbol = "X"\nlot_size = 1.0\nquote_currency = "USD"\n'
        '[[instruments]]\nsymbol = "Y"\nlot_size = 1.0\nquote_currency = "USD"\n'
        '[[fx]]\ncurrency = "USD"\npath = "rates.csv"\n'
        '[strategy]\npath = "in_and_out.py:InAndOut"\n'
        '[[risk.checks]]\npath = "checks.py:EvenQuantity"\n'
    )
    return config


def _backtest(kestrel: CliRunner, config: Path, out: Path) -> dict[str, object]:
    result = kestrel("backtest", str(config), "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    info: dict[str, object] = json.loads((out / "run.json").read_text())
    return info


def test_the_zip_carries_fx_funding_and_check_files_and_reruns_alone(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _project(tmp_path / "project")
    run = tmp_path / "run"
    info = _backtest(kestrel, config, run)
    fills = (run / "fills.csv").read_text()
    assert "even_quantity" in (run / "orders.csv").read_text()  # every input is in play
    assert fills.count("\n") == 5  # 4 X and 4 Y bought, sold: 4 fills and the header
    run_id = str(info["run_id"])
    target = tmp_path / "inputs.zip"
    exported = kestrel("runs", "export", str(run), "--out", str(target), "--include-data")
    assert exported.code == 0, exported.err
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        reproduce = archive.read(f"{run_id}/reproduce.toml").decode()
        manifest = json.loads(archive.read(f"{run_id}/manifest.json"))
        archive.extractall(tmp_path / "unzipped")
    for name in ("data/X.csv", "data/X-2.csv", "data/rates.csv", "data/funding.csv"):
        assert f"{run_id}/{name}" in names, name
    assert f"{run_id}/checks/checks.py" in names
    assert 'path = "checks/checks.py:EvenQuantity"' in reproduce
    assert {item["config_path"] for item in manifest["data"]} == {
        "a/X.csv",
        "b/X.csv",
        "rates.csv",
        "funding.csv",
    }
    # the project is gone and the run starts elsewhere: only the zip's files can be read
    (tmp_path / "project").rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path)
    rerun = tmp_path / "rerun"
    _backtest(kestrel, tmp_path / "unzipped" / run_id / "reproduce.toml", rerun)
    for name in ARTIFACTS:
        assert (rerun / name).read_bytes() == (run / name).read_bytes(), name


INPUT_READER = """
from pathlib import Path

from engine.strategy import Strategy


class ReadsATable(Strategy):
    def input_files(self):
        return {"table": Path(__file__).with_name("table.txt")}

    def on_bar(self, ctx, bar):
        return None
"""


def test_a_strategy_reading_files_of_its_own_is_refused_with_include_data(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    _bars(tmp_path / "x.csv", 100.0)
    (tmp_path / "reader.py").write_text(INPUT_READER)
    (tmp_path / "table.txt").write_text("1 2 3\n")
    config = tmp_path / "run.toml"
    config.write_text(
        '[[data]]\npath = "x.csv"\nsymbol = "X"\n[strategy]\npath = "reader.py:ReadsATable"\n'
    )
    _backtest(kestrel, config, tmp_path / "run")
    result = kestrel("runs", "export", str(tmp_path / "run"), "--include-data")
    assert_one_line_error(
        result,
        "cannot include the files the strategy reads of its own (table: ",
        "table.txt); export without --include-data",
    )
    plain = kestrel("runs", "export", str(tmp_path / "run"), "--out", str(tmp_path / "r.zip"))
    assert plain.code == 0, plain.err
