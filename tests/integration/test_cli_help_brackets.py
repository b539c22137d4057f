"""Every ``kestrel <command> --help`` shows its bracketed words, such as ``[ml]``.

Typer renders help with rich markup, where ``[ml]`` or ``[paper]`` is a style tag and
vanishes: ``kestrel ml --help`` said "train and evaluate the  model" (an audit). A help
text writes such a word as ``\\[ml]``; this test walks every command and option of the
app and checks that each bracketed word of its help reaches the terminal.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from engine.cli import app
from tests.integration.conftest import CliRunner

# what rich reads as a markup tag: "[" then a lowercase letter, "#", "/" or "@" (not "\[")
TAG = re.compile(r"(?<!\\)\[[a-z#/@][^\[\]]*\]|\\\[[a-z#/@][^\[\]]*\]")


def _commands() -> list[tuple[tuple[str, ...], list[str]]]:
    found: list[tuple[tuple[str, ...], list[str]]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        words = [w.removeprefix("\\") for text in texts for w in TAG.findall(text)]
        if words:
            found.append((path, words))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


def test_the_walk_finds_the_commands_with_bracketed_help() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {("ml",), ("ml", "train"), ("ml", "evaluate"), ("paper",), ("live",)} <= paths


@pytest.mark.parametrize(
    ("path", "words"),
    [
        pytest.param(
            path,
            words,
            id=" ".join(path),
        )
        for path, words in COMMANDS
    ],
)
def test_bracketed_words_reach_the_help_page(
    kestrel: CliRunner, path: tuple[str, ...], words: list[str]
) -> None:
    result = kestrel(*path, "--help")
    assert result.code == 0, result.err
    shown = " ".join(result.out.split())
    missing = [word for word in words if word not in shown]
    assert not missing, (missing, result.out)
