"""The import rules of DESIGN.md §2, checked on the source with `ast` (no import executed).

Each rule has a checker taking a module graph (``module -> engine modules it imports``), a
test feeding it a made-up violating graph (so the checker is shown to catch one), and a
test running it on engine/:

- `engine.model` imports nothing else from `engine`.
- The foundation every stage may depend on (`engine.model`, `engine.bus`, `engine.clock`,
  `engine.errors`) imports no stage: "stages depend on model, bus, clock and protocols".
- No module imports another package's internals: a name or module starting with ``_``
  from outside its own top-level package ("not on each other's internals").
- `engine.strategy` never imports `engine.execution`, `engine.adapters`, `engine.persistence`.
- Only `engine.runtime` and `engine.cli` import `engine.persistence`, `engine.adapters` and
  `engine.optimize` (each package may import its own modules). The CLI may be split into
  sibling modules named ``engine/cli_*.py``; they count as the CLI.
- No import cycle anywhere in ``engine`` (strongly connected components of the module graph).

DESIGN's other rules (bus wiring in one place of runtime/, file size, no metaclasses or
stack walking, no global "current algorithm", no mode flags, one home for events) are
checked the same way in tests/unit/test_architecture_design.py.

What cannot be checked mechanically, and is left to review: that a stage depends on
another stage's *protocol* rather than its concrete class (types are not visible in the
import graph: importing `engine.execution.broker` for a protocol or for `SimulatedBroker`
looks alike), and that no code reads another object's ``_private`` attribute (the AST does
not know whose attribute it is).

Every import counts: module level, inside functions, under ``TYPE_CHECKING``, relative
imports, and ``importlib.import_module("engine....")`` with a literal name.
"""

from __future__ import annotations

import ast
import functools
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


@functools.cache
def engine_imports() -> dict[str, set[str]]:
    """Return ``module -> engine modules it imports`` for every module of engine/.

    Parsed once, when a test first asks: at import time every pytest-xdist worker paid it
    (~2 s of CPU each) while collecting, whether or not it ran these tests.
    """
    return {module_name(path): imported_modules(path) for path in SOURCES}


def violations(
    imports: dict[str, set[str]], importers: str | None, forbidden: list[str], allowed: list[str]
) -> list[str]:
    """Return ``importer -> imported`` pairs of ``imports`` breaking a rule.

    Args:
        imports: ``module -> engine modules it imports`` (`engine_imports`, or a made-up graph).
        importers: Only modules within this package are checked (None: every module).
        forbidden: Packages they must not import.
        allowed: Importers exempt from the rule.
    """
    found = []
    for importer, modules in sorted(imports.items()):
        if importers is not None and not within(importer, importers):
            continue
        if any(within(importer, ok) for ok in allowed):
            continue
        for module in sorted(modules):
            if any(within(module, bad) for bad in forbidden):
                found.append(f"{importer} -> {module}")
    return found


def test_the_scan_sees_the_engine() -> None:
    imports = engine_imports()
    assert len(SOURCES) > 30
    assert "engine.model.orders" in imports
    assert "engine.model.enums" in imports["engine.model.orders"]  # absolute imports seen
    assert "engine.runtime.kernel" in imports


def only_within(imports: dict[str, set[str]], packages: list[str]) -> list[str]:
    """Return imports by modules of ``packages`` of anything outside ``packages``."""
    return [
        f"{importer} -> {module}"
        for importer, modules in sorted(imports.items())
        if any(within(importer, package) for package in packages)
        for module in sorted(modules)
        if not any(within(module, package) for package in packages)
    ]


def model_violations(imports: dict[str, set[str]]) -> list[str]:
    return only_within(imports, ["engine.model"])


# The foundation stages depend on (DESIGN §2), and which may depend only on itself.
FOUNDATION = ["engine.model", "engine.bus", "engine.clock", "engine.errors"]


def foundation_violations(imports: dict[str, set[str]]) -> list[str]:
    return only_within(imports, FOUNDATION)


def strategy_violations(imports: dict[str, set[str]]) -> list[str]:
    forbidden = ["engine.execution", "engine.adapters", "engine.persistence"]
    return violations(imports, "engine.strategy", forbidden, [])


OUTER_PACKAGES = ["engine.persistence", "engine.adapters", "engine.optimize"]


def outer_violations(imports: dict[str, set[str]], package: str) -> list[str]:
    """Return imports of ``package`` by anything but runtime, the CLI and itself."""
    cli = [name for name in imports if name == "engine.cli" or name.startswith("engine.cli_")]
    return violations(imports, None, [package], ["engine.runtime", *cli, package])


