"""Live API keys: the environment first, else the OS keyring (per exchange), else one error.

The keyring is `MemoryKeyring` (tests/conftest.py) or keyring's ``fail`` backend (no OS
keyring, as on a headless server); never the machine's own.
"""

from __future__ import annotations

import pytest

from engine.adapters.ccxt.keys import (
    FROM_ENV,
    FROM_KEYRING,
    Credentials,
    Stored,
    credentials_from_env,
    forget,
    load_credentials,
    store,
    stored,
)
from engine.errors import ConfigError
from tests.conftest import MemoryKeyring, keyring_in_use
from tests.unit.test_import_cost import loaded_after

ENV = {"KESTREL_API_KEY": "env-key-1", "KESTREL_API_SECRET": "env-secret-2"}
BOTH = "set KESTREL_API_KEY and KESTREL_API_SECRET"


def _keep(backend: MemoryKeyring, exchange: str, api_key: str | None, secret: str | None) -> None:
    if api_key is not None:
        backend.entries[("kestrel", f"{exchange}:api_key")] = api_key
    if secret is not None:
        backend.entries[("kestrel", f"{exchange}:secret")] = secret


def test_the_environment_comes_first(memory_keyring: MemoryKeyring) -> None:
    _keep(memory_keyring, "binance", "ring-key", "ring-secret")
    keys = load_credentials("binance", ENV)
    assert (keys.api_key, keys.secret, keys.source) == ("env-key-1", "env-secret-2", FROM_ENV)
    assert "env-key-1" not in repr(keys)
    assert "env-secret-2" not in repr(keys)


def test_the_environment_needs_no_keyring(no_keyring: None) -> None:
    keys = load_credentials("binance", ENV)
    assert (keys.api_key, keys.secret) == ("env-key-1", "env-secret-2")


@pytest.mark.parametrize(
    ("present", "missing"),
    [("KESTREL_API_KEY", "KESTREL_API_SECRET"), ("KESTREL_API_SECRET", "KESTREL_API_KEY")],
)
def test_one_variable_alone_is_an_error_naming_the_other(
    memory_keyring: MemoryKeyring, present: str, missing: str
) -> None:
    _keep(memory_keyring, "binance", "ring-key", "ring-secret")  # not a fallback
    env = {present: ENV[present], missing: ""}  # empty counts as unset
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", env)
    message = str(caught.value)
    assert f"set {missing} too, or unset {present} to use the OS keyring" in message
    assert ENV[present] not in message
    assert "\n" not in message


def test_without_the_environment_the_keyring_of_that_exchange_is_used(
    memory_keyring: MemoryKeyring,
) -> None:
    _keep(memory_keyring, "binance", "ring-key", "ring-secret")
    _keep(memory_keyring, "kraken", "kraken-key", "kraken-secret")
    keys = load_credentials("binance", {})
    assert (keys.api_key, keys.secret, keys.source) == ("ring-key", "ring-secret", FROM_KEYRING)
    assert "ring-secret" not in repr(keys)
    assert load_credentials("kraken", {}).api_key == "kraken-key"
    with pytest.raises(ConfigError, match="needs the API keys of bybit"):
        load_credentials("bybit", {})  # one exchange's keys are never sent to another


def test_no_keys_anywhere_says_both_ways_to_set_them(memory_keyring: MemoryKeyring) -> None:
    assert credentials_from_env({}) is None
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", {})
    assert str(caught.value) == (
        "live trading needs the API keys of binance: set KESTREL_API_KEY and "
        "KESTREL_API_SECRET, or store them in the OS keyring with `kestrel keys set binance` "
        "(keys are never read from a file)"
    )


@pytest.mark.parametrize(
    ("api_key", "secret", "fragment"),
    [
        ("ring-key", None, "has the API key of binance but not its secret"),
        (None, "ring-secret", "has the secret of binance but not its API key"),
        ("ring-key", "", "has the API key of binance but not its secret"),
    ],
)
def test_half_a_pair_in_the_keyring_is_an_error(
    memory_keyring: MemoryKeyring, api_key: str | None, secret: str | None, fragment: str
) -> None:
    _keep(memory_keyring, "binance", api_key, secret)
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", {})
    message = str(caught.value)
    assert fragment in message
    assert "run `kestrel keys set binance` to store both" in message
    assert "ring-" not in message


