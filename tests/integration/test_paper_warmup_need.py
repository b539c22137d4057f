"""A new paper account says when its warm-up is shorter than the strategy's indicators need.

Before (found by an audit): ``--warmup-bars 5`` (or none: 0) under an SMA(30) strategy ran
without a word, its first decisions on cold indicators unlike a backtest with that history;
and ``--warmup-bars 1000`` on the shipped BTC/USDT hours said "996 warm-up bars of the 1000
asked for were there (... holds no more)" while the replay held 1000 (4 hours are missing
from its data: the venue was asked for 1000 hours, not 1000 bars). The count the strategy
needs is live's (`default_warmup_bars`), not a copy of its rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_config
from engine.runtime.live.warmup import default_warmup_bars
from tests.integration.conftest import REPO, CliResult, CliRunner

DATA = REPO / "data"


def _config(tmp_path: Path, extra: str = "") -> Path:
    text = (REPO / "configs" / "sma_cross_btc.toml").read_text()
    path = tmp_path / "sma.toml"
    path.write_text(text.replace('path = "data/', f'path = "{DATA}/') + extra)
    return path


def _paper(kestrel: CliRunner, tmp_path: Path, config: Path, *more: str) -> CliResult:
    result = kestrel(
        "paper", str(config), "--replay", str(config), "--speed", "max", "--max-bars", "2",
        "--poll", "0.05", "--db", f"sqlite:///{tmp_path / 'k.db'}",
        "--log-dir", str(tmp_path / "log"), *more,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


def _warnings(result: CliResult) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith("warning: ")]


@pytest.mark.parametrize(("flag", "given"), [(("--warmup-bars", "5"), 5), ((), 0)])
def test_a_short_warm_up_is_one_warning(
    kestrel: CliRunner, tmp_path: Path, flag: tuple[str, ...], given: int
) -> None:
    config = _config(tmp_path)
    needed = default_warmup_bars(load_config(config))
    assert needed > given
    result = _paper(kestrel, tmp_path, config, *flag)
    warned = [line for line in _warnings(result) if "warm-up bars" in line]
    assert len(warned) == 1, result.err
    assert f"need {needed} warm-up bars per symbol" in warned[0]
    assert f"this account has {given}" in warned[0]
    assert "may differ from a backtest" in warned[0]
    # a resume warms with the stored bars whatever it is told: nothing more to say
    again = _paper(kestrel, tmp_path, config, "--warmup-bars", "2")
    assert "resumed" in again.out
    assert not [line for line in _warnings(again) if "warm-up bars" in line], again.err


def test_the_config_key_counts_as_given(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path, "\n[paper]\nwarmup_bars = 7\n")
    result = _paper(kestrel, tmp_path, config)
    warned = [line for line in _warnings(result) if "warm-up bars" in line]
    assert len(warned) == 1, result.err
    assert "this account has 7" in warned[0]


def test_enough_warm_up_says_nothing_and_counts_true(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = _paper(kestrel, tmp_path, config, "--warmup-bars", "1000")
    assert not [line for line in _warnings(result) if "warm-up bars" in line], result.err
    assert "new (1000 warm-up bars)" in result.out  # was 996 and a false "holds no more"
