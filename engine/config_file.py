"""A run config's file and ``--set`` overrides: TOML text in, a plain document out.

In: the path of a TOML run config, and ``key=value`` overrides. Out: the parsed document
(dicts and lists) that `engine.config.parse_config` turns into a `RunConfig`. Every
mistake is one `ConfigError` line saying what to fix.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, did_you_mean

__all__ = ["apply_overrides", "read_toml"]

BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark
#: Names a config never has: a data file given where the run config goes (said so)
DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".gz", ".bz2", ".xz", ".zip", ".zst")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Return the parsed TOML document at ``path``, or raise `ConfigError`."""
    file = Path(path)
    if not file.exists():
        folder = file.parent
        nearby = [p.name for p in folder.glob("*.toml")] if folder.is_dir() else []
        hint = did_you_mean(file.name, nearby)
        raise ConfigError(f"config file {str(file)!r} does not exist{hint}")
    if file.is_dir():
        raise ConfigError(f"config file {str(file)!r} is a folder; give the .toml file in it")
    try:
        raw = file.read_bytes()
        # a byte-order mark (Notepad's "UTF-8 with BOM") is harmless: read past it
        return tomllib.loads(raw.removeprefix(BOM).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(_not_toml(file, exc)) from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"config file {str(file)!r} cannot be read: {exc.strerror}") from None


def _not_toml(file: Path, exc: tomllib.TOMLDecodeError | UnicodeDecodeError) -> str:
    """Return what to say of a config file that is not UTF-8 TOML."""
    name = file.name.lower()
    suffix = next((suffix for suffix in DATA_SUFFIXES if name.endswith(suffix)), "")
    if suffix:
        return (
            f"{file}: looks like a data file ({suffix}), not a run config; give the run "
            "config (.toml) whose [[data]] path names it"
        )
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"{file}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "TOML files must be UTF-8: re-save it as UTF-8"
        )
    return f"{file}: invalid TOML: {exc}"


def apply_overrides(document: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``document`` with ``a.b.c=value`` overrides applied.

    Values are read as TOML literals (``10``, ``0.5``, ``true``, ``"x"``, ``[1, 2]``); a
    value that is not a TOML literal is taken as a plain string. A number in the path
    indexes a list (``data.0.path=...``).
    """
    result: dict[str, Any] = _deep_copy(document)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. strategy.params.fast=20")
        value = _parse_literal(raw.strip())
        parts = key.split(".")
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            node = _step(node, part, ".".join(parts[: depth + 1]))
        last = parts[-1]
        if isinstance(node, list):
            node[_index(node, last, key)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            parent = ".".join(parts[:-1])
            raise ConfigError(f"--set {key}: {parent!r} is a value, not a table")
    return result


def _step(node: Any, part: str, where: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, where)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {where}: {where!r} is a value, not a table")
    return node.setdefault(part, {})


def _index(node: list[Any], part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"--set {where}: expected a list index below {len(node)}")
    return int(part)


def _parse_literal(raw: str) -> Any:
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    if isinstance(value, float) and not math.isfinite(value):
        return raw
    return value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
