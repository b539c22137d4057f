"""DESIGN.md's rules that are not about imports, checked on the source with `ast`.

The import rules (layering, no cycles, no internals across packages) are in
tests/unit/test_architecture.py, whose docstring lists every rule and what is left to
review. Here, each rule has a checker taking a parsed module, a test feeding it a made-up
violation, and a test running it over engine/:

- All bus wiring sits in one screen of `runtime/` (§2): every ``bus.subscribe`` or
  ``subscribe_all`` call is in one function (helpers nested in it included) of one
  `engine.runtime` module. "One screen" is checked as "one function", not by its length.
- Files stay small (§2, "aim under ~600 lines"): no module of engine/ over 600 lines.
- No metaclasses, no stack walking (§2): no ``metaclass=``, no ``sys._getframe``,
  ``inspect.stack`` and the like.
- No global "current algorithm" (§2): no ``global`` statement, no ``ContextVar``, no
  ``threading.local``. Module-level mutable objects are not detected (a dict constant and a
  registry look alike to the AST): review.
- No sessions or mode flags stored on classes (§2), no ``live`` flags in the kernel (§8):
  no parameter or class attribute named for a mode (``live``, ``paper``, ``backtest``, …)
  typed or defaulted ``bool``; a mode object says what differs.
- Every event (a named tuple with ``ts_event`` and ``ts_init``) lives in `engine.model` (§3).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

from tests.unit.test_architecture import SOURCES, module_name, within


@functools.cache
def engine_texts() -> dict[str, str]:
    """Return every module of engine/'s source, read when a test first asks (not at import:
    each pytest-xdist worker paid the reading and parsing while collecting)."""
    return {module_name(path): path.read_text(encoding="utf-8") for path in SOURCES}


@functools.cache
def engine_trees() -> dict[str, ast.Module]:
    """Return every module of engine/ parsed, once."""
    return {module: ast.parse(text) for module, text in engine_texts().items()}


def over_engine(check: Callable[[ast.Module, str], list[str]]) -> list[str]:
    """Return everything ``check(tree, module)`` reports over engine/, in module order."""
    trees = engine_trees()
    return [line for module, tree in sorted(trees.items()) for line in check(tree, module)]


# --- §2: "All bus wiring sits in one screen of runtime/" -------------------------------------


def is_subscription(node: ast.AST) -> bool:
    """True for ``<...>bus.subscribe(...)`` / ``subscribe_all``; a websocket's is not the bus."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr not in {"subscribe", "subscribe_all"}:
        return False
    receiver = node.func.value
    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return name == "bus" or name.endswith("_bus")


def wiring_sites(tree: ast.Module, module: str) -> list[str]:
    """Return ``module:function`` of each outermost function that subscribes on the bus.

    Methods are named ``Class.method``; functions nested in one count as it; a call
    outside any function is ``module:<module>``.
    """
    owners: list[tuple[str, ast.AST]] = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            owners.append((statement.name, statement))
        elif isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    owners.append((f"{statement.name}.{item.name}", item))
                else:
                    owners.append(("<module>", item))
        else:
            owners.append(("<module>", statement))
    found = {
        f"{module}:{owner}"
        for owner, node in owners
        if any(is_subscription(inner) for inner in ast.walk(node))
    }
    return sorted(found)


def wiring_problems(sites: list[str]) -> list[str]:
    """Return why ``sites`` break the rule: wiring outside runtime, or in several functions."""
    problems = [
        f"{site}: bus wiring outside engine.runtime"
        for site in sites
        if not within(site.partition(":")[0], "engine.runtime")
    ]
    if len(sites) > 1:
        problems.append(f"bus wiring spread over {len(sites)} functions: {', '.join(sites)}")
    return problems


def test_the_wiring_checker_sees_subscriptions_everywhere() -> None:
    source = (
        "class Kernel:\n"
        "    def wire(self):\n"
        "        def hook(t):\n"
        "            self.bus.subscribe(t, print)\n"  # a nested helper: still wire
        "        bus.subscribe_all(print)\n"
        "def extra(kernel):\n"
        "    kernel.bus.subscribe(int, print)\n"
        "event_bus.subscribe(str, print)\n"
        "socket.subscribe('trades')\n"  # not the bus
    )
    sites = wiring_sites(ast.parse(source), "engine.runtime.kernel")
    assert sites == [
        "engine.runtime.kernel:<module>",
        "engine.runtime.kernel:Kernel.wire",
        "engine.runtime.kernel:extra",
    ]
    assert wiring_problems(["engine.runtime.kernel:Kernel.wire"]) == []
    assert wiring_problems(["engine.strategy.base:Strategy.on_start"]) == [
        "engine.strategy.base:Strategy.on_start: bus wiring outside engine.runtime"
    ]
    assert wiring_problems(sites) == [
        "bus wiring spread over 3 functions: engine.runtime.kernel:<module>, "
        "engine.runtime.kernel:Kernel.wire, engine.runtime.kernel:extra"
    ]


def test_all_bus_wiring_sits_in_one_runtime_function() -> None:
    sites = over_engine(wiring_sites)
    assert len(sites) == 1  # the scan sees the wiring: it is not somewhere it cannot look
    assert wiring_problems(sites) == []


# --- §2: "Files stay small (aim under ~600 lines)" -------------------------------------------

MAX_LINES = 600


def long_files(texts: dict[str, str]) -> list[str]:
    lines = {name: text.count("\n") for name, text in texts.items()}
    return [f"{name}: {count} lines" for name, count in sorted(lines.items()) if count > MAX_LINES]


def test_the_size_checker_catches_a_long_file() -> None:
    texts = {"a": "x = 1\n" * MAX_LINES, "b": "x = 1\n" * (MAX_LINES + 1)}
    assert long_files(texts) == [f"b: {MAX_LINES + 1} lines"]


