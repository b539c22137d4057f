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
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "TOML files must be UTF-8: re-save it as UTF-8"
        ) from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"config file {str(file)!r} cannot be read: {exc.strerror}") from None


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
