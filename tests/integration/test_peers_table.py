"""The README's benchmark tables are what their scripts render from the measured JSON.

``benchmarks/peers_results.json`` is a measurement (``benchmarks/bench_peers.py --json``),
``benchmarks/targets_results.json`` another (``benchmarks/targets.py --measure``); the
README only shows them. ``--check`` fails when either side was changed without the other,
and peers results whose engines made different trades are never rendered.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import REPO


def _script(name: str = "peers_table") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_peers_table_is_not_stale(capsys: pytest.CaptureFixture[str]) -> None:
    script = _script()
    assert script.main(["--check"]) == 0, capsys.readouterr().out
    figures = json.loads(script.RESULTS.read_text(encoding="utf-8"))
    assert figures["same_trades"] is True
    readme = script.README.read_text(encoding="utf-8")
    table = readme[readme.index(script.START) : readme.index(script.END)]
    for row in figures["rows"]:
        assert f"| {row['engine']} | {row['version']} | {row['wall_s']:.2f} s |" in table
    assert f"{figures['bars']:,} one-minute bars" in table


def test_check_mode_detects_a_hand_edited_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = _script()
    readme = script.README.read_text(encoding="utf-8")
    monkeypatch.setattr(script, "README", tmp_path / "README.md")
    script.README.write_text(script.with_table(readme, "| typed by hand |"), encoding="utf-8")
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0  # rewrites it from the JSON
    assert script.main(["--check"]) == 0


def test_results_with_different_trades_are_refused() -> None:
    script = _script()
    figures = json.loads(script.RESULTS.read_text(encoding="utf-8"))
    figures["same_trades"] = False
    figures["mismatches"] = {"floor": ["38 trades vs 37"]}
    with pytest.raises(SystemExit, match="different trades"):
        script.render(figures)


def test_readme_targets_table_is_not_stale(capsys: pytest.CaptureFixture[str]) -> None:
    script = _script("targets")
    assert script.main(["--check"]) == 0, capsys.readouterr().out
    results = json.loads(script.RESULTS.read_text(encoding="utf-8"))
    readme = script.README.read_text(encoding="utf-8")
    table = readme[readme.index(script.START) : readme.index(script.END)]
    for label, run in results.items():
        assert f"**{label}**: commit `{run['commit']}`" in table
    whole = [run["cli_1m"]["whole --no-db s"] for run in results.values()]
    row = "| whole `kestrel backtest --no-db`, 1 M bars: wall | "
    assert row + " | ".join(f"{v:.2f} s" for v in whole) in table


def test_targets_check_mode_detects_a_hand_edited_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = _script("targets")
    readme = script.README.read_text(encoding="utf-8")
    monkeypatch.setattr(script, "README", tmp_path / "README.md")
    edited = _script().with_table(readme, "| typed by hand |", script.START, script.END)
    script.README.write_text(edited, encoding="utf-8")
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0  # rewrites it from the JSON
    assert script.main(["--check"]) == 0


def test_targets_judge_the_last_label_against_issue_13() -> None:
    script = _script("targets")
    results = json.loads(script.RESULTS.read_text(encoding="utf-8"))
    last = list(results.values())[-1]
    fast = {**last, "cli_1m": {**last["cli_1m"], "whole --no-db s": 2.4}}
    slow = {**last, "cli_1m": {**last["cli_1m"], "whole --no-db s": 2.6}}
    for run, verdict in ((fast, "| met |"), (slow, "| **not met** |")):
        line = next(
            row
            for row in script.render({"x": run}).splitlines()
            if row.startswith("| whole `kestrel backtest --no-db`")
        )
        assert line.endswith(verdict), line