def test_no_engine_file_is_over_600_lines() -> None:
    assert long_files(engine_texts()) == []


# --- §2: "No metaclasses, no stack walking" --------------------------------------------------

STACK_WALKERS = {"_getframe", "currentframe", "stack", "getouterframes", "getframeinfo"}


def design_breaks(tree: ast.Module, module: str) -> list[str]:
    """Return the metaclasses and stack-walking calls in ``tree``."""
    bad = []
    for node in ast.walk(tree):
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
    assert design_breaks(ast.parse(source), "m") == ["m.A: metaclass", "m:4: sys._getframe"]


def test_no_metaclasses_and_no_stack_walking() -> None:
    assert over_engine(design_breaks) == []


# --- §2: no global "current algorithm" ---------------------------------------------------------


def global_state(tree: ast.Module, module: str) -> list[str]:
    """Return ``global`` statements and context-local state (``ContextVar``, ``local()``)."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            bad.append(f"{module}:{node.lineno}: global {', '.join(node.names)}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            threading_local = (
                name == "local"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "threading"
            )
            if name == "ContextVar" or threading_local:
                bad.append(f"{module}:{node.lineno}: {ast.unparse(func)}()")
    return sorted(bad)


def test_the_global_state_checker_catches_globals_and_context_locals() -> None:
    source = (
        "import threading, contextvars\n"
        "CURRENT = contextvars.ContextVar('algo')\n"
        "SLOT = threading.local()\n"
        "def set_algo(a):\n"
        "    global ALGO\n"
        "    ALGO = a\n"
        "x = local()\n"  # someone's own function named local: not threading's
    )
    assert global_state(ast.parse(source), "m") == [
        "m:2: contextvars.ContextVar()",
        "m:3: threading.local()",
        "m:5: global ALGO",
    ]


def test_no_global_current_algorithm() -> None:
    assert over_engine(global_state) == []


# --- §2: no mode flags stored on classes; §8: no `live` flags in the kernel ----------------

MODE_NAMES = {"live", "is_live", "paper", "is_paper", "backtest", "is_backtest", "simulated"}

# Mode flags tolerated while a branch replaces them (none left: `build_kernel(live)` gave
# way to `engine.runtime.modes.RunMode`, issue 12). `test_every_allowed_mode_flag_still_exists`
# fails once one is gone, so its entry goes with it.
ALLOWED_MODE_FLAGS: set[str] = set()


def is_bool(annotation: ast.expr | None, default: ast.expr | None) -> bool:
    if annotation is not None and "bool" in ast.unparse(annotation):
        return True
    return isinstance(default, ast.Constant) and isinstance(default.value, bool)


def mode_flags(tree: ast.Module, module: str) -> list[str]:
    """Return bool parameters and class attributes named for a mode, as ``module:where``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            positional = [*node.args.posonlyargs, *node.args.args]
            defaults: dict[str, ast.expr | None] = {a.arg: None for a in positional}
            # defaults belong to the last positional parameters
            for arg, default in zip(positional[::-1], node.args.defaults[::-1], strict=False):
                defaults[arg.arg] = default
            for arg, kw_default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
                defaults[arg.arg] = kw_default
            for arg in [*positional, *node.args.kwonlyargs]:
                if arg.arg in MODE_NAMES and is_bool(arg.annotation, defaults[arg.arg]):
                    found.append(f"{module}:{node.name}({arg.arg})")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                target = item.target if isinstance(item, ast.AnnAssign) else None
                if (
                    isinstance(item, ast.AnnAssign)
                    and isinstance(target, ast.Name)
                    and target.id in MODE_NAMES
                    and is_bool(item.annotation, item.value)
                ):
                    found.append(f"{module}:{node.name}.{target.id}")
    return sorted(found)


def test_the_mode_flag_checker_catches_flags_on_functions_and_classes() -> None:
    source = (
        "def build(bus, live: bool = False): ...\n"
        "def run(*, paper=True): ...\n"
        "def show(live_url: str, mode: int = 0, simulated=None): ...\n"  # not mode flags
        "class Node:\n"
        "    is_live: bool = True\n"
        "    backtest: 'ClassVar[bool]'\n"
        "    name: str = 'live'\n"
    )
    assert mode_flags(ast.parse(source), "m") == [
        "m:Node.backtest",
        "m:Node.is_live",
        "m:build(live)",
        "m:run(paper)",
    ]


def test_no_mode_flags() -> None:
    assert set(over_engine(mode_flags)) - ALLOWED_MODE_FLAGS == set()


def test_every_allowed_mode_flag_still_exists() -> None:
    assert ALLOWED_MODE_FLAGS - set(over_engine(mode_flags)) == set()  # gone: drop the entry


# --- §3: one home for events -------------------------------------------------------------------


def misplaced_events(tree: ast.Module, module: str) -> list[str]:
    """Return the event classes (named tuples with both clocks) defined outside model."""
    if within(module, "engine.model"):
        return []
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id == "NamedTuple" for base in node.bases
        ):
            fields = {
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
            if {"ts_event", "ts_init"} <= fields:  # an event: DESIGN §3's two clocks
                bad.append(f"{module}.{node.name}")
    return bad


def test_the_event_checker_finds_an_event_outside_model() -> None:
    source = ast.parse(
        "class Fill(NamedTuple):\n    ts_event: int\n    ts_init: int\n"
        "class Row(NamedTuple):\n    ts_event: int\n"  # one clock: a row, not an event
    )
    assert misplaced_events(source, "engine.risk.events") == ["engine.risk.events.Fill"]
    assert misplaced_events(source, "engine.model.events") == []


def test_every_event_class_lives_in_model() -> None:
    assert over_engine(misplaced_events) == []
