"""The author's guide (docs/strategy-guide.md) runs: its Python blocks, in order, in one
namespace, so every example and the figures it asserts are those of the shipped code."""

from __future__ import annotations

import re
import sys
from types import ModuleType

import pytest

from tests.integration.conftest import REPO

GUIDE = REPO / "docs" / "strategy-guide.md"


def test_every_python_block_of_the_guide_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    # a real module: dataclasses look their class's module up in sys.modules
    module = ModuleType("strategy_guide")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{GUIDE.name} block {number}", "exec"), module.__dict__)


def test_the_readme_links_the_guide() -> None:
    assert "(docs/strategy-guide.md)" in (REPO / "README.md").read_text(encoding="utf-8")
