"""``runs list --since/--until`` compare instants; ``--sort`` orders numbers before text.

``created_at`` is stored as ``2026-12-07T21:40:20.198145+00:00``; comparing it as text
with ``--since "2026-12-07 21:41"`` (a space sorts before ``T``) kept every run of the day,
an offset (``22:41+01:00``, the same instant as ``21:41Z``) compared by its digits, and
``--since yesterday`` matched nothing without a word.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.persistence import RunStore
from tests.integration.conftest import CliRunner, assert_one_line_error
from tests.unit.persistence.test_persistence_store import run_row

CREATED = {
    "early": "2026-12-07T21:40:20.198145+00:00",
    "mid": "2026-12-07T21:41:30+00:00",
    "late": "2026-12-07T22:00:00+00:00",
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store = RunStore(url)
    params = {"early": "fast", "mid": 7, "late": 12.5}  # a string in one run, numbers in two
    for label, created in CREATED.items():
        row = run_row(f"run-{label}", created)
        row["config_toml"] = (
            f'[strategy]\npath = "s:S"\nparams = {{ mode = {json.dumps(params[label])} }}\n'
        )
        store.save_run(row, order_rows=[], fill_rows=[], trade_rows=[], equity_rows=[])
    store.engine.dispose()
    return url


def listed(kestrel: CliRunner, url: str, *args: str) -> list[str]:
    result = kestrel("runs", "list", "--db", url, *args)
    assert result.code == 0, result.err
    return [label for label in CREATED if f"run-{label}" in result.out]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--since", "2026-12-07 21:41"), ["mid", "late"]),
        (("--since", "2026-12-07T21:41"), ["mid", "late"]),
        (("--since", "2026-12-07T22:41+01:00"), ["mid", "late"]),
        (("--since", "2026-12-07T21:41:30Z"), ["mid", "late"]),
        (("--until", "2026-12-07T21:41:30Z"), ["early"]),
        (("--until", "2026-12-07T23:00+01:00"), ["early", "mid"]),
        (("--since", "2026-12-07"), ["early", "mid", "late"]),
        (("--since", "2026-12-08"), []),
    ],
)
def test_since_and_until_compare_instants(
    kestrel: CliRunner, url: str, args: tuple[str, str], expected: list[str]
) -> None:
    assert sorted(listed(kestrel, url, *args)) == sorted(expected)


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-45", "07/12/2026", ""])
def test_a_time_that_is_not_iso_8601_is_one_line(
    kestrel: CliRunner, url: str, option: str, value: str
) -> None:
    result = kestrel("runs", "list", "--db", url, option, value)
    assert_one_line_error(result, option, "ISO-8601")


def order(kestrel: CliRunner, url: str, *args: str) -> list[str]:
    result = kestrel("runs", "list", "--db", url, *args)
    assert result.code == 0, result.err
    return sorted(CREATED, key=lambda label: result.out.index(f"run-{label}"))


def test_sort_puts_numbers_before_text_either_way(kestrel: CliRunner, url: str) -> None:
    """``mode`` is "fast" in one run and a number in two: the sort raised TypeError, exit 70."""
    assert order(kestrel, url, "--sort", "mode") == ["late", "mid", "early"]  # 12.5, 7, "fast"
    assert order(kestrel, url, "--sort", "mode", "--asc") == ["mid", "late", "early"]
    assert listed(kestrel, url, "--where", "mode>5") == ["mid", "late"]  # text never matches
