"""Lazy package exports (PEP 562): a package's public names imported on first use.

In: a package's name and ``{public name: module that defines it}``. Out: the package's
module-level ``__getattr__`` and ``__dir__``. ``import engine`` (and ``engine.report``,
``engine.runtime``, ...) then costs only what the caller touches: the ``kestrel`` command
starts without pandas, numba or SQLAlchemy when its command needs none of them (issue 13;
``tests/unit/test_import_cost.py`` pins which libraries each entry point may load).

A package uses it as::

    if TYPE_CHECKING:  # what mypy and readers see: the same names, typed
        from engine.report.metrics import compute_metrics
    else:
        __getattr__, __dir__ = lazy_exports(__name__, {"compute_metrics": "engine.report.metrics"})

Keeping ``__getattr__`` out of mypy's sight keeps a typo (``engine.reprot``) an error
instead of ``Any``. A name, once imported, is stored in the package's namespace, so later
look-ups are plain attribute reads.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` exporting ``exports`` lazily.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> the module (absolute name) it is imported from.

    Returns:
        ``__getattr__(name)``, which imports ``name`` from its module, stores it in the
        package and returns it (AttributeError for other names, so ``from package import
        submodule`` still finds submodules), and ``__dir__()``, which lists the exports too.
    """

    def module_getattr(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def module_dir() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return module_getattr, module_dir
