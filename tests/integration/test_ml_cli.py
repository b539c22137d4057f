"""``kestrel ml train|evaluate`` on the shipped sample, and the saved model in a run.

A model saved by ``ml train`` and loaded by the paper/live node (`TradingNode`: streaming
indicators, bars one by one, the code ``kestrel paper`` drives) predicts what the backtest
with the same model predicts over the same bars (to float rounding of the streaming
indicators) and makes the same fills; ``kestrel paper --replay`` on the local exchange with
that model fills exactly as the backtest. Same seed → same model files
and same backtest artifacts. A model whose features differ from the config's is one
line, exit 2.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.report.artifacts import ARTIFACT_FILES
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.node import TradingNode
from engine.strategy import make_strategy
from strategies.ml_signal import MlSignal
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = "configs/ml_signal_btc.toml"
# about 1,900 hourly bars: enough for a few refits, quick enough for a test
SHORT = ['data.0.end="2021-03-20"', "ml.retrain.every=240"]


def test_train_saves_a_versioned_model_and_the_node_predicts_like_the_backtest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    result = kestrel("ml", "train", CONFIG, "--out", str(models), *[f"--set={s}" for s in SHORT])
    assert result.code == 0, result.err
    assert "saved model version 1" in result.out
    again = kestrel("ml", "train", CONFIG, "--out", str(models), *[f"--set={s}" for s in SHORT])
    assert "saved model version 2" in again.out
    # same data and seed: the same model file, metadata equal but for the version
    assert (models / "v1" / "model.skops").read_bytes() == (
        models / "v2" / "model.skops"
    ).read_bytes()
    meta = json.loads((models / "v1" / "model.json").read_text())
    assert {**json.loads((models / "v2" / "model.json").read_text()), "version": 1} == meta
    assert meta["features"][0] == "rocp(timeperiod=1)"
    assert meta["seed"] == 7

    config = load_config(REPO / CONFIG, [*SHORT, f'strategy.params.model="{models}"'])
    frames = load_frames(config)
    backtest = run_backtest(config, frames=frames)
    live = make_strategy(MlSignal, config.strategy.params)
    node = TradingNode(config, strategy=live)
    node.run(iter_bars(frames))  # type: ignore[arg-type]
    assert isinstance(backtest.strategy, MlSignal)
    assert isinstance(live, MlSignal)
    assert len(backtest.strategy.predictions) > 1000
    # the node's streaming indicators equal the batch kernels to float rounding (RSI, NATR,
    # ADX and SMA differ in the last bits), so the probabilities agree to 1e-12, not bitwise
    assert [ts for ts, _ in live.predictions] == [ts for ts, _ in backtest.strategy.predictions]
    np.testing.assert_allclose(
        [p for _, p in live.predictions],
        [p for _, p in backtest.strategy.predictions],
        rtol=1e-12,
        atol=0,
    )
    assert [tuple(f) for f in node.kernel.recorder.fills] == [
        tuple(f) for f in backtest.recorder.fills
    ]


def test_a_model_with_other_features_is_refused_in_one_line(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert (
        kestrel("ml", "train", CONFIG, "--out", str(models), *[f"--set={s}" for s in SHORT]).code
        == 0
    )
    result = kestrel(
        "backtest",
        CONFIG,
        "--no-db",
        "--out",
        str(tmp_path / "run"),
        "--set",
        f'strategy.params.model="{models}"',
        "--set",
        'ml.features=[{name="rsi"}]',
    )
    assert_one_line_error(result, "was trained on features", "rsi(timeperiod=14)")


def test_evaluate_reports_out_of_sample_figures_and_writes_the_page(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    result = kestrel("ml", "evaluate", CONFIG, "--out", str(out), *[f"--set={s}" for s in SHORT])
    assert result.code == 0, result.err
    figures = json.loads((out / "evaluation.json").read_text())
    assert figures["method"] == "walk_forward"
    # 5 folds; the first two train on fewer labels than retrain.min_samples (1000) and
    # are skipped, as the backtest takes no position before it has them
    assert [f["fold"] for f in figures["folds"]] == [3, 4, 5]
    assert [s["fold"] for s in figures["skipped_folds"]] == [1, 2]
    assert all(
        s["train"] < 1000 <= f["train"] for s in figures["skipped_folds"] for f in figures["folds"]
    )
    assert 0.0 <= figures["accuracy"] <= 1.0
    assert figures["samples"] == sum(fold["test"] for fold in figures["folds"])
    assert {row["feature"] for row in figures["importances"]} == set(
        load_config(REPO / CONFIG).ml.feature_names  # type: ignore[union-attr]
    )
    assert "edge out of sample" in result.out
    page = (out / "evaluation.html").read_text()
    assert "Calibration" in page
    assert "Permutation importance" in page


def test_the_walk_forward_backtest_is_deterministic(kestrel: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        result = kestrel(
            "backtest", CONFIG, "--no-db", "--out", str(folder), *[f"--set={s}" for s in SHORT]
        )
        assert result.code == 0, result.err
    for name in ARTIFACT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_ml_commands_without_an_ml_section_are_one_line(kestrel: CliRunner) -> None:
    result = kestrel("ml", "evaluate", "configs/sma_cross_btc.toml")
    assert_one_line_error(result, "no [ml] section")


def test_paper_on_the_local_exchange_with_the_saved_model_trades_like_the_backtest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    sets = ['data.0.end="2021-01-10"']
    assert (
        kestrel("ml", "train", CONFIG, "--out", str(models), *[f"--set={s}" for s in sets]).code
        == 0
    )
    text = (REPO / CONFIG).read_text().replace('path = "data/', f'path = "{REPO}/data/')
    text = text.replace(
        'symbol = "BTC/USDT"\n\n[[instruments]]',
        'symbol = "BTC/USDT"\nend = "2021-01-10"\n\n[[instruments]]',
        1,
    )
    text = text.replace("tolerance = 0.1 }", f'tolerance = 0.1, model = "{models}" }}')
    config_path = tmp_path / "paper.toml"
    config_path.write_text(text)
    db = tmp_path / "k.db"
    result = kestrel(
        "paper", str(config_path), "--replay", str(config_path), "--speed", "max",
        "--poll", "0.05", "--db", f"sqlite:///{db}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert result.code == 0, result.err

    config = load_config(config_path)
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    frame = frame.head(len(frame) - 1)  # the replay's last bar stays in progress
    backtest = run_backtest(config, frames=[frame])
    with sqlite3.connect(db) as conn:
        fills = conn.execute(
            "SELECT order_id, quantity, price, fee FROM fills "
            "WHERE run_id = 'paper-ml_signal_btc' ORDER BY ts_event"
        ).fetchall()
    expected = [(f.order_id, f.quantity, f.price, f.fee) for f in backtest.recorder.fills]
    assert len(expected) >= 4
    assert fills == expected


def test_too_many_folds_names_the_folds_not_the_bars(kestrel: CliRunner, tmp_path: Path) -> None:
    """``ml.splits.folds=100000`` said 'use more bars or a shorter label horizon' (an audit)."""
    result = kestrel(
        "ml", "evaluate", CONFIG, "--set=ml.splits.folds=100000", "--out", str(tmp_path / "e")
    )
    assert_one_line_error(result, "too few for 100000 folds", "use fewer ml.splits.folds")
    assert not (tmp_path / "e").exists()


def test_a_label_of_one_class_says_so(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(
        "ml",
        "evaluate",
        CONFIG,
        '--set=ml.label.kind="forward_return"',
        "--set=ml.label.threshold=0.9",  # never 90 % in a day: every label is 0
        "--out",
        str(tmp_path / "e"),
    )
    assert_one_line_error(result, "labels are all one class")
