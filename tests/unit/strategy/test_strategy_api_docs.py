"""The generated strategy API page matches the docstrings and covers the whole API."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from engine.strategy import Context

ROOT = Path(__file__).resolve().parents[3]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_strategy_api_docs", ROOT / "tools" / "gen_strategy_api_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_strategy_api_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_reference_page_is_up_to_date() -> None:
    expected = generator().render()
    current = (ROOT / "docs" / "strategy-api.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/strategy-api.md is stale: run python tools/gen_strategy_api_docs.py"
    )


def test_page_documents_every_public_context_member_and_the_order_methods() -> None:
    page = generator().render()
    public = [
        name
        for owner in Context.__mro__[:-1]  # Context and its bases (OrderMethods), not object
        for name in vars(owner)
        if not name.startswith("_")
    ]
    for name in public:
        assert f"### `Context.{name}`" in page, name
    for name in ("bracket", "trailing_stop", "modify", "cancel_all", "set_timer", "submit_order"):
        section = page.split(f"### `Context.{name}`", 1)[1].split("\n### ", 1)[0]
        assert "```python" in section
        assert len(re.sub(r"```.*?```", "", section, flags=re.S).strip()) > 20, name


def test_event_fields_are_tables_with_a_meaning_for_every_field() -> None:
    page = generator().render()
    events = page.split("## Events and values the hooks receive", 1)[1]
    for event in ("Bar", "OrderFilled", "OrderDenied", "OrderCanceled", "Order"):
        assert f"### `{event}`" in events, event
    rows = re.findall(r"^\| `(\w+)` \| `[^`]+` \| (.*) \|$", events, flags=re.M)
    assert len(rows) > 60
    assert [name for name, meaning in rows if not meaning.strip()] == []


def test_docstring_sections_become_lists() -> None:
    lines = generator().doc_markdown(
        """Do it.

        Args:
            name: The name,
                continued here.
            size: Units.

        Returns:
            The id.
        """
    )
    assert lines == [
        "Do it.",
        "",
        "",
        "*Args:*",
        "",
        "- `name`: The name, continued here.",
        "- `size`: Units.",
        "",
        "",
        "*Returns:*",
        "",
        "The id.",
    ]
