"""Risk-check plugins: ``[[risk.checks]]`` entries naming a class by ``"module:Class"``.

The module is a dotted name Python imports (the working directory or an installed package)
or, as for a strategy, a file: ``"checks.py:Class"`` is read beside the config, then under
the project root (`engine.plugin_files`).

The class is built with the entry's ``params`` as keyword arguments and must have the
`RiskCheck` shape: a ``name`` attribute (shown in denials) and ``check(order, state)``.
Plugin checks run after the built-in limits and before the order-rate limit. ``check``
returns None to pass or a non-empty ``str``, the denial's reason; any other answer (False,
"", a number) stops the run with a `StrategyError` naming the check and its file (exit 3,
as an exception the check raises does: `engine.risk.engine._reason`).

    [[risk.checks]]
    path = "my_risk.spread:MaxSpreadCheck"
    params = { max_spread_bps = 20.0 }
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from engine.errors import ConfigError, KestrelError, PluginError, StrategyError, did_you_mean
from engine.plugin_files import import_plugin_file, is_file_reference
from engine.risk.checks import RiskCheck

__all__ = ["CheckPluginConfig", "load_check"]


@dataclass(frozen=True)
class CheckPluginConfig:
    """One ``[[risk.checks]]`` entry.

    Attributes:
        path: ``"package.module:Class"`` of the check (importable from the working
            directory or an installed package) or ``"file.py:Class"`` (beside the config).
        params: Keyword arguments of the class.
        base_dir: The config's folder, where a file reference is looked up first (set by
            `engine.config.parse_config`; not a config key).
    """

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    base_dir: str = field(default=".", compare=False, metadata={"config": False})

    def __post_init__(self) -> None:
        module, sep, name = self.path.rpartition(":")
        if not (sep and module and name):
            raise ValueError(
                f"path must be 'package.module:Class' or 'file.py:Class', got {self.path!r}"
            )


def load_check(entry: CheckPluginConfig) -> RiskCheck:
    """Import, build and return the check ``entry`` names.

    Raises:
        PluginError: The module or class does not exist, or the object is not a check.
        ConfigError: The class rejects ``params`` (TypeError or ValueError).
        StrategyError: The class raised anything else: user code at fault (exit 3, with
            its file and line), as a strategy's would be.
    """
    module_name, _, class_name = entry.path.rpartition(":")
    if is_file_reference(module_name):
        module = import_plugin_file(module_name, entry.base_dir, "risk check")
    else:
        module = _import_module(module_name)
    cls = getattr(module, class_name, None)
    if cls is None:
        names = [n for n, v in vars(module).items() if isinstance(v, type)]
        raise PluginError(
            f"{module_name!r} has no class {class_name!r}{did_you_mean(class_name, names)}"
        )
    try:
        check = cls(**entry.params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"risk.checks {entry.path!r}: {exc}") from None
    except KestrelError:
        raise
    except (Exception, SystemExit) as exc:  # the plugin's own code failed: as a strategy's
        from engine.strategy.runner import describe_fault

        raise StrategyError(
            f"risk check {entry.path!r} raised while being built: {describe_fault(exc)}"
        ) from exc
    if not (
        isinstance(getattr(check, "name", None), str) and callable(getattr(check, "check", None))
    ):
        raise PluginError(
            f"{entry.path!r} is not a risk check: it needs a `name` and a `check(order, state)`"
        )
    result: RiskCheck = check
    return result


def _import_module(name: str) -> ModuleType:
    from engine.strategy.runner import describe_fault

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise PluginError(
                f"risk check module {name!r} not found ({exc}); a file beside the config is "
                "named 'file.py:Class'"
            ) from None
        raise PluginError(f"risk check module {name!r} failed to import: {exc}") from exc
    except (Exception, SystemExit) as exc:  # sys.exit() at import must not end the process
        raise PluginError(
            f"risk check module {name!r} failed to import: {describe_fault(exc)}"
        ) from exc
