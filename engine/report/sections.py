"""Report sections that are tables of text: fill assumptions, worst drawdowns, denials.

Each function takes a `ReportData` and returns an HTML fragment for `engine.report.html`.
Every piece of user text goes through `html.escape`.
"""

from __future__ import annotations

import html
import inspect
import re
from typing import Any

import numpy as np

from engine.config import AccountConfig, ExecutionConfig
from engine.report.artifacts import iso
from engine.report.data import ReportData
from engine.report.denials import denial_summary
from engine.report.series import NS_PER_DAY, worst_drawdowns

__all__ = ["assumptions_html", "attribute_docs", "denials_html", "drawdowns_html"]


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def attribute_docs(cls: type) -> dict[str, str]:
    """Return ``{attribute: description}`` from the ``Attributes:`` section of a docstring.

    Google style: ``name: text`` indented one level under ``Attributes:``, continuation
    lines indented deeper. The descriptions are joined into one line each; the config
    classes' docstrings are the single place the assumptions are described.
    """
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = doc.split("Attributes:", 1)[1] if "Attributes:" in doc else ""
    found: dict[str, str] = {}
    current = ""
    for line in section.splitlines():
        match = re.match(r"^ {4}(\w+): ?(.*)$", line)
        if match:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif line.startswith("        ") and current:
            found[current] += " " + line.strip()
        elif line.strip():
            break  # the next section
    return {name: text.replace("``", "").replace("`", "") for name, text in found.items()}


# Settings that are not attributes of a config class, and the rule that has no setting.
OTHER_SETTINGS = {
    "stops and limits": "Trigger on the bar's range; an order placed on a bar can fill from "
    "the next bar on.",
}


def _toml_value(value: Any) -> str:
    """Return a setting as the config file spells it (``true``, ``{ model = "percent" }``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _setting_row(name: str, value: Any, meaning: str) -> str:
    return (
        f"<tr><th scope=row>{_e(name)}</th><td><code>{_e(_toml_value(value))}</code></td>"
        f"<td>{_e(meaning)}</td></tr>"
    )


def assumptions_html(data: ReportData) -> str:
    """Return the fill-assumption table: every execution and account setting, explained."""
    execution_docs = attribute_docs(ExecutionConfig)
    account_docs = attribute_docs(AccountConfig)
    execution = data.config.get("execution", {})
    account = data.config.get("account", {})
    rows = [
        _setting_row(key, value, execution_docs.get(key, "")) for key, value in execution.items()
    ]
    for key, value in account.items():
        if key != "initial_cash":  # shown with the metrics
            rows.append(_setting_row(f"account.{key}", value, account_docs.get(key, "")))
    for table in data.config.get("fx", []):  # multi-currency runs only
        rows.append(
            _setting_row(
                f"fx.{table.get('currency', '?')}",
                table.get("path", ""),
                "Rate into the account currency (1 / close when invert), as of each time: "
                "fills convert at their time, marks at each bar close"
                + (" (inverted)" if table.get("invert") else ""),
            )
        )
    for name, meaning in OTHER_SETTINGS.items():
        rows.append(f"<tr><th scope=row>{_e(name)}</th><td></td><td>{_e(meaning)}</td></tr>")
    return f'<table class="wide settings">{"".join(rows)}</table>'


def drawdowns_html(data: ReportData, count: int = 5) -> str:
    """Return the table of the ``count`` deepest drawdowns (full curve, start included)."""
    start = (int(data.start_ns), float(data.initial_cash))
    found = worst_drawdowns(np.asarray(data.ts, dtype=np.int64), data.equity, count, start)
    if not found:
        return '<p class="sub">No drawdown: the equity never fell below a previous high.</p>'
    head = "".join(
        f"<th>{name}</th>"
        for name in ("#", "peak", "trough", "recovery", "depth", "length", "peak → trough")
    )
    rows = "".join(
        f"<tr><td>{number}</td><td>{_e(_day(d.peak_ns))}</td><td>{_e(_day(d.trough_ns))}</td>"
        f"<td>{_e(_day(d.recovery_ns) if d.recovery_ns is not None else 'not recovered')}</td>"
        f"<td>{d.depth * 100:,.2f}%</td><td>{d.length_ns / NS_PER_DAY:,.1f} days</td>"
        f"<td>{(d.trough_ns - d.peak_ns) / NS_PER_DAY:,.1f} days</td></tr>"
        for number, d in enumerate(found, start=1)
    )
    return f'<table class="drawdowns"><tr>{head}</tr>{rows}</table>'


def _day(ts_ns: int) -> str:
    return iso(ts_ns)[:16].replace("T", " ")


def denials_html(data: ReportData) -> str:
    """Return how many orders risk denied and why, grouped by check (most first)."""
    groups = denial_summary(data.orders)
    total = sum(group.orders for group in groups)
    if not total:
        return '<p class="sub">No order was denied by risk.</p>'
    head = "<tr><th>check</th><th>orders</th><th>example reason</th></tr>"
    rows = "".join(
        f"<tr><td>{_e(g.check)}</td><td>{g.orders:,}</td><td>{_e(g.example)}</td></tr>"
        for g in groups
    )
    return (
        f'<p id="denied-count">{total:,} order(s) denied by risk; every one is in orders.csv '
        f'with its check and reason.</p><table class="wide">{head}{rows}</table>'
    )
