"""Read figures back from a written report page: its notes, header range and tables.

In: the text of a report.html (`engine.report.html`). Out: plain strings and dicts the
report tests assert on, so a test states what the reader sees rather than markup.
"""

from __future__ import annotations

import html
import re

__all__ = ["metric", "notes", "period", "provenance"]


def notes(page: str) -> list[str]:
    """Return the page's notes (``<p class="note">``), unescaped, in page order."""
    return [html.unescape(text) for text in re.findall(r'<p class="note">(.*?)</p>', page)]


def period(page: str) -> str:
    """Return the header's ``start → end`` dates (``YYYY-MM-DD → YYYY-MM-DD``)."""
    found = re.search(r"· ([^·<]*→[^·<]*) · created", page)
    assert found is not None, "no period in the page header"
    return html.unescape(found.group(1)).strip()


def provenance(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """Return the provenance table's column names and its cells per symbol (first cell)."""
    start = page.index('<table class="wide"><tr><th>symbol</th>')
    table = page[start : page.index("</table>", start)]
    names = [html.unescape(n) for n in re.findall(r"<th>(.*?)</th>", table)]
    rows: dict[str, list[str]] = {}
    for row in re.findall(r"<tr><td>(.*?)</td></tr>", table):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in row.split("</td><td>")]
        rows[cells[0]] = cells
    return names, rows


def metric(page: str, label: str) -> str:
    """Return the metrics table's cell of the row named ``label`` (e.g. "Benchmark return")."""
    found = re.search(rf'<th scope="row">{re.escape(html.escape(label))}</th><td>(.*?)</td>', page)
    assert found is not None, f"no metric row {label!r}"
    return html.unescape(found.group(1))