FAKE_GRAPH = {
    "engine.model.ids": {"engine.model.enums", "engine.bus"},  # model -> bus: breaks two rules
    "engine.model.enums": set(),
    "engine.bus": {"engine.model", "engine.errors"},
    "engine.clock": {"engine.runtime.kernel"},  # foundation -> stage
    "engine.errors": set(),
    "engine.strategy.base": {"engine.model.ids", "engine.execution.broker"},
    "engine.strategy.loader": {"engine.persistence.store"},  # two rules at once
    "engine.report.export": {"engine.optimize.search"},
    "engine.runtime.kernel": {"engine.persistence.store", "engine.adapters.ccxt"},
    "engine.cli_report": {"engine.persistence", "engine.optimize"},
    "engine.cli": {"engine.adapters"},
    "engine.persistence.store": {"engine.persistence.schema"},
}


def test_each_import_rule_catches_a_made_up_violation() -> None:
    assert model_violations(FAKE_GRAPH) == ["engine.model.ids -> engine.bus"]
    assert foundation_violations(FAKE_GRAPH) == ["engine.clock -> engine.runtime.kernel"]
    assert strategy_violations(FAKE_GRAPH) == [
        "engine.strategy.base -> engine.execution.broker",
        "engine.strategy.loader -> engine.persistence.store",
    ]
    assert outer_violations(FAKE_GRAPH, "engine.persistence") == [
        "engine.strategy.loader -> engine.persistence.store"
    ]
    assert outer_violations(FAKE_GRAPH, "engine.optimize") == [
        "engine.report.export -> engine.optimize.search"
    ]
    assert outer_violations(FAKE_GRAPH, "engine.adapters") == []


def test_model_imports_nothing_else_from_engine() -> None:
    assert model_violations(engine_imports()) == []


def test_the_foundation_imports_no_stage() -> None:
    imports = engine_imports()
    assert all(any(name == f or name.startswith(f + ".") for name in imports) for f in FOUNDATION)
    assert foundation_violations(imports) == []


def test_strategy_does_not_import_execution_adapters_or_persistence() -> None:
    assert strategy_violations(engine_imports()) == []


@pytest.mark.parametrize("package", OUTER_PACKAGES)
def test_only_runtime_and_cli_import_the_outer_packages(package: str) -> None:
    assert outer_violations(engine_imports(), package) == []


# --- "not on each other's internals": no private names across packages ------------------------


def top_package(module: str) -> str:
    """Return ``engine.x`` for ``engine.x.y.z`` (the unit a rule calls a package or stage)."""
    return ".".join(module.split(".")[:2])


def private_imports(imports: dict[str, set[str]]) -> list[str]:
    """Return imports of a ``_private`` module or name from another top-level package."""
    return [
        f"{importer} -> {module}"
        for importer, modules in sorted(imports.items())
        for module in sorted(modules)
        if top_package(module) != top_package(importer)
        and any(part.startswith("_") and not part.startswith("__") for part in module.split("."))
    ]


def test_the_private_import_checker_catches_internals() -> None:
    graph = {
        "engine.report.html": {"engine.runtime._wiring", "engine.runtime.kernel"},
        "engine.risk.engine": {"engine.execution.broker._fill_price", "engine.model"},
        "engine.runtime.kernel": {"engine.runtime._wiring", "engine.runtime.__init__"},
    }
    assert private_imports(graph) == [
        "engine.report.html -> engine.runtime._wiring",
        "engine.risk.engine -> engine.execution.broker._fill_price",
    ]
    seen = imports_in("from engine.execution.broker import _fill_price", "engine.risk")
    assert private_imports({"engine.risk.engine": seen}) == [
        "engine.risk.engine -> engine.execution.broker._fill_price"
    ]


def test_no_package_imports_another_packages_internals() -> None:
    assert private_imports(engine_imports()) == []


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
            or name in explicit()[importer]
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
            if any(f"{base}.{alias.name}" not in engine_imports() for alias in node.names):
                found.add(base)
    return found


@functools.cache
def explicit() -> dict[str, set[str]]:
    """Return `explicit_imports` of every module of engine/ (parsed once, when first asked)."""
    return {module_name(path): explicit_imports(path) for path in SOURCES}


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
        for component in strongly_connected(import_graph(engine_imports()))
        if not all(any(within(m, ok) for ok in ALLOWED_CYCLES) for m in component)
    ]
    assert cycles == []
