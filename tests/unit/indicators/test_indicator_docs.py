"""The generated reference page matches the registry."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_reference_page_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_indicator_docs", ROOT / "tools" / "gen_indicator_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_indicator_docs"] = module
    spec.loader.exec_module(module)
    expected = module.render()
    current = (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/indicators.md is stale: run python tools/gen_indicator_docs.py"
    )
