"""Same config and data → byte-identical artifacts; run identity lives only in run.json."""

from __future__ import annotations

import json
from pathlib import Path

from engine.report.artifacts import ARTIFACT_FILES
from tests.integration.conftest import CliRunner


def test_two_runs_write_identical_artifacts(kestrel: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    for folder in (first, second):
        result = kestrel("backtest", "configs/sma_cross_btc.toml", "--out", str(folder), "--db", db)
        assert result.code == 0, result.err
    for name in ARTIFACT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    info_a = json.loads((first / "run.json").read_text())
    info_b = json.loads((second / "run.json").read_text())
    assert info_a["run_id"] != info_b["run_id"]
    assert info_a["inputs_sha256"] == info_b["inputs_sha256"]


def test_changing_a_parameter_changes_the_inputs_hash(kestrel: CliRunner, tmp_path: Path) -> None:
    base = ("backtest", "configs/sma_cross_goog.toml", "--no-db")
    assert kestrel(*base, "--out", str(tmp_path / "a")).code == 0
    assert (
        kestrel(*base, "--out", str(tmp_path / "b"), "--set", "strategy.params.fast=12").code == 0
    )
    info_a = json.loads((tmp_path / "a" / "run.json").read_text())
    info_b = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info_a["inputs_sha256"] != info_b["inputs_sha256"]
    assert "fast = 12" in (tmp_path / "b" / "config.toml").read_text()
