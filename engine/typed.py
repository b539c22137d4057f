"""Build frozen dataclasses from plain mappings (TOML tables), strictly.

In: a dataclass type and a mapping. Out: an instance, or a `ConfigError` that names the
offending key by its dotted path and suggests the nearest valid key. Used for run configs
(`engine.config`) and strategy parameters (`engine.strategy.loader`) alike, so both reject
unknown keys and wrong types with the same kind of message.

Fields with ``metadata={"config": False}`` are not settable from a mapping (they are
filled in by code, e.g. the folder a config file was read from). Supported field types:
bool, int, float, str, ``X | None``, ``list[X]``, ``dict[str, X]``, ``Literal[...]`` and
nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from engine.errors import ConfigError, did_you_mean

__all__ = ["build", "check_field", "to_plain"]

T = TypeVar("T")


def build(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Return ``cls(**data)`` after checking every key and value against ``cls``'s fields.

    Args:
        cls: A dataclass type.
        data: Values by field name; missing fields take their defaults.
        where: Dotted path of ``data`` in the whole document, for error messages.

    Raises:
        ConfigError: Unknown key, missing required key, or a value of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table, got {_describe(data)}")
    hints = get_type_hints(cls)
    fields = {
        f.name: f
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.metadata.get("config", True)
    }
    for key in data:
        if key not in fields:
            raise ConfigError(f"unknown key '{_join(where, key)}'{did_you_mean(str(key), fields)}")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        path = _join(where, name)
        if name in data:
            values[name] = _convert(hints[name], data[name], path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required key '{path}'")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        # the whole document's rules name their keys ("data: …"): no class name before them
        raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None


def check_field(cls: type[Any], name: str, value: Any, where: str = "") -> None:
    """Raise `ConfigError` unless ``value`` has the type of ``cls``'s field ``name``.

    The per-field part of `build` alone: what a value must be whatever the other fields
    hold (a parameter sweep checks each swept value so before running any point).
    """
    _convert(get_type_hints(cls)[name], value, _join(where, name))


def to_plain(value: Any) -> Any:
    """Return ``value`` as TOML-writable builtins (dataclasses → dicts; None dropped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and f.metadata.get("config", True) and getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _join(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _non_finite_text(value: Any) -> bool:
    """Return True for text that reads as an infinite or NaN number (``"1e400"``, ``"nan"``).

    ``--set`` keeps such a value as text (``run.name=nan`` is a name); where a number goes
    it is refused as the number a file would give.
    """
    try:
        return isinstance(value, str) and not math.isfinite(float(value))
    except ValueError:
        return False


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: bad value {value!r}")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(
                f"{path}: {value!r} is not one of {', '.join(repr(a) for a in allowed)}"
                f"{did_you_mean(str(value), [str(a) for a in allowed])}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {_describe(value)}")
        (item,) = get_args(tp)[:1]
        return [_convert(item, v, f"{path}.{i}") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {_describe(value)}")
        _, item = get_args(tp)
        return {str(k): _convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)  # type: ignore[arg-type]
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_describe(value)}")
        return value
    if tp in (int, float) and _non_finite_text(value):  # --set x=1e400 (or nan): the word
        kind = "a whole" if tp is int else "a finite"  # as a file's 1e400 would be refused
        raise ConfigError(f"{path}: expected {kind} number, got {value}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a whole number, got {_describe(value)}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ConfigError(f"{path}: expected a whole number, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, datetime.date | datetime.time):
            return value.isoformat()  # an unquoted TOML date or time
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {_describe(value)}")
        return value
    raise ConfigError(f"{path}: unsupported field type {tp!r}")
