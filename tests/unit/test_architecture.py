"""Import rules of DESIGN.md §2, checked on the source with `ast` (no imports executed).

- `engine.model` imports nothing else from `engine`.
- `engine.strategy` never imports `engine.execution`, `engine.adapters`, `engine.persistence`.
- Only `engine.runtime` and `engine.cli` import `engine.persistence`, `engine.adapters` and
  `engine.optimize` (each package may import its own modules). The CLI may be split into
  sibling modules named ``engine/cli_*.py``; they count as the CLI.
- No import cycle anywhere in ``engine`` (strongly connected components of the module
  graph; ``engine.indicators`` is allowed one until branch ``indfamilies`` lands).
- Every event (a named tuple with ``ts_event`` and ``ts_init``) lives in ``engine.model``.
- No metaclasses and no stack walking (``sys._getframe``, ``inspect.stack``, …).

Every import counts: module level, inside functions, under ``TYPE_CHECKING``, relative
imports, and ``importlib.import_module("engine....")`` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Return every ``engine`` module ``path`` imports (``from x import y`` gives x and x.y)."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Return the ``engine`` modules ``source`` imports; relative ones resolved in ``package``."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name for name in found if name == "engine" or name.startswith("engine.")}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


SOURCES = sorted(ENGINE.rglob("*.py"))
IMPORTS = {module_name(path): imported_modules(path) for path in SOURCES}


def violations(importers: str | None, forbidden: list[str], allowed: list[str]) -> list[str]:
    """Return ``importer -> imported`` pairs breaking a rule."""
    found = []
    for importer, modules in sorted(IMPORTS.items()):
        if importers is not None and not within(importer, importers):
            continue
        if any(within(importer, ok) for ok in allowed):
            continue
        for module in sorted(modules):
            if any(within(module, bad) for bad in forbidden):
                found.append(f"{importer} -> {module}")
    return found


def test_the_scan_sees_the_engine() -> None:
    assert len(SOURCES) > 30
    assert "engine.model.orders" in IMPORTS
    assert "engine.model.enums" in IMPORTS["engine.model.orders"]  # absolute imports seen
    assert "engine.runtime.kernel" in IMPORTS


def test_model_imports_nothing_else_from_engine() -> None:
    bad = [
        f"{importer} -> {module}"
        for importer, modules in sorted(IMPORTS.items())
        if within(importer, "engine.model")
        for module in sorted(modules)
        if not within(module, "engine.model")
    ]
    assert bad == []


def test_strategy_does_not_import_execution_adapters_or_persistence() -> None:
    forbidden = ["engine.execution", "engine.adapters", "engine.persistence"]
    assert violations("engine.strategy", forbidden, []) == []


CLI_MODULES = [name for name in IMPORTS if name == "engine.cli" or name.startswith("engine.cli_")]


@pytest.mark.parametrize("package", ["engine.persistence", "engine.adapters", "engine.optimize"])
def test_only_runtime_and_cli_import_the_outer_packages(package: str) -> None:
    allowed = ["engine.runtime", *CLI_MODULES, package]
    assert violations(None, [package], allowed) == []


TYPE_CHECKED = (
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.optimize import a"
)
LAZY = "def f():\n    import importlib\n    importlib.import_module('engine.adapters.ccxt')"


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        (
            "from ..execution import broker",
            "engine.strategy",
            {"engine.execution", "engine.execution.broker"},
        ),
        ("from . import base", "engine.strategy", {"engine.strategy", "engine.strategy.base"}),
        (
            "from .history import X",
            "engine.strategy",
            {"engine.strategy.history", "engine.strategy.history.X"},
        ),
        ("import engine.persistence.store as s", "engine.x", {"engine.persistence.store"}),
        ("from engine import persistence", "engine.x", {"engine", "engine.persistence"}),
        (LAZY, "engine.x", {"engine.adapters.ccxt"}),
        (TYPE_CHECKED, "engine.x", {"engine.optimize", "engine.optimize.a"}),
        ("import numpy\nfrom pandas import DataFrame", "engine.x", set()),
    ],
)
def test_the_checker_sees_every_kind_of_import(
    source: str, package: str, expected: set[str]
) -> None:
    assert imports_in(source, package) == expected


# --- import cycles --------------------------------------------------------------------------
#
# Edges are every import the scan above sees, function-level and ``TYPE_CHECKING`` ones
# included: a deferred import hides a cycle from the interpreter, not from a reader, and the
# layering it breaks is the same (report needing runtime while runtime needs report means
# neither can be understood or moved alone). ``from pkg import name`` counts as an edge to
# ``pkg.name`` only when that is a module; importing a package counts as an edge to its
# ``__init__`` (which is what Python executes).
#
# ALLOWED_CYCLES: packages whose internal cycles are tolerated. None: the indicators' 22-file
# cycle went with their regrouping into family packages (issue 12).
ALLOWED_CYCLES: list[str] = []


def import_graph(imports: dict[str, set[str]]) -> dict[str, set[str]]:
    """Return ``module -> engine modules it imports``, restricted to modules that exist.

    ``imports`` holds both ``x`` and ``x.y`` for ``from x import y``; when ``x.y`` is a module
    the edge goes to it alone, since ``x`` (a package) is then only the path to it, and a
    package's ``__init__`` re-exporting its modules must not make every sibling import of the
    form ``from . import payloads`` look like a cycle through the package.
    """
    graph: dict[str, set[str]] = {}
    for importer, names in imports.items():
        precise = {name for name in names if name in imports and name != importer}
        graph[importer] = {
            name
            for name in precise
            if not any(other.startswith(name + ".") and other in imports for other in precise)
            or name in EXPLICIT[importer]
        }
    return graph


def explicit_imports(path: Path) -> set[str]:
    """Return the modules ``path`` imports whole: ``import x``, ``from x import <non-module>``."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = imports_in(f"from {'.' * node.level}{node.module or ''} import _", package)
            base = min(module, key=len) if module else ""
            if any(f"{base}.{alias.name}" not in IMPORTS for alias in node.names):
                found.add(base)
    return found


