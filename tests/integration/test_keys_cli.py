"""``kestrel keys set|status|delete``: the OS keyring's two entries per exchange, never a value
on screen. The keyring is the in-memory one of tests/conftest.py, or none at all."""

from __future__ import annotations

import io

import pytest

from tests.conftest import MemoryKeyring
from tests.integration.conftest import CliRunner, assert_one_line_error

KEY, SECRET = "key-3e7a41", "secret-9b0c52"


@pytest.fixture(autouse=True)
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KESTREL_API_KEY", raising=False)
    monkeypatch.delenv("KESTREL_API_SECRET", raising=False)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_set_status_delete_through_stdin(
    kestrel: CliRunner, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, f"{KEY}\n  {SECRET}  \n")
    done = kestrel("keys", "set", "binance", "--stdin")
    assert done.code == 0, done.err
    assert done.out == (
        f"stored the API key and secret of binance in the OS keyring ({MemoryKeyring.name})\n"
    )
    assert memory_keyring.entries == {
        ("kestrel", "binance:api_key"): KEY,
        ("kestrel", "binance:secret"): SECRET,  # stripped: pasted spaces would fail auth
    }
    status = kestrel("keys", "status", "binance")
    assert status.code == 0, status.err
    assert status.out.splitlines() == [
        "environment: KESTREL_API_KEY not set, KESTREL_API_SECRET not set",
        f"OS keyring ({MemoryKeyring.name}): binance:api_key stored, binance:secret stored",
        "kestrel live would use the keys from the OS keyring",
    ]
    gone = kestrel("keys", "delete", "binance")
    assert gone.code == 0, gone.err
    assert gone.out == "deleted binance:api_key and binance:secret from the OS keyring\n"
    assert memory_keyring.entries == {}
    again = kestrel("keys", "delete", "binance")
    assert again.out == "the OS keyring holds no keys of binance: nothing deleted\n"
    for result in (done, status, gone, again):
        shown = result.out + result.err
        assert KEY not in shown
        assert SECRET not in shown


def test_set_asks_with_hidden_input_on_a_terminal(
    kestrel: CliRunner, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, bool]] = []

    def prompt(text: str, hide_input: bool = False) -> str:
        asked.append((text, hide_input))
        return {"API key": KEY, "API secret": SECRET}[text]

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("typer.prompt", prompt)
    result = kestrel("keys", "set", "kraken")
    assert result.code == 0, result.err
    assert asked == [("API key", True), ("API secret", True)]
    assert memory_keyring.entries == {
        ("kestrel", "kraken:api_key"): KEY,
        ("kestrel", "kraken:secret"): SECRET,
    }


def test_set_says_when_the_environment_comes_first(
    kestrel: CliRunner, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", "env-key")
    _stdin(monkeypatch, f"{KEY}\n{SECRET}\n")
    result = kestrel("keys", "set", "binance", "--stdin")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        "note: KESTREL_API_KEY / KESTREL_API_SECRET are set here and come first"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"{KEY}\n", "the secret is empty; nothing was stored"),
        ("\n", "the API key is empty; nothing was stored"),
        ("", "the API key is empty; nothing was stored"),
    ],
)
def test_set_refuses_an_empty_part(
    kestrel: CliRunner,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    fragment: str,
) -> None:
    _stdin(monkeypatch, text)
    assert_one_line_error(kestrel("keys", "set", "binance", "--stdin"), fragment)
    assert memory_keyring.entries == {}


def test_set_without_a_terminal_needs_stdin(
    kestrel: CliRunner, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, f"{KEY}\n{SECRET}\n")  # a pipe, not a terminal
    result = kestrel("keys", "set", "binance")
    assert_one_line_error(result, "pipe the key and secret with --stdin")
    assert memory_keyring.entries == {}


@pytest.mark.parametrize("command", ["set", "status", "delete"])
def test_an_unknown_exchange_is_one_line_with_a_suggestion(
    kestrel: CliRunner, memory_keyring: MemoryKeyring, command: str
) -> None:
    result = kestrel("keys", command, "binanse")
    assert_one_line_error(result, "unknown exchange 'binanse' (did you mean 'binance'?)")


def test_status_without_keys_says_what_live_would_say(
    kestrel: CliRunner, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.entries[("kestrel", "binance:api_key")] = KEY
    result = kestrel("keys", "status", "binance")
    assert_one_line_error(result, "has the API key of binance but not its secret")
    assert result.out.splitlines()[1] == (
        f"OS keyring ({MemoryKeyring.name}): binance:api_key stored, binance:secret missing"
    )
    assert KEY not in result.out + result.err


def test_without_a_keyring_the_environment_still_works(
    kestrel: CliRunner, no_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    status = kestrel("keys", "status", "binance")
    assert status.code == 0, status.err
    assert status.out.splitlines() == [
        "environment: KESTREL_API_KEY set, KESTREL_API_SECRET set",
        "OS keyring: none available on this machine",
        "kestrel live would use the keys from the environment",
    ]
    piped = io.StringIO(f"{KEY}\n{SECRET}\n")
    monkeypatch.setattr("sys.stdin", piped)
    refused = kestrel("keys", "set", "binance", "--stdin")
    assert_one_line_error(refused, "no OS keyring is available on this machine")
    assert piped.tell() == 0  # said before reading (or asking for) the keys
    assert_one_line_error(kestrel("keys", "delete", "binance"), "no OS keyring is available")
