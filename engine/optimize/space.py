"""The search space: ``--param`` specs, their grid, random draws and ``--constraint``.

In: ``name=start:stop:step`` (an inclusive arithmetic range: ``fast=5:50:5`` is 5, 10, …,
50; integers when all three are integers, else floats rounded to the step's decimals) or
``name=a,b,c`` (a list of values: numbers, ``true``/``false`` or words), checked against the
strategy's ``Params`` fields; and a constraint expression such as ``"fast < slow"`` or
``"slow >= 2 * fast"``. Out: `ParamSpec` values, the candidate list of a grid (the
Cartesian product in the order the specs were given, last spec fastest) or of a seeded
random search (draws without replacement from that grid, so a sweep is reproducible and
never runs one point twice), and a compiled `Constraint`.

Constraints are parsed with `ast` and evaluated by a small interpreter over a whitelist:
comparisons, ``and``/``or``/``not``, ``+ - * / // % **``, unary ``-``/``+``, number and
boolean literals, and the strategy's parameter names. Nothing else is accepted (no calls,
attributes, subscripts, lambdas): a constraint cannot run code.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import ConfigError, did_you_mean
from engine.typed import check_field

__all__ = [
    "Constraint",
    "ParamSpec",
    "grid_points",
    "parse_constraint",
    "parse_param",
    "random_points",
]

Point = dict[str, Any]
MAX_GRID = 5_000_000  # a grid this large is a typo (a step of 0.0001), not a plan


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter.

    Attributes:
        name: The strategy parameter.
        values: Every value the grid takes, in order.
        low, high, step: The range for ``start:stop:step`` specs (None for lists): Optuna
            samples ``low..high`` on ``step``.
    """

    name: str
    values: tuple[Any, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def is_int(self) -> bool:
        """Return True for an integer range."""
        return self.low is not None and all(isinstance(v, int) for v in self.values)


def parse_param(text: str, known: Iterable[str], params: type[Any] | None = None) -> ParamSpec:
    """Return the `ParamSpec` of one ``--param`` value.

    Args:
        text: ``name=start:stop:step`` or ``name=a,b,c``.
        known: The strategy's parameter names.
        params: The strategy's ``Params`` dataclass: every value is checked against the
            parameter's type, so ``fast=5,nan`` or ``fast=5.5,6`` for a whole-number
            parameter is refused before any trial runs (what the other parameters make of a
            value, e.g. ``slow`` not above ``fast``, is the trial's own failure).

    Raises:
        ConfigError: Not ``name=...``, an unknown name (with "did you mean"), a bad range
            (non-numeric, step <= 0, start > stop, or more than `MAX_GRID` values), or a
            value of the wrong type.
    """
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ConfigError(
            f"--param {text!r}: write name=start:stop:step (fast=5:50:5) or name=a,b,c"
        )
    names = list(known)
    if name not in names:
        raise ConfigError(
            f"--param {text!r}: the strategy has no parameter {name!r}{did_you_mean(name, names)}"
        )
    if ":" in spec:
        found = _range_spec(name, spec, text)
    else:
        values = tuple(_literal(part.strip()) for part in spec.split(",") if part.strip())
        if not values:
            raise ConfigError(f"--param {text!r}: no values after '='")
        # A value twice would run the same trial twice and count it as two variants (the
        # deflated Sharpe ratio's N, and its variance of Sharpe ratios, would be wrong).
        repeated = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if repeated is not None:
            raise ConfigError(f"--param {text!r}: repeats {repeated!r}: give each value once")
        found = ParamSpec(name, values)
    if params is not None:
        for value in found.values:
            try:
                check_field(params, name, value, "strategy.params")
            except ConfigError as exc:
                raise ConfigError(f"--param {text!r}: {exc}") from None
    return found


def _range_spec(name: str, spec: str, text: str) -> ParamSpec:
    parts = [part.strip() for part in spec.split(":")]
    if len(parts) != 3:
        raise ConfigError(f"--param {text!r}: a range is start:stop:step (three numbers)")
    try:
        start, stop, step = (Decimal(part) for part in parts)
    except InvalidOperation:
        raise ConfigError(f"--param {text!r}: start, stop and step must be numbers") from None
    if not all(d.is_finite() for d in (start, stop, step)):
        raise ConfigError(f"--param {text!r}: start, stop and step must be finite numbers")
    if step <= 0:
        raise ConfigError(f"--param {text!r}: step must be > 0, got {parts[2]}")
    if start > stop:
        raise ConfigError(f"--param {text!r}: start {parts[0]} is above stop {parts[1]}")
    count = int((stop - start) / step) + 1
    if count > MAX_GRID:
        raise ConfigError(f"--param {text!r}: {count:,} values; use a larger step")
    # Decimal arithmetic: 0.1:0.5:0.1 gives 0.1, 0.2, …, 0.5 exactly, not 0.30000000000000004
    integral = all("." not in p and "e" not in p.lower() for p in parts)
    points = [start + step * k for k in range(count)]
    values: tuple[Any, ...] = tuple(int(v) if integral else float(v) for v in points)
    return ParamSpec(name, values, float(start), float(points[-1]), float(step))


def _literal(word: str) -> Any:
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            continue
    return word


def grid_points(specs: Sequence[ParamSpec]) -> list[Point]:
    """Return every combination of the specs' values (the last spec varies fastest)."""
    names = [spec.name for spec in specs]
    return [dict(zip(names, combo, strict=True)) for combo in _product(specs)]


def _product(specs: Sequence[ParamSpec]) -> Iterable[tuple[Any, ...]]:
    size = math.prod(len(spec.values) for spec in specs)
    if size > MAX_GRID:
        raise ConfigError(f"the grid has {size:,} points (over {MAX_GRID:,}); use larger steps")
    return itertools.product(*(spec.values for spec in specs))


def random_points(
    specs: Sequence[ParamSpec], count: int, seed: int, keep: Callable[[Point], bool]
) -> list[Point]:
    """Return up to ``count`` distinct grid points drawn with ``seed``, those ``keep`` accepts.

    The draw is a seeded shuffle of the grid's indices, so the same seed gives the same
    points in the same order, and a larger ``count`` extends a smaller one's list.
    """
    names = [spec.name for spec in specs]
    sizes = [len(spec.values) for spec in specs]
    total = math.prod(sizes)
    if total > MAX_GRID:
        raise ConfigError(f"the grid has {total:,} points (over {MAX_GRID:,}); use larger steps")
    order = list(range(total))
    random.Random(seed).shuffle(order)
    chosen: list[Point] = []
    for flat in order:
        point = {}
        for name, size, spec in zip(reversed(names), reversed(sizes), reversed(specs), strict=True):
            flat, index = divmod(flat, size)
            point[name] = spec.values[index]
        point = {name: point[name] for name in names}
        if keep(point):
            chosen.append(point)
            if len(chosen) == count:
                break
    return chosen


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: lambda base, power: _power(base, power),
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}


