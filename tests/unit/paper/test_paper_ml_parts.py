"""A paper ML account resumes only with the ``[ml]`` section and the model file it started on.

Resuming replays the journal through the node, so a changed ``[ml]`` section (label,
retraining, model parameters) or another model file (``kestrel ml train`` saved a newer
version into the folder the config names) would rewrite the account's history: an audit
saw 37 fills become 77, and 7 become 94. Both are parts of the account's config identity
(`engine.runtime.paper.parts`); an account from before they were parts still resumes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.config import RunConfig, load_config
from engine.errors import ConfigError
from engine.ml.dataset import load_dataset
from engine.ml.model import fit_pipeline
from engine.ml.registry import save_model
from engine.persistence import RunStore
from engine.persistence.schema import paper_accounts
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.paper import PaperJournal, PaperSession, open_session

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "configs" / "ml_signal_btc.toml"
START = 1_606_780_800_000_000_000  # 2020-12-01T00:00Z, the first bar's open
SHORT = ['data.0.end="2021-01-10"', "ml.retrain.min_samples=300"]
FOREST = ['ml.model.kind="random_forest"', "ml.model.params={max_depth=3}"]


def _config(*sets: str) -> RunConfig:
    return load_config(CONFIG, [*SHORT, *sets])


def _train(folder: Path, *sets: str) -> None:
    run = _config(*sets)
    data, ml = load_dataset(run)
    pipeline = fit_pipeline(ml.model, run.run.seed, data.x, data.y, data.weight)
    save_model(folder, pipeline, ml, run.run.seed, (data.x, data.y, data.weight), "t")


def _open(store: RunStore, config: RunConfig) -> PaperSession:
    journal = PaperJournal(store, "acct")
    return open_session(config, journal, resume_only=False, start_ns=lambda: START, url="u")


def _run(store: RunStore, config: RunConfig) -> PaperSession:
    session = _open(store, config)
    for bar in iter_bars(load_frames(config)):  # type: ignore[arg-type]
        session.process(bar)
    session.flush_pending()
    return session


def _stored_parts(store: RunStore) -> dict[str, Any]:
    rows = store.read(select(paper_accounts.c.config_parts))
    parts: dict[str, Any] = json.loads(rows[0]["config_parts"])
    return parts


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'k.db'}")


def test_a_new_model_version_in_the_folder_refuses_to_resume_and_says_which_to_pin(
    store: RunStore, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    _train(models)
    config = _config(f'strategy.params.model="{models}"')
    fills = len(_run(store, config).node.kernel.recorder.fills)
    assert fills > 0
    assert (
        _stored_parts(store)["model"]
        == hashlib.sha256((models / "v1" / "model.skops").read_bytes()).hexdigest()
    )
    _train(models, *FOREST)  # v2: the folder now loads another model
    with pytest.raises(ConfigError) as caught:
        _open(store, config)
    assert str(caught.value) == (
        "paper account 'acct' was started with a different config (model changed): "
        f"strategy.params.model {str(models)!r} loads {models / 'v2' / 'model.skops'} now, "
        f"the account was started on v1; pin it (model = {str(models / 'v1')!r}) to resume "
        "the account, or start a new account with --account NEW_NAME"
    )
    # pinned to the version it started on: the same model file, the same history
    pinned = _open(store, _config(f'strategy.params.model="{models / "v1"}"'))
    assert pinned.replayed > 900
    assert len(pinned.node.kernel.recorder.fills) == fills


def test_a_changed_ml_section_refuses_to_resume(store: RunStore) -> None:
    config = _config()
    _run(store, config)
    changed = _config("ml.retrain.every=24", "ml.model.params={C=10.0}")
    with pytest.raises(ConfigError, match=r"different config \(ml changed\); run it with its"):
        _open(store, changed)
    assert _open(store, config).replayed > 900  # the original config still resumes


def test_an_account_without_ml_keeps_its_parts(store: RunStore) -> None:
    config = load_config(REPO / "configs" / "paper_btc.toml")
    session = _open(store, config)
    assert not {"ml", "model", "training"} & set(_stored_parts(store))
    assert session.replayed == 0


def test_an_ml_account_from_before_these_parts_resumes_and_is_checked_from_then_on(
    store: RunStore, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    _train(models)
    config = _config(f'strategy.params.model="{models}"')
    _run(store, config)
    parts = _stored_parts(store)
    # the parts such an account stored: params with the model's reference, no ml, no model
    from engine.config import dump_config

    params = dump_config(config)["strategy"]["params"]
    older = {name: value for name, value in parts.items() if name not in ("ml", "model")}
    older["params"] = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    store.transact(
        "older parts",
        lambda conn: conn.execute(update(paper_accounts).values(config_parts=json.dumps(older))),
    )
    assert _open(store, config).replayed > 900  # not compared: it resumes
    assert _stored_parts(store) == parts  # and they are stored now
    _train(models, *FOREST)
    with pytest.raises(ConfigError, match=r"\(model changed\)"):
        _open(store, config)


def test_a_changed_tfidf_training_file_refuses_to_resume(store: RunStore, tmp_path: Path) -> None:
    training = tmp_path / "training.csv"
    training.write_bytes((REPO / "data" / "sample_headlines_labelled.csv").read_bytes())
    config = load_config(
        REPO / "configs" / "sentiment_filter_btc.toml",
        ['strategy.params.scorer="tfidf"', f'strategy.params.training="{training}"'],
    )
    _open(store, config)
    with training.open("a") as more:
        more.write("2020-11-30T00:00:00Z,BTC/USDT,Bitcoin rallies,1\n")
    with pytest.raises(ConfigError, match=r"\(training changed\); run it with its original"):
        _open(store, config)
