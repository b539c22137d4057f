"""The README's strategy table and benchmarks/strategy_table.json are what the script gives.

The script reruns every shipped config and its buy-and-hold (about 5 s here), so the test
runs it in ``--check`` mode: it fails when a strategy, the engine or the data changed the
figures without ``python benchmarks/strategy_table.py`` being rerun. The README's
"Testing a strategy" example is executed here too.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import REPO

# the shipped strategies: pyproject.toml's entry points, not the script's own list
ENTRY_POINT_NAMES = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][
    "kestrel.strategies"
]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "strategy_table", REPO / "benchmarks" / "strategy_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_and_figures_are_not_stale(capsys: pytest.CaptureFixture[str]) -> None:
    script = _script()
    code = script.main(["--check"])
    assert code == 0, capsys.readouterr().out
    figures = json.loads((REPO / "benchmarks" / "strategy_table.json").read_text())
    names = [row["strategy"] for row in figures["rows"]]
    assert sorted(names) == sorted(script.CONFIGS.values())  # a row per config
    assert set(names) == set(ENTRY_POINT_NAMES)  # every shipped strategy has a row
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index(script.START) : readme.index(script.END)]
    assert table.count("\n| `") == len(names)


def test_check_mode_detects_a_hand_edited_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = _script()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    monkeypatch.setattr(script, "README", tmp_path / "README.md")
    script.README.write_text(script.with_table(readme, "| typed by hand |"), encoding="utf-8")
    monkeypatch.setattr(script, "compute", lambda: json.loads(script.FIGURES.read_text()))
    assert script.main(["--check"]) == 1


def test_readme_testing_example_runs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Testing a strategy") :]
    block = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert block is not None
    exec(compile(block.group(1), "README.md", "exec"), {})  # our own README's example
