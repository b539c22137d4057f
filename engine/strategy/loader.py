"""Find strategy plugins and build them with validated parameters.

In: a reference from the config — ``"package.module:Class"``, ``"path/to/file.py:Class"``
or an entry-point name in group ``kestrel.strategies`` — and a parameter table. Out: a
`Strategy` instance whose ``params`` is its ``Params`` dataclass, or a `PluginError` /
`ConfigError` saying what was wrong and what the nearest valid name is.

Faults are classified as everywhere else (README "Exit codes"): a class whose ``Params``
is not a dataclass is a plugin to fix (`PluginError`, exit 2), as is a parameter its
``Params`` rejects with ValueError or TypeError (`ConfigError`, exit 2). Anything else the
user's code raises while the strategy is built — ``Params.__post_init__`` raising KeyError,
the class's ``__init__`` raising — is strategy code at fault (`StrategyError`, exit 3,
with the file and line), not a Kestrel bug.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.errors import KestrelError, PluginError, StrategyError, did_you_mean
from engine.plugin_files import import_plugin_file, is_file_reference
from engine.strategy.base import Strategy
from engine.strategy.runner import describe_fault
from engine.typed import build

__all__ = ["ENTRY_POINT_GROUP", "available_strategies", "load_strategy_class", "make_strategy"]

ENTRY_POINT_GROUP = "kestrel.strategies"


def available_strategies() -> dict[str, str]:
    """Return entry-point strategies: name → ``"module:Class"``, sorted by name."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return dict(sorted(found.items()))


def load_strategy_class(reference: str, base_dir: str | Path = ".") -> type[Strategy]:
    """Return the `Strategy` subclass named by ``reference``.

    Raises:
        PluginError: The module, file, class or entry point does not exist, fails to import,
            or is not a `Strategy` subclass.
    """
    if ":" not in reference:
        registered = available_strategies()
        if reference not in registered:
            raise PluginError(
                f"unknown strategy {reference!r}{did_you_mean(reference, registered)}; "
                "use 'module:Class', 'file.py:Class' or an entry point name "
                "(see `kestrel strategies list`)"
            )
        reference = registered[reference]
    location, _, class_name = reference.rpartition(":")
    if is_file_reference(location):
        module = import_plugin_file(location, base_dir, "strategy")
    else:
        module = _import_module(location)
    candidate = getattr(module, class_name, None)
    if candidate is None:
        classes = [
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Strategy) and value is not Strategy
        ]
        raise PluginError(
            f"{location!r} has no class {class_name!r}{did_you_mean(class_name, classes)}"
        )
    if not (isinstance(candidate, type) and issubclass(candidate, Strategy)):
        raise PluginError(f"{reference!r} is not a subclass of engine.strategy.Strategy")
    _check_params_class(candidate)
    return candidate


def make_strategy(cls: type[Strategy], params: Mapping[str, Any]) -> Strategy:
    """Return ``cls(Params(**params))`` after strict validation of ``params``.

    Raises:
        ConfigError: Unknown parameter (with "did you mean"), wrong type, or a value the
            ``Params`` class rejects (ValueError or TypeError).
        PluginError: ``cls.Params`` is not a dataclass.
        StrategyError: ``Params`` or ``cls`` raised anything else while being built.
    """
    _check_params_class(cls)
    try:
        values = build(cls.Params, params, "strategy.params")
    except KestrelError:
        raise
    except (Exception, SystemExit) as exc:
        raise _building_fault(cls, "Params", exc) from exc
    try:
        return cls(values)
    except KestrelError:  # raised on purpose (a ConfigError, say): its own group's code
        raise
    except (Exception, SystemExit) as exc:
        raise _building_fault(cls, "the strategy", exc) from exc


def _check_params_class(cls: type[Strategy]) -> None:
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        raise PluginError(
            f"strategy {cls.__name__}: {cls.__name__}.Params must be a dataclass, got "
            f"{params!r}; decorate it with @dataclass(frozen=True)"
        )


def _building_fault(cls: type[Strategy], what: str, exc: BaseException) -> StrategyError:
    return StrategyError(
        f"strategy {cls.__name__}: {what} raised while being built: {describe_fault(exc)}"
    )


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Missing only if the module itself or a package on its dotted path is absent
        # ("sma_plus" failing on its own "import sma" is a missing dependency, not this).
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise PluginError(f"strategy module {name!r} not found ({exc})") from None
        raise PluginError(f"strategy module {name!r} failed to import: {exc}") from exc
    except (Exception, SystemExit) as exc:
        reason = describe_fault(exc)
        raise PluginError(f"strategy module {name!r} failed to import: {reason}") from exc