def test_no_keyring_and_no_environment_says_to_use_the_environment(no_keyring: None) -> None:
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", {})
    assert str(caught.value) == (
        f"no OS keyring is available on this machine: {BOTH} in the environment instead "
        "(keys are never read from a file)"
    )
    assert stored("binance") is None
    with pytest.raises(ConfigError, match="no OS keyring is available"):
        store("binance", Credentials("k", "s"))
    with pytest.raises(ConfigError, match="no OS keyring is available"):
        forget("binance")


def test_store_stored_and_forget_touch_only_kestrels_two_entries(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.entries[("other-app", "binance:secret")] = "theirs"
    _keep(memory_keyring, "kraken", "kraken-key", "kraken-secret")
    assert stored("binance") == Stored(MemoryKeyring.name, api_key=False, secret=False)
    assert store("binance", Credentials("new-key", "new-secret")) == MemoryKeyring.name
    assert memory_keyring.entries[("kestrel", "binance:api_key")] == "new-key"
    assert memory_keyring.entries[("kestrel", "binance:secret")] == "new-secret"
    assert stored("binance") == Stored(MemoryKeyring.name, api_key=True, secret=True)
    assert forget("binance") == ["binance:api_key", "binance:secret"]
    assert forget("binance") == []
    assert memory_keyring.entries == {
        ("other-app", "binance:secret"): "theirs",
        ("kestrel", "kraken:api_key"): "kraken-key",
        ("kestrel", "kraken:secret"): "kraken-secret",
    }


class LockedKeyring(MemoryKeyring):
    """A keyring whose every call fails, quoting what it was given (the worst case)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError(f"collection locked\n(asked for {username})")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password!r}: collection locked")


def test_a_failing_keyring_is_one_line_without_the_value() -> None:
    with keyring_in_use(LockedKeyring()):
        with pytest.raises(ConfigError) as read:
            load_credentials("binance", {})
        with pytest.raises(ConfigError) as write:
            store("binance", Credentials("key-abc", "secret-xyz"))
    assert str(read.value) == (
        f"the OS keyring ({LockedKeyring.name}) could not be read: RuntimeError: collection "
        f"locked (asked for binance:api_key); unlock it, or {BOTH} in the environment"
    )
    assert "key-abc" not in str(write.value)
    assert "cannot store '***': collection locked" in str(write.value)


def test_keys_from_the_environment_do_not_import_keyring() -> None:
    setup = (
        "from engine.adapters.ccxt.keys import load_credentials\n"
        f"load_credentials('binance', {ENV!r})"
    )
    assert loaded_after(setup, heavy=("keyring",)) == []


# -- malformed keys: one line naming where, never the value (audit F7) ----------------------
# A key with a newline or only spaces reached ccxt and came back as exit 5 "any other ccxt
# error: ExchangeError: binance GET …/account" (never naming the key); a non-ASCII one was
# exit 70, UnicodeEncodeError.

MALFORMED = [
    ("key-1\n", "contains a line break"),
    ("   ", "holds only spaces"),
    ("key 1", "contains a space or a tab"),
    ("kéy-1", "contains a non-ASCII character"),
    ("key\x07", "contains a control character"),
]


@pytest.mark.parametrize(("value", "problem"), MALFORMED)
@pytest.mark.parametrize("name", ["KESTREL_API_KEY", "KESTREL_API_SECRET"])
def test_a_malformed_variable_is_named_without_its_value(
    no_keyring: None, name: str, value: str, problem: str
) -> None:
    env = {**ENV, name: value}
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", env)
    message = str(caught.value)
    assert f"{name} is malformed: it {problem}" in message
    assert "printable ASCII without spaces" in message
    assert "\n" not in message
    assert value.strip() not in message or not value.strip()


@pytest.mark.parametrize(("value", "problem"), MALFORMED)
def test_a_malformed_keyring_entry_is_named_without_its_value(
    memory_keyring: MemoryKeyring, value: str, problem: str
) -> None:
    _keep(memory_keyring, "binance", "ring-key", value)
    with pytest.raises(ConfigError) as caught:
        load_credentials("binance", {})
    message = str(caught.value)
    assert f"the OS keyring's secret of binance (binance:secret) is malformed: it {problem}" in (
        message
    )
    assert "kestrel keys set binance" in message


def test_a_malformed_pair_is_not_stored(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="the API key is malformed: it contains a space"):
        store("binance", Credentials("key 1", "secret"))
    assert memory_keyring.entries == {}