def _power(base: Any, power: Any) -> Any:
    # 9 ** 9 ** 9 would take minutes to compute: a constraint needs no such exponent
    if abs(power) > 64:
        raise OverflowError("exponent too large")
    return base**power


@dataclass(frozen=True)
class Constraint:
    """A parsed ``--constraint``; call it with a parameter mapping to test a point."""

    text: str
    tree: ast.expr

    def __call__(self, params: Mapping[str, Any]) -> bool:
        """Return whether ``params`` satisfy the expression (a zero division: False)."""
        try:
            return bool(_evaluate(self.tree, params))
        except (ZeroDivisionError, OverflowError, TypeError):
            return False


def parse_constraint(text: str, names: Iterable[str]) -> Constraint:
    """Return the `Constraint` of ``text`` over the parameter ``names``.

    Raises:
        ConfigError: Not an expression, a construct outside the whitelist, or a name that
            is not a parameter (with "did you mean").
    """
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f"--constraint {text!r}: not an expression ({exc.msg})") from None
    known = list(names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in known:
                hint = did_you_mean(node.id, known)
                raise ConfigError(f"--constraint {text!r}: {node.id!r} is not a parameter{hint}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float):
                raise ConfigError(f"--constraint {text!r}: only numbers and true/false literals")
        elif not isinstance(
            node,
            ast.Compare | ast.BoolOp | ast.BinOp | ast.UnaryOp | ast.Load | ast.And | ast.Or,
        ) and type(node) not in (*_COMPARE, *_BINARY, *_UNARY):
            raise ConfigError(
                f"--constraint {text!r}: {type(node).__name__} is not allowed (only parameter "
                "names, numbers, comparisons, arithmetic and and/or/not)"
            )
    return Constraint(text, tree)


def _evaluate(node: ast.expr, params: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return params[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, params))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, params), _evaluate(node.right, params)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(value, params) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, params)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, params)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ConfigError(f"constraint node {type(node).__name__} is not allowed")
