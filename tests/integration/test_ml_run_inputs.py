"""A backtest's saved model and TF-IDF training file are run inputs, from the command line.

Their bytes are in the run's inputs hash and run.json names the file each run read (a
model named by folder: the version it loaded), so two runs on different models never share
an identity.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.integration.conftest import REPO, CliRunner

ML_CONFIG = "configs/ml_signal_btc.toml"
SENTIMENT_CONFIG = "configs/sentiment_filter_btc.toml"
SHORT = ['data.0.end="2021-03-20"', "ml.retrain.every=240"]
# the second model: another fit of the same kind (C 0.1 -> 10), so another file. What is
# checked is that the run hashes and names the version it loads, whatever its kind; a
# random forest here made its backtest ~10x slower (one tree-ensemble predict per bar)
OTHER_MODEL = ["ml.model.params={C=10.0}"]


def _sets(values: list[str]) -> list[str]:
    return [f"--set={value}" for value in values]


def _backtest(kestrel: CliRunner, config: str, out: Path, *sets: str) -> dict[str, Any]:
    result = kestrel("backtest", config, "--no-db", "--out", str(out), *_sets(list(sets)))
    assert result.code == 0, result.err
    info: dict[str, Any] = json.loads((out / "run.json").read_text())
    return info


def test_the_model_a_run_loads_is_hashed_and_named_in_run_json(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Two models saved to one folder gave +9.63 % and +60.13 % with the same
    inputs_sha256, and run.json did not say which version ran (an audit)."""
    models = tmp_path / "models"
    uses = f'strategy.params.model="{models}"'
    assert kestrel("ml", "train", ML_CONFIG, "--out", str(models), *_sets(SHORT)).code == 0
    first = _backtest(kestrel, ML_CONFIG, tmp_path / "a", *SHORT, uses)
    other = kestrel("ml", "train", ML_CONFIG, "--out", str(models), *_sets(SHORT + OTHER_MODEL))
    assert other.code == 0, other.err
    second = _backtest(kestrel, ML_CONFIG, tmp_path / "b", *SHORT, uses)
    assert first["inputs_sha256"] != second["inputs_sha256"]
    for info, version in ((first, "v1"), (second, "v2")):
        skops = models / version / "model.skops"
        meta = json.loads((models / version / "model.json").read_text())
        assert info["strategy_files"] == {
            "model": {"source": str(skops.resolve()), "sha256": meta["file_sha256"]}
        }
    # the walk-forward run reads no such file: its run.json is as before
    assert "strategy_files" not in _backtest(kestrel, ML_CONFIG, tmp_path / "c", *SHORT)


def test_the_tfidf_training_file_is_hashed_and_named_in_run_json(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """train_A.csv and train_B.csv (labels flipped) copied in turn to one path gave +21.95 %
    and +6.76 % with the same inputs_sha256 (an audit)."""
    labelled = (REPO / "data" / "sample_headlines_labelled.csv").read_text().splitlines()
    flipped = [labelled[0]] + [
        line[:-1] + ("0" if line.endswith("1") else "1") for line in labelled[1:]
    ]
    training = tmp_path / "training.csv"
    sets = ('strategy.params.scorer="tfidf"', f'strategy.params.training="{training}"')
    infos = []
    for name, lines in (("a", labelled), ("b", flipped)):
        training.write_text("\n".join(lines) + "\n")
        infos.append(_backtest(kestrel, SENTIMENT_CONFIG, tmp_path / name, *sets))
        assert infos[-1]["strategy_files"] == {
            "training": {
                "source": str(training.resolve()),
                "sha256": hashlib.sha256(training.read_bytes()).hexdigest(),
            }
        }
    assert infos[0]["inputs_sha256"] != infos[1]["inputs_sha256"]
