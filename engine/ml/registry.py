"""Saved models: a fitted pipeline with its version, features, parameters and data hash.

In: a fitted pipeline, the `MlConfig` it was trained under, the seed and the training
arrays (`save_model`); or a model folder (`load_model`, `load_for_config`). Out: a
version folder on disk, or the pipeline back, refused when it does not fit the config.

Layout: ``<root>/<name>/v<N>/`` holds

- ``model.skops``: the pipeline in skops format (`skops.io`), loaded without pickle:
  only scikit-learn and numpy types are accepted (plus ``sklearn.tree._tree.Tree``, the
  trees of the forest and boosting models); a file asking for any other type is refused.
  The zip is written with fixed entry times, so the same model gives the same bytes.
- ``model.json``: ``version`` (N, one more than the highest version of that name),
  ``features`` (column names in model order) and their specs, ``label``, ``model``
  (kind and params), ``seed``, ``samples``, ``training_data_sha256`` (over the training
  matrix, labels and weights), ``model_sha256`` (`engine.ml.model.model_hash`),
  ``file_sha256`` (of ``model.skops``, checked on load), ``trained_until`` (the close
  time of the last bar whose label was used), library versions. No wall-clock time: two
  trainings of the same data and seed write identical folders.

A save that fails (a full disk) leaves no folder behind (`engine.paths.new_folder`).

A model path given to a strategy may name the ``<name>`` folder (its latest version) or
one ``v<N>`` folder. Its features must equal the config's ``[ml] features`` (same
names, same order), or the run stops with one line naming both lists.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio
from sklearn.pipeline import Pipeline

from engine.errors import ConfigError
from engine.ml.config import MlConfig
from engine.ml.model import model_hash
from engine.paths import find_relative, new_folder, places_text
from engine.typed import to_plain

__all__ = [
    "FORMAT",
    "MODEL_FILE",
    "data_hash",
    "latest_version",
    "load_for_config",
    "load_model",
    "resolve_model",
    "save_model",
    "version_folder",
]

FORMAT = 1
MODEL_FILE = "model.skops"
META_FILE = "model.json"
# types skops does not trust by default that scikit-learn's own tree models are made of
ALLOWED_TYPES = frozenset({"sklearn.tree._tree.Tree"})


def data_hash(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> str:
    """Return the SHA-256 over the training matrix, labels and weights (float64, C order)."""
    digest = hashlib.sha256()
    for array in (x, y, weight):
        data = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(str(data.shape).encode())
        digest.update(data.tobytes())
    return digest.hexdigest()


def latest_version(folder: Path) -> int:
    """Return the highest N of ``folder/v<N>`` holding a model, 0 when none."""
    versions = [
        int(child.name[1:])
        for child in folder.glob("v*")
        if child.name[1:].isdigit() and (child / META_FILE).is_file()
    ]
    return max(versions, default=0)


def save_model(
    folder: str | Path,
    pipeline: Pipeline,
    ml: MlConfig,
    seed: int,
    training: tuple[np.ndarray, np.ndarray, np.ndarray],
    trained_until: str,
) -> Path:
    """Write ``pipeline`` as the next version under ``folder``; return the version folder."""
    root = Path(folder)
    version = latest_version(root) + 1
    blob = _stable_zip(sio.dumps(pipeline))
    x, y, weight = training
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": version,
        "features": ml.feature_names,
        "feature_specs": to_plain(ml.features),
        "label": to_plain(ml.label),
        "model": to_plain(ml.model),
        "weights": ml.weights,
        "seed": seed,
        "samples": len(y),
        "trained_until": trained_until,
        "training_data_sha256": data_hash(x, y, weight),
        "model_sha256": model_hash(pipeline),
        "file_sha256": hashlib.sha256(blob).hexdigest(),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
    }
    with new_folder(root / f"v{version}", exist_ok=False) as target:  # none left on failure
        (target / MODEL_FILE).write_bytes(blob)
        (target / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return target


def version_folder(folder: str | Path) -> Path:
    """Return the version folder a model folder names: itself, or a name's latest ``v<N>``.

    Raises:
        ConfigError: No model there.
    """
    path = Path(folder)
    if (path / META_FILE).is_file():
        return path
    version = latest_version(path) if path.is_dir() else 0
    if not version:
        raise ConfigError(
            f"model {str(path)!r}: no saved model there (expected {META_FILE} and "
            f"{MODEL_FILE}, or v<N> folders from `kestrel ml train`)"
        )
    return path / f"v{version}"


def resolve_model(reference: str, base_dir: str | Path) -> Path:
    """Return the version folder ``reference`` names, resolved like data paths.

    The one a run loads (`load_for_config`) and hashes (its ``model.skops``: the run's
    inputs, a paper account's ``model`` part): a name folder gives its latest version now.

    Raises:
        ConfigError: Not found, or no model there.
    """
    found, tried = find_relative(reference, base_dir)
    if found is None:
        raise ConfigError(f"model {reference!r} not found ({places_text(tried)})")
    return version_folder(found)


def load_model(folder: str | Path) -> tuple[Pipeline, dict[str, Any]]:
    """Return the pipeline and metadata of a model folder (a name: its latest version).

    Raises:
        ConfigError: No model there, a damaged file, or a type outside the allowed ones.
    """
    path = version_folder(folder)
    try:
        meta = json.loads((path / META_FILE).read_text())
        blob = (path / MODEL_FILE).read_bytes()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"model {str(path)!r}: cannot be read: {exc}") from None
    if not isinstance(meta, dict):
        raise ConfigError(
            f"model {str(path)!r}: its {META_FILE} is not a Kestrel model file "
            "(a JSON object written by `kestrel ml train`)"
        )
    if hashlib.sha256(blob).hexdigest() != meta.get("file_sha256"):
        raise ConfigError(f"model {str(path)!r}: {MODEL_FILE} does not match its model.json hash")
    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=blob)) - ALLOWED_TYPES)
    except zipfile.BadZipFile as exc:
        raise ConfigError(
            f"model {str(path)!r}: its {MODEL_FILE} is not a skops file ({exc})"
        ) from None
    if untrusted:
        raise ConfigError(f"model {str(path)!r}: refusing to load untrusted types {untrusted}")
    pipeline = sio.loads(blob, trusted=sorted(ALLOWED_TYPES))
    if not isinstance(pipeline, Pipeline):
        raise ConfigError(f"model {str(path)!r}: not a scikit-learn Pipeline")
    return pipeline, meta


def load_for_config(
    reference: str, ml: MlConfig, base_dir: str | Path, folder: Path | None = None
) -> tuple[Pipeline, dict[str, Any]]:
    """Return the model at ``reference`` and its metadata if it fits ``ml``.

    ``folder``: its version folder as resolved already (`resolve_model`; default: resolve
    ``reference`` beside ``base_dir`` now); ``reference`` names it in messages.

    Raises:
        ConfigError: Not found, unreadable, or trained on other features than ``ml``'s.
    """
    pipeline, meta = load_model(folder or resolve_model(reference, base_dir))
    if meta.get("features") != ml.feature_names:
        raise ConfigError(
            f"model {reference!r} was trained on features {meta.get('features')}, but the "
            f"config's [ml] features are {ml.feature_names}; retrain it with "
            "`kestrel ml train` or restore the features"
        )
    return pipeline, meta


def _stable_zip(data: bytes) -> bytes:
    """Return the skops zip ``data`` in a canonical form: same model, same bytes.

    skops names objects by their ``id()`` (``"__id__"`` in ``schema.json`` and the
    ``<id>.npy`` array files), which changes from run to run, and stamps entries with the
    current time. Every id is renumbered in order of first appearance in the schema, the
    arrays renamed to match, and entries written in name order with a fixed time.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {info.filename: source.read(info.filename) for info in source.infolist()}
    schema = entries.pop("schema.json").decode()
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        old = match.group(2) or match.group(3)
        new = numbers.setdefault(old, str(len(numbers) + 1))
        return f"{match.group(1)}{new}" if match.group(2) else f'"{new}.npy"'

    schema = _IDS.sub(renumber, schema)
    renamed = {"schema.json": schema.encode()}
    for name, blob in entries.items():
        stem = name.removesuffix(".npy")
        renamed[f"{numbers[stem]}.npy" if stem in numbers else name] = blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(renamed):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, renamed[name])
    return out.getvalue()


_IDS = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')
