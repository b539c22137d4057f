"""Plugins named by a file: ``"path/to/file.py:Class"`` in a strategy or ``[[risk.checks]]``.

In: the part of a reference before the colon and the config's folder. Out: the imported
module (`import_plugin_file`) or the file the reference points at (`plugin_file`, which
the run's inputs hash reads). The file is looked up as every relative path of a config is
(`engine.paths`): beside the config, then under the project root, never the working
directory, so a config finds its plugins wherever the command runs. A reference with a
``/``, a ``\\`` or a ``.py`` ending is a file; anything else is a dotted module name that
Python imports (`is_file_reference`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from engine.errors import PluginError
from engine.paths import find_relative, places_text

__all__ = ["import_plugin_file", "is_file_reference", "plugin_file"]


def is_file_reference(location: str) -> bool:
    """Return True when ``location`` (before the ``:Class``) names a file, not a module."""
    return location.endswith(".py") or "/" in location or "\\" in location


def plugin_file(location: str, base_dir: str | Path) -> Path | None:
    """Return the existing file ``location`` points at from ``base_dir``, or None."""
    found, _ = find_relative(location, base_dir)
    return found if found is not None and found.is_file() else None


def import_plugin_file(location: str, base_dir: str | Path, what: str) -> ModuleType:
    """Import and return the module in the file ``location`` (``what`` names it in errors).

    Raises:
        PluginError: The file does not exist or fails to import (the message carries the
            fault's type, text, file and line).
    """
    from engine.strategy.runner import describe_fault  # the one wording of a user fault

    found, tried = find_relative(location, base_dir)
    if found is None or not found.is_file():
        raise PluginError(
            f"{what} file {location!r} does not exist: {places_text(tried)}; "
            "relative paths are read beside the config file, then under the project root"
        )
    resolved = found.resolve()
    # A stable, unique module name per file and content: dataclasses and pickling need the
    # module in sys.modules, two files with the same stem must not shadow each other, and
    # a file edited since it was imported (a notebook, a test, a parameter sweep in one
    # process) must run its new code, not the module imported before.
    digest = hashlib.sha1(str(resolved).encode() + b"\0" + resolved.read_bytes()).hexdigest()[:10]
    module_name = f"kestrel_plugin_{resolved.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise PluginError(f"{what} file {location!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # No ``__pycache__`` beside the user's file: Kestrel leaves the user's folders as they
    # were (a failed run leaves nothing), and the module names above change with the
    # content anyway. Global for the moment of the import only.
    writes_bytecode, sys.dont_write_bytecode = not sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # sys.exit() at import time must not end the run
        del sys.modules[module_name]
        raise PluginError(
            f"{what} file {location!r} failed to import: {describe_fault(exc)}"
        ) from exc
    finally:
        sys.dont_write_bytecode = not writes_bytecode
    return module