EXPLICIT = {module_name(path): explicit_imports(path) for path in SOURCES}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the components of ``graph`` with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"x": {"y"}, "y": set()}) == []


def test_engine_has_no_import_cycles() -> None:
    cycles = [
        component
        for component in strongly_connected(import_graph(IMPORTS))
        if not all(any(within(m, ok) for ok in ALLOWED_CYCLES) for m in component)
    ]
    assert cycles == []


# --- one home for events ----------------------------------------------------------------------


def test_every_event_class_lives_in_model() -> None:
    bad = []
    for path in SOURCES:
        if within(module_name(path), "engine.model"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "NamedTuple" for base in node.bases
            ):
                fields = {
                    item.target.id
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
                if {"ts_event", "ts_init"} <= fields:  # an event: DESIGN §3's two clocks
                    bad.append(f"{module_name(path)}.{node.name}")
    assert bad == []


# --- DESIGN §2: "No metaclasses, no stack walking" ---------------------------------------------

STACK_WALKERS = {"_getframe", "currentframe", "stack", "getouterframes", "getframeinfo"}


def design_breaks(source: str, module: str) -> list[str]:
    """Return the metaclasses and stack-walking calls in ``source``."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and any(k.arg == "metaclass" for k in node.keywords):
            bad.append(f"{module}.{node.name}: metaclass")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in STACK_WALKERS
            and isinstance(node.value, ast.Name)
            and node.value.id in {"sys", "inspect"}
        ):
            bad.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    return bad


def test_the_design_checker_sees_metaclasses_and_stack_walks() -> None:
    source = "import sys\nclass A(metaclass=type):\n    pass\nf = sys._getframe(1)\n"
    assert design_breaks(source, "m") == ["m.A: metaclass", "m:4: sys._getframe"]


def test_no_metaclasses_and_no_stack_walking() -> None:
    bad = [
        line
        for path in SOURCES
        for line in design_breaks(path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert bad == []
