"""Run identity covers the strategy's code and every input file; exports carry the strategy.

The inputs hash (run.json ``inputs_sha256``, the run id's suffix) must change when the
strategy's source changes, even when config and data do not, and ``runs export
--include-data`` must give a zip that re-runs from its own folder with the same results.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar
from engine.runtime.runs import inputs_hash
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY

STRATEGY = """
from engine.strategy import Strategy


class BuyOnce(Strategy):
    bought = False

    def on_bar(self, ctx, bar):
        if not self.bought:
            self.bought = True
            ctx.buy("X", QUANTITY)
"""


def write_run(folder: Path, quantity: int) -> Path:
    """Write data, a file strategy buying ``quantity`` and a config; return the config."""
    lines = ["timestamp,open,high,low,close,volume"]
    for k in range(5):
        lines.append(f"{(T0 + k * DAY) // 10**6},100,101,99,100,1000000")
    (folder / "x.csv").write_text("\n".join(lines) + "\n")
    (folder / "buy_once.py").write_text(STRATEGY.replace("QUANTITY", str(quantity)))
    config = folder / "run.toml"
    config.write_text(
        '[run]\nname = "identity"\n[[data]]\npath = "x.csv"\nsymbol = "X"\n'
        '[[instruments]]\nsymbol = "X"\nlot_size = 1.0\n'
        '[strategy]\npath = "buy_once.py:BuyOnce"\n'
    )
    return config


def backtest(kestrel: CliRunner, config: Path, out: Path) -> dict[str, object]:
    result = kestrel("backtest", str(config), "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    info: dict[str, object] = json.loads((out / "run.json").read_text())
    return info


def test_strategy_source_is_part_of_the_inputs_hash(kestrel: CliRunner, tmp_path: Path) -> None:
    config = write_run(tmp_path, 10)
    first = backtest(kestrel, config, tmp_path / "a")
    again = backtest(kestrel, config, tmp_path / "b")
    assert first["inputs_sha256"] == again["inputs_sha256"]  # same inputs, same identity
    write_run(tmp_path, 20)  # same config and data, different code
    edited = backtest(kestrel, config, tmp_path / "c")
    assert edited["inputs_sha256"] != first["inputs_sha256"]
    assert str(edited["run_id"]).rsplit("-", 1)[1] != str(first["run_id"]).rsplit("-", 1)[1]
    # ... and the edited code is what ran (not the module imported by the first run)
    fills = (tmp_path / "c" / "fills.csv").read_text().splitlines()
    assert fills[1].split(",")[4] == "20.0"
    source = tmp_path / "buy_once.py"
    assert edited["strategy"] == {
        "reference": "buy_once.py:BuyOnce",
        "class": edited["strategy"]["class"],  # type: ignore[index]
        "source": str(source.resolve()),
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
    }


def test_dotted_path_strategy_records_its_module_file(kestrel: CliRunner, tmp_path: Path) -> None:
    info = backtest(kestrel, REPO / "configs" / "sma_cross_goog.toml", tmp_path / "goog")
    module = REPO / "strategies" / "sma_cross.py"
    assert info["strategy"] == {
        "reference": "strategies.sma_cross:SmaCross",
        "class": "strategies.sma_cross:SmaCross",
        "source": str(module.resolve()),
        "sha256": hashlib.sha256(module.read_bytes()).hexdigest(),
    }


def test_export_carries_the_strategy_and_reruns_from_the_zip_alone(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    info = backtest(kestrel, REPO / "configs" / "sma_cross_goog.toml", run)
    run_id = str(info["run_id"])
    target = tmp_path / "goog.zip"
    exported = kestrel("runs", "export", str(run), "--out", str(target), "--include-data")
    assert exported.code == 0, exported.err
    with zipfile.ZipFile(target) as archive:
        shipped = archive.read(f"{run_id}/strategy/sma_cross.py")
        manifest = json.loads(archive.read(f"{run_id}/manifest.json"))
        reproduce = archive.read(f"{run_id}/reproduce.toml").decode()
        archive.extractall(tmp_path / "unzipped")
    assert shipped == (REPO / "strategies" / "sma_cross.py").read_bytes()
    assert manifest["strategy"]["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert (
        manifest["files"][f"{run_id}/strategy/sma_cross.py"] == hashlib.sha256(shipped).hexdigest()
    )
    assert 'path = "strategy/sma_cross.py:SmaCross"' in reproduce
    # re-run away from the repository: only the zip's files are there to be found
    monkeypatch.chdir(tmp_path)
    rerun = backtest(kestrel, tmp_path / "unzipped" / run_id / "reproduce.toml", tmp_path / "rerun")
    assert rerun["strategy"]["source"] == str(  # type: ignore[index]
        (tmp_path / "unzipped" / run_id / "strategy" / "sma_cross.py").resolve()
    )
    for name in ("metrics.json", "trades.csv", "fills.csv", "orders.csv", "equity.csv"):
        assert (tmp_path / "rerun" / name).read_bytes() == (run / name).read_bytes(), name


def test_export_refuses_a_strategy_edited_since_the_run(kestrel: CliRunner, tmp_path: Path) -> None:
    config = write_run(tmp_path, 10)
    backtest(kestrel, config, tmp_path / "a")
    write_run(tmp_path, 30)
    result = kestrel("runs", "export", str(tmp_path / "a"), "--include-data")
    assert_one_line_error(result, "buy_once.py", "edited since the run")
    # without the data the zip is still written; the manifest says the file was left out
    plain = kestrel("runs", "export", str(tmp_path / "a"), "--out", str(tmp_path / "a.zip"))
    assert plain.code == 0, plain.err
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        manifest = json.loads(archive.read(f"{archive.namelist()[0].split('/')[0]}/manifest.json"))
        assert not any("/strategy/" in name for name in archive.namelist())
    assert manifest["strategy"]["unchanged"] is False


class Idle(Strategy):
    def on_bar(self, ctx: Context, bar: Bar) -> None:
        return None


def test_fx_rate_file_content_is_part_of_the_inputs_hash(tmp_path: Path) -> None:
    frame = BarFrame(
        "X", DAY, T0 + np.arange(3) * DAY, *(np.full(3, 100.0) for _ in range(4)), np.ones(3)
    )

    def identity(rates: list[float]) -> str:
        lines = ["timestamp,open,high,low,close"]
        for j, rate in enumerate(rates):
            lines.append(f"{(T0 - DAY + j * DAY) // 10**6},{rate},{rate},{rate},{rate}")
        (tmp_path / "eur.csv").write_text("\n".join(lines) + "\n")
        config = parse_config(
            {
                "data": [{"path": "<memory>", "symbol": "X"}],
                "instruments": [{"symbol": "X", "quote_currency": "EUR"}],
                "fx": [{"currency": "EUR", "path": str(tmp_path / "eur.csv")}],
                "strategy": {"path": "idle"},
            }
        )
        return inputs_hash(run_backtest(config, frames=[frame], strategy=Idle()))

    assert identity([1.1, 1.2, 1.3, 1.4]) == identity([1.1, 1.2, 1.3, 1.4])
    assert identity([1.1, 1.2, 1.3, 1.4]) != identity([1.1, 1.2, 1.3, 1.5])
