"""Filtering and sorting stored runs by a column, a metric or a strategy parameter.

In: decoded `runs` rows (`RunStore.query_runs` decodes ``metrics`` and ``params``) and the
names and operators of ``kestrel runs list --where/--sort``. Out: a row's value of a field
(`field_value`), whether it meets a condition (`matches`), the field names the rows know
(`field_names`) and a `QueryError` with "did you mean" for an unknown one (`check_field`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import QueryError

__all__ = [
    "FIELD_ALIASES",
    "OPERATORS",
    "QUERYABLE_COLUMNS",
    "check_field",
    "created_within",
    "field_names",
    "field_value",
    "matches",
    "sort_rows",
]

#: Short names accepted by ``--where`` and ``--sort`` (the column header `runs list` shows).
FIELD_ALIASES = {"trades": "num_trades", "return": "total_return", "max_dd": "max_drawdown"}
QUERYABLE_COLUMNS = (
    "created_at",
    "start_ns",
    "end_ns",
    "bars",
    "initial_cash",
    "final_equity",
    "total_return",
    "sharpe",
    "max_drawdown",
    "num_trades",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def field_value(row: Mapping[str, Any], name: str) -> Any:
    """Return a run's value of ``name``: a column, a metric, a parameter or an alias."""
    name = FIELD_ALIASES.get(name, name)
    if name.startswith("params."):
        value = row["params"].get(name.removeprefix("params."))
    elif name in QUERYABLE_COLUMNS:
        value = row[name]
    elif name in row["metrics"]:
        value = row["metrics"][name]
    else:
        value = row["params"].get(name)
    return value if not isinstance(value, bool) else int(value)


def field_names(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    names = set(QUERYABLE_COLUMNS) | set(FIELD_ALIASES)
    for row in rows:
        names.update(row["metrics"])
        names.update(row["params"])
        names.update(f"params.{key}" for key in row["params"])
    return names


def check_field(name: str, known: set[str], *, have_runs: bool) -> None:
    if name in known:
        return
    close = difflib.get_close_matches(name, sorted(known), n=3)
    if not have_runs and not close:  # an empty store cannot know its metrics' names yet
        return
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise QueryError(
        f"unknown field {name!r}: not a column, metric or strategy parameter of any stored "
        f"run{hint} (e.g. sharpe, total_return, trades, or a parameter such as fast)"
    )


_OPERATORS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
OPERATORS = tuple(_OPERATORS)


def matches(actual: Any, op: str, expected: float) -> bool:
    if not isinstance(actual, int | float):
        return False
    return bool(_OPERATORS[op](actual, expected))


def sort_rows(
    rows: Sequence[Mapping[str, Any]], name: str, *, descending: bool
) -> list[Mapping[str, Any]]:
    """Return ``rows`` sorted by ``name``: numbers, then text, then runs without a value.

    A parameter can be a number in one run and text in another (``mode = 7``, ``mode =
    "fast"``): numbers and text are never compared (``--where`` likewise matches numbers
    only), each kind is sorted within itself in the asked direction, NaN counts as missing.
    """
    numbers, texts, missing = [], [], []
    for row in rows:
        value = field_value(row, name)
        if isinstance(value, int | float) and value == value:
            numbers.append(row)
        elif isinstance(value, str):
            texts.append(row)
        else:
            missing.append(row)
    numbers.sort(key=lambda r: field_value(r, name), reverse=descending)
    texts.sort(key=lambda r: field_value(r, name), reverse=descending)
    return numbers + texts + missing


def created_within(created_at: object, since_ns: int | None, until_ns: int | None) -> bool:
    """Return True if ``created_at`` (ISO-8601; naive: UTC) is in ``[since_ns, until_ns)``."""
    if since_ns is None and until_ns is None:
        return True
    try:
        moment = datetime.fromisoformat(str(created_at))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    created = (moment - _EPOCH) // timedelta(microseconds=1) * 1_000
    return (since_ns is None or created >= since_ns) and (until_ns is None or created < until_ns)
