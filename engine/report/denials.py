"""Orders risk denied, counted by the check that denied them (run summary and report).

A denial is a business outcome, not an error (`OrderDenied`): a run can quietly deny every
order a strategy sends. The summary and the report therefore say how many orders were
denied and for which reasons, grouped by the risk check's name (the reason text carries
numbers that differ per order, so it is shown as one example per check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

__all__ = ["DenialGroup", "denial_summary", "format_denials"]


class DenialGroup(NamedTuple):
    """Denials of one risk check: how many orders, and the first one's reason as an example."""

    check: str
    orders: int
    example: str


def denial_summary(orders: Iterable[Mapping[str, Any]]) -> list[DenialGroup]:
    """Return the denied orders grouped by check, most frequent first (ties: by name).

    Args:
        orders: Order rows as in ``orders.csv`` (``status``, ``check``, ``reason``).
    """
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for order in orders:
        if order.get("status") != "denied":
            continue
        check = str(order.get("check") or "unnamed")
        counts[check] = counts.get(check, 0) + 1
        examples.setdefault(check, str(order.get("reason") or ""))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [DenialGroup(check, count, examples[check]) for check, count in ranked]


def format_denials(groups: list[DenialGroup], top: int = 3) -> str:
    """Return one line: the denied count and the ``top`` checks, e.g. for the CLI summary.

    ``"denied orders: 0"`` when nothing was denied.
    """
    total = sum(group.orders for group in groups)
    if not total:
        return "denied orders: 0"
    shown = "; ".join(
        f"{group.check} ×{group.orders:,} (e.g. {group.example})" for group in groups[:top]
    )
    more = len(groups) - top
    tail = f"; {more} more check(s) in orders.csv" if more > 0 else ""
    return f"denied orders: {total:,} — {shown}{tail}"
