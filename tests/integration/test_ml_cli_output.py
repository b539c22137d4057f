"""Where ``kestrel ml train|evaluate`` write and what their terminal output shows.

The default folders are ``<project root>/models/<run name>`` and
``<project root>/backtests/ml/<run name>`` with the run name made one safe folder name, as
``backtest`` does for its run ids: ``../../escaped`` wrote outside the project and
``BTC/USDT 1h`` made nested folders (an audit). Bracketed text (``[ml]``, a feature's
``[open]``) is printed as is, never read as terminal markup.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import REPO, CliRunner

CONFIG = REPO / "configs" / "ml_signal_btc.toml"
SHORT = ['data.0.end="2021-03-20"', "ml.retrain.every=240"]


def _project(tmp_path: Path) -> Path:
    """Return a config in ``<tmp>/proj/sub/`` of a project marked by its pyproject.toml."""
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").touch()
    config = tmp_path / "proj" / "sub" / "c.toml"
    config.write_text(CONFIG.read_text().replace('path = "data/', f'path = "{REPO}/data/'))
    return config


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_the_run_name_becomes_one_safe_folder_under_the_project(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = _project(tmp_path)
    sets = [f"--set={s}" for s in SHORT]
    train = kestrel("ml", "train", str(config), *sets, '--set=run.name="../../escaped"')
    assert train.code == 0, train.err
    proj = tmp_path / "proj"
    assert (proj / "models" / "escaped" / "v1" / "model.json").is_file()
    assert f"saved model version 1 to {proj / 'models' / 'escaped' / 'v1'}" in train.out
    assert [p.name for p in tmp_path.iterdir()] == ["proj"]  # nothing beside the project
    assert sorted(p.name for p in proj.iterdir()) == ["models", "pyproject.toml", "sub"]
    assert [p.name for p in (proj / "models").iterdir()] == ["escaped"]

    evaluate = kestrel("ml", "evaluate", str(config), *sets, '--set=run.name="BTC/USDT 1h"')
    assert evaluate.code == 0, evaluate.err
    folder = proj / "backtests" / "ml" / "BTC-USDT-1h"
    assert sorted(p.name for p in folder.iterdir()) == ["evaluation.html", "evaluation.json"]
    assert sorted(p.name for p in (proj / "backtests" / "ml").iterdir()) == ["BTC-USDT-1h"]
    assert json.loads((folder / "evaluation.json").read_text())["method"] == "walk_forward"


def test_a_failed_evaluation_leaves_no_folder_behind(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _project(tmp_path)
    result = kestrel(
        "ml", "evaluate", str(config), "--set=ml.splits.folds=100000", '--set=run.name="x"'
    )
    assert result.code == 2
    assert _tree(tmp_path / "proj") == ["pyproject.toml", "sub", "sub/c.toml"]


def test_feature_names_keep_their_bracketed_source_in_the_terminal(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """``rsi(timeperiod=14)[open]`` printed as ``rsi(timeperiod=14)``: two features under
    one name in the importance table (an audit)."""
    features = (
        '--set=ml.features=[{name="rsi", source="open"},{name="rsi"},'
        '{name="rocp", source="volume"}]'
    )
    sets = [f"--set={s}" for s in SHORT]
    evaluate = kestrel("ml", "evaluate", str(CONFIG), *sets, features, "--out", str(tmp_path / "e"))
    assert evaluate.code == 0, evaluate.err
    rows = [line.split("│")[1].strip() for line in evaluate.out.splitlines()
            if "timeperiod=" in line]  # fmt: skip
    assert sorted(rows) == [
        "rocp(timeperiod=10)[volume]",
        "rsi(timeperiod=14)",
        "rsi(timeperiod=14)[open]",
    ]
    train = kestrel("ml", "train", str(CONFIG), *sets, features, "--out", str(tmp_path / "m"))
    assert train.code == 0, train.err
    assert (
        "features: rsi(timeperiod=14)[open], rsi(timeperiod=14), rocp(timeperiod=10)[volume]"
        in train.out
    )


def test_evaluate_caps_each_folds_training_window_not_the_data(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """``retrain.max_samples=2000`` tested 1,666 samples from May 2021 on (the last 2000
    samples of the data, cut into folds), and ``min_samples`` was ignored: fold 1 trained on
    835 labels where the backtest waits for 1000 (an audit). The figures below equal an
    independent re-implementation (TA-Lib features, own barrier loops and uniqueness
    weights, sklearn fits) with the fold rules added."""
    runs = {}
    for name, extra in (("all", []), ("capped", ["--set=ml.retrain.max_samples=2000"])):
        out = tmp_path / name
        result = kestrel("ml", "evaluate", str(CONFIG), "--out", str(out), *extra)
        assert result.code == 0, result.err
        assert (
            "note: fold 1 skipped: 835 training labels < retrain.min_samples 1000 (the "
            "backtest takes no position before it has them)"
        ) in result.out
        runs[name] = json.loads((out / "evaluation.json").read_text())
    every, capped = runs["all"], runs["capped"]
    for figures in (every, capped):
        assert figures["skipped_folds"] == [{"fold": 1, "train": 835}]
        assert figures["samples"] == 3526  # folds 2-5 of the 5290 labelled samples
        assert [f["test"] for f in figures["folds"]] == [882, 882, 881, 881]
    assert [f["first_ns"] for f in capped["folds"]] == [f["first_ns"] for f in every["folds"]]
    assert [f["train"] for f in every["folds"]] == [1716, 2599, 3485, 4365]
    assert [f["train"] for f in capped["folds"]] == [1716, 2000, 2000, 2000]
    assert round(every["accuracy"], 6) == 0.479297
    assert round(every["roc_auc"], 6) == 0.51783
    assert round(capped["accuracy"], 6) == 0.506239
    assert round(capped["roc_auc"], 6) == 0.53691
    assert round(capped["log_loss"], 6) == 0.707452
