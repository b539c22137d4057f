"""The import graph of ``engine.indicators`` has no cycle, type-only imports included.

Imports are read with :mod:`ast` (nothing is executed), every ``import`` counts: module
level, inside functions and under ``if TYPE_CHECKING:``, because a cycle in any of them
forces lazy imports or makes the package's layering impossible to read. Strongly
connected components are found with Tarjan's algorithm; any component with more than one
module (or a module importing itself) fails the test and is named in the message.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "engine.indicators"
ROOT = Path(__file__).resolve().parents[3]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in (ROOT / "engine" / "indicators").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, package: str, modules: dict[str, Path]) -> set[str]:
    """Return the ``engine.indicators`` modules that ``path`` imports (any depth, any block)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from pkg import sub`` imports the submodule when there is one.
                child = f"{base}.{alias.name}"
                targets.add(child if child in modules else base)
    return {target for target in targets if target in modules}


def import_graph() -> dict[str, set[str]]:
    """Return module -> modules it imports, inside ``engine.indicators`` only."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(path, package, modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components that are cycles (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def test_the_detector_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "engine.indicators.registry" in graph
    # The registry reads every binding: an edge the parser must see for the test to mean much.
    assert any(target.startswith(PACKAGE) for target in graph["engine.indicators.registry"])


def test_engine_indicators_has_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles in engine.indicators: " + "; ".join(
        " <-> ".join(component) for component in found
    )


def _all_imports(path: Path) -> set[str]:
    """Return every module name ``path`` imports (absolute names, any block)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_kernel_modules_import_only_numeric_code() -> None:
    # DESIGN section 5: numba kernels import numpy/numba/math only (plus the package's jit,
    # allocation and array-type helpers and other kernel modules), never streams, bindings
    # or the registry, so they compile and cache on their own.
    helpers = {f"{PACKAGE}._alloc", f"{PACKAGE}._common", f"{PACKAGE}._jit"}
    modules = _modules()
    kernels = {name for name in modules if name.rpartition(".")[2].startswith("kernels")}
    assert len(kernels) >= 12, sorted(kernels)  # every family has at least one
    allowed_std = {"__future__", "math", "typing", "collections.abc"}
    offenders: dict[str, set[str]] = {}
    for name in sorted(kernels):
        bad = {
            target
            for target in _all_imports(modules[name])
            if target not in allowed_std
            and target.split(".")[0] not in {"numpy", "numba"}
            and target not in helpers
            and target not in kernels
        }
        if bad:
            offenders[name] = bad
    assert offenders == {}, offenders


def test_only_the_binding_chooses_a_generic_stream() -> None:
    # One place chooses a stream (Binding.open_stream): family streams and bindings return
    # their O(1) class or None, never a WindowStream/HistoryStream of their own.
    generic = {"WindowStream", "HistoryStream"}
    allowed = {f"{PACKAGE}._binding", f"{PACKAGE}.streaming"}
    offenders: list[str] = []
    for name, path in sorted(_modules().items()):
        if name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in generic
            ):
                offenders.append(f"{name}:{node.lineno} {node.func.id}")
    assert offenders == []


def test_families_depend_on_each_other_without_a_cycle() -> None:
    # A family may use another family's kernels (MOM's kernels use overlap's WMA), but two
    # families must never need each other: then neither could be read, moved or tested
    # alone. Streams that serve several families live in streams_shared.py instead.
    prefix = f"{PACKAGE}.families."

    def family(module: str) -> str | None:
        return module[len(prefix) :].split(".")[0] if module.startswith(prefix) else None

    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        source = family(module)
        if source is None:
            continue
        graph.setdefault(source, set())
        for target in targets:
            other = family(target)
            if other is not None and other != source:
                graph[source].add(other)
    assert len(graph) == 8, sorted(graph)
    assert cycles(graph) == []
