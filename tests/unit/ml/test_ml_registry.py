"""Saved models: versions, metadata, stable bytes, safe loading, feature checks."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from engine.errors import ConfigError
from engine.ml.config import FeatureSpec, MlConfig, ModelConfig
from engine.ml.model import fit_pipeline, model_hash, predict_up
from engine.ml.registry import data_hash, load_for_config, load_model, save_model

ML = MlConfig(features=[FeatureSpec("rsi"), FeatureSpec("rocp", {"timeperiod": 1})])


def _fit(kind: str = "logistic") -> tuple[Pipeline, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 1] > 0).astype(float)
    w = np.ones(200)
    params = {} if kind == "logistic" else {"n_estimators": 5}
    cfg = ModelConfig(kind=kind, params=params)  # type: ignore[arg-type]
    return fit_pipeline(cfg, 0, x, y, w), (x, y, w)


def test_save_writes_versions_with_metadata_and_loads_back(tmp_path: Path) -> None:
    pipeline, training = _fit()
    first = save_model(tmp_path / "m", pipeline, ML, 0, training, "2021-01-01T00:00:00Z")
    second = save_model(tmp_path / "m", pipeline, ML, 0, training, "2021-01-01T00:00:00Z")
    assert (first.name, second.name) == ("v1", "v2")
    meta = json.loads((first / "model.json").read_text())
    assert meta["version"] == 1
    assert meta["features"] == ["rsi(timeperiod=14)", "rocp(timeperiod=1)"]
    assert meta["model"] == {"kind": "logistic", "params": {}}
    assert meta["training_data_sha256"] == data_hash(*training)
    assert meta["model_sha256"] == model_hash(pipeline)
    assert meta["samples"] == 200
    # the name folder loads its latest version; the loaded model predicts the same
    loaded, loaded_meta = load_model(tmp_path / "m")
    assert loaded_meta["version"] == 2
    x = training[0]
    np.testing.assert_array_equal(predict_up(loaded, x), predict_up(pipeline, x))


@pytest.mark.parametrize("kind", ["logistic", "random_forest"])
def test_same_model_same_bytes(tmp_path: Path, kind: str) -> None:
    pipeline, training = _fit(kind)
    a = save_model(tmp_path / "a", pipeline, ML, 0, training, "t")
    b = save_model(tmp_path / "b", pipeline, ML, 0, training, "t")
    for name in ("model.skops", "model.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    load_model(a)  # a forest's tree type is on the allow list


def test_features_other_than_the_configs_are_refused(tmp_path: Path) -> None:
    pipeline, training = _fit()
    save_model(tmp_path / "m", pipeline, ML, 0, training, "t")
    other = MlConfig(features=[FeatureSpec("rocp", {"timeperiod": 1}), FeatureSpec("rsi")])
    with pytest.raises(ConfigError, match=r"was trained on features .* the config's \[ml\]"):
        load_for_config("m", other, tmp_path)
    assert load_for_config("m", ML, tmp_path) is not None


def test_missing_tampered_or_unsafe_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_for_config("nope", ML, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no saved model"):
        load_model(tmp_path / "empty")
    pipeline, training = _fit()
    saved = save_model(tmp_path / "m", pipeline, ML, 0, training, "t")
    blob = (saved / "model.skops").read_bytes()
    (saved / "model.skops").write_bytes(blob + b"x")
    with pytest.raises(ConfigError, match="does not match"):
        load_model(saved)
    # a file naming a type outside scikit-learn/numpy: refused before anything is built
    source = zipfile.ZipFile(io.BytesIO(blob))
    schema = source.read("schema.json").decode().replace('"sklearn.linear_model._logistic"', '"os"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = schema.encode() if info.filename == "schema.json" else source.read(info)
            target.writestr(info.filename, data)
    meta = json.loads((saved / "model.json").read_text())
    (saved / "model.skops").write_bytes(out.getvalue())
    import hashlib

    meta["file_sha256"] = hashlib.sha256(out.getvalue()).hexdigest()
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="untrusted types"):
        load_model(saved)


@pytest.mark.parametrize("text", ["[]", "3", '"model"', "null"])
def test_a_model_json_that_is_not_an_object_is_refused_naming_the_file(
    tmp_path: Path, text: str
) -> None:
    """``[]`` in model.json ended in AttributeError, exit 3 (an audit)."""
    pipeline, training = _fit()
    saved = save_model(tmp_path / "m", pipeline, ML, 0, training, "t")
    (saved / "model.json").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_model(tmp_path / "m")
    assert str(caught.value) == (
        f"model {str(saved)!r}: its model.json is not a Kestrel model file "
        "(a JSON object written by `kestrel ml train`)"
    )


def test_a_model_file_that_is_not_a_skops_zip_is_refused_in_one_line(tmp_path: Path) -> None:
    """A non-zip model.skops whose hash was updated to match ended in BadZipFile, exit 3."""
    import hashlib

    pipeline, training = _fit()
    saved = save_model(tmp_path / "m", pipeline, ML, 0, training, "t")
    (saved / "model.skops").write_bytes(b"not a zip")
    meta = json.loads((saved / "model.json").read_text())
    meta["file_sha256"] = hashlib.sha256(b"not a zip").hexdigest()
    (saved / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError) as caught:
        load_model(saved)
    assert str(caught.value) == (
        f"model {str(saved)!r}: its model.skops is not a skops file (File is not a zip file)"
    )


def test_a_save_that_fails_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed write left ``models/<name>/v1`` (and ``models/``) empty behind it (an audit)."""
    pipeline, training = _fit()
    kept = save_model(tmp_path / "kept", pipeline, ML, 0, training, "t")

    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError, match="No space left"):
        save_model(tmp_path / "models" / "new", pipeline, ML, 0, training, "t")
    with pytest.raises(OSError, match="No space left"):
        save_model(tmp_path / "kept", pipeline, ML, 0, training, "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert [p.name for p in (tmp_path / "kept").iterdir()] == [kept.name]
