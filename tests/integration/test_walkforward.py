"""Walk-forward on the GOOG sample: no out-of-sample window uses parameters chosen with its data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import RunConfig, load_config
from engine.optimize.executors import InlineExecutor
from engine.optimize.search import SweepSpec
from engine.optimize.space import parse_param
from engine.optimize.walkforward import WalkForward, plan_windows, walk_forward
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

NAMES = ["fast", "slow", "target_percent", "allow_short"]
SPEC = SweepSpec(
    (parse_param("fast=5:20:5", NAMES), parse_param("slow=30:90:30", NAMES)), ("sharpe",)
)
IN_SAMPLE, OUT_OF_SAMPLE = 500, 300


def goog_config(path: Path) -> RunConfig:
    config = load_config(REPO / "configs" / "sma_cross_goog.toml")
    return dataclasses.replace(config, data=[dataclasses.replace(config.data[0], path=str(path))])


def analyse(path: Path) -> WalkForward:
    windows = plan_windows(2148, IN_SAMPLE, OUT_OF_SAMPLE, "rolling")
    return walk_forward(goog_config(path), SPEC, windows, InlineExecutor)


@pytest.fixture(scope="module")
def original() -> WalkForward:
    return analyse(REPO / "data" / "GOOG.csv")


def test_windows_roll_and_anchor() -> None:
    rolling = plan_windows(2148, 500, 300, "rolling")
    assert [(w.is_first, w.is_stop, w.oos_stop) for w in rolling] == [
        (0, 500, 800), (300, 800, 1100), (600, 1100, 1400), (900, 1400, 1700),
        (1200, 1700, 2000), (1500, 2000, 2148),
    ]  # fmt: skip
    anchored = plan_windows(2148, 500, 300, "anchored")
    assert {w.is_first for w in anchored} == {0}
    assert [w.is_stop for w in anchored] == [w.is_stop for w in rolling]


def test_walk_forward_chains_out_of_sample_windows(original: WalkForward) -> None:
    assert len(original.windows) == 6
    for result in original.windows:
        assert result.is_end <= result.oos_start  # IS bars close by the first OOS open
        assert result.params is not None
        assert result.trials == 12
    assert original.ts.size == 2148 - IN_SAMPLE  # every OOS bar once, in order
    assert np.all(np.diff(original.ts) > 0)
    assert original.metrics["final_equity"] == pytest.approx(float(original.equity[-1]))
    last = original.windows[-1].oos_metrics
    assert last is not None
    assert last["final_equity"] == pytest.approx(float(original.equity[-1]))
    assert set(original.stability) == {"fast", "slow"}
    assert original.stability["fast"]["values"] == [w.params["fast"] for w in original.windows]  # type: ignore[index]


def rewrite(source: Path, target: Path, first: int, stop: int) -> None:
    """Copy GOOG.csv with bars [first, stop) replaced by a different random walk."""
    frame = pd.read_csv(source)
    rng = np.random.default_rng(first)
    steps = np.exp(np.cumsum(rng.normal(0.0, 0.03, size=stop - first)))
    base = frame.loc[first - 1, "Close"] if first else frame.loc[0, "Open"]
    for column in ("Open", "High", "Low", "Close"):
        frame.loc[first : stop - 1, column] = base * steps
    frame.loc[first : stop - 1, "High"] = base * steps * 1.01
    frame.loc[first : stop - 1, "Low"] = base * steps * 0.99
    frame.to_csv(target, index=False)


@pytest.mark.parametrize("window", [1, 3, 5])
def test_no_out_of_sample_window_uses_parameters_chosen_with_its_own_data(
    original: WalkForward, window: int, tmp_path: Path
) -> None:
    # Replace window k's out-of-sample bars: the choice for k (and every earlier window)
    # must not move, while k's out-of-sample result does (the data really changed).
    k = original.windows[window].window
    changed = tmp_path / "GOOG.csv"
    rewrite(REPO / "data" / "GOOG.csv", changed, k.is_stop, k.oos_stop)
    altered = analyse(changed)
    for before, after in zip(original.windows[: window + 1], altered.windows, strict=False):
        assert after.params == before.params
        assert after.is_metrics == before.is_metrics
    assert altered.windows[window].oos_metrics != original.windows[window].oos_metrics


def test_the_check_above_can_fail_in_sample_data_moves_the_choice(
    original: WalkForward, tmp_path: Path
) -> None:
    # The same rewrite inside window 3's in-sample range changes what window 3 saw.
    k = original.windows[3].window
    changed = tmp_path / "GOOG.csv"
    rewrite(REPO / "data" / "GOOG.csv", changed, k.is_first, k.is_stop)
    altered = analyse(changed)
    assert altered.windows[3].is_metrics != original.windows[3].is_metrics


def test_walkforward_command_writes_the_stitched_curve(
    kestrel: CliRunner, tmp_path: Path, original: WalkForward
) -> None:
    result = kestrel(
        "walkforward", "configs/sma_cross_goog.toml", "--param", "fast=5:20:5",
        "--param", "slow=30:90:30", "--in-sample", str(IN_SAMPLE),
        "--out-of-sample", str(OUT_OF_SAMPLE), "--workers", "2", "--out", str(tmp_path / "wf"),
        "--db", f"sqlite:///{tmp_path / 'k.db'}",  # not the project's own store
    )  # fmt: skip
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "wf" / "walkforward.json").read_text())
    assert [w["params"] for w in summary["windows"]] == [w.params for w in original.windows]
    assert summary["efficiency"] == pytest.approx(original.efficiency)
    curve = pd.read_csv(tmp_path / "wf" / "oos_equity.csv")
    assert curve["equity"].to_numpy() == pytest.approx(original.equity, rel=1e-15)
    assert (tmp_path / "wf" / "report.html").is_file()
    assert "walk-forward efficiency (OOS / IS CAGR)" in result.out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--in-sample", "5000", "--out-of-sample", "10"], "leaves no out-of-sample bar"),
        (["--in-sample", "500", "--out-of-sample", "100", "--scheme", "expanding"], "scheme"),
        (["--in-sample", "500", "--out-of-sample", "0"], "must be >= 1 bar"),
        (
            ["--param", "slow=30,nan", "--in-sample", "500", "--out-of-sample", "100"],
            "--param 'slow=30,nan': strategy.params.slow: expected a whole number, got nan",
        ),
    ],
)
def test_walkforward_bad_input_is_one_line(
    kestrel: CliRunner, args: list[str], fragment: str
) -> None:
    result = kestrel("walkforward", "configs/sma_cross_goog.toml", "--param", "fast=5:10:5", *args)
    assert_one_line_error(result, fragment)


def test_the_stitched_metrics_count_every_windows_closed_trades(original: WalkForward) -> None:
    """The stitched out-of-sample metrics had no trade statistics (win rate null): they were
    computed from the curve alone. They now fold every window's closed trades."""
    windows = [w.oos_metrics for w in original.windows if w.oos_metrics]
    trades = sum(int(m["num_trades"]) for m in windows)
    wins = sum(round(float(m["win_rate"] or 0.0) * int(m["num_trades"])) for m in windows)
    assert trades > 10
    assert original.metrics["num_trades"] == trades
    assert original.metrics["win_rate"] == pytest.approx(wins / trades, rel=1e-12)
    assert original.metrics["profit_factor"] is not None
    assert original.metrics["max_loss_streak"] >= max(int(m["max_loss_streak"]) for m in windows)
