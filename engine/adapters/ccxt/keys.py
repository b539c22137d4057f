"""Where live trading's API keys come from: the environment, else the OS keyring.

In: a ccxt exchange id (the config's ``[live] exchange``, also with ``--replay`` and
``--exchange-url``), the environment, and the OS keyring through the ``keyring`` package
(macOS Keychain, Windows Credential Locker, Secret Service on a Linux desktop). Out:
`Credentials`, whose values appear in no repr, or a one-line `ConfigError` saying how to
provide them; for ``kestrel keys``: `stored` (what the keyring holds, presence only),
`store` and `forget`.

The order (`load_credentials`):

1. ``$KESTREL_API_KEY`` and ``$KESTREL_API_SECRET``, when both are set (not empty). One
   alone is an error naming the other: a half-set environment is a mistake, not a cue to
   look elsewhere.
2. Otherwise the OS keyring: service ``kestrel``, usernames ``<exchange>:api_key`` and
   ``<exchange>:secret`` (`keyring_usernames`). The pair is per exchange so that a key
   stored for one exchange is never sent to another; one of the two alone is an error.
3. Otherwise an error saying to set the variables or run ``kestrel keys set EXCHANGE``.

Each part must be printable ASCII without spaces (what exchanges issue; `malformed`): one
with a line break, only spaces, a space or tab, a control or a non-ASCII character is
refused in one line naming where it came from (the variable, the keyring entry, or what
``kestrel keys set`` was given), never its value (audit F7: such a key reached ccxt and came
back as exit 5 "any other ccxt error … GET …/account", or exit 70, UnicodeEncodeError).

Keys are never read from a file, and never logged or written to the store: they are handed
to ccxt and kept nowhere else. A machine without a keyring backend (a headless Linux
server: keyring's ``fail`` backend) is no error while the environment has the keys; without
them the error says that no OS keyring is available and to use the variables. ``keyring``
is imported only when the environment has no keys (it costs the CLI's start-up ~60 ms).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError

__all__ = [
    "API_KEY_ENV",
    "API_SECRET_ENV",
    "KEYRING_SERVICE",
    "Credentials",
    "Stored",
    "check_keyring",
    "credentials_from_env",
    "forget",
    "keyring_usernames",
    "load_credentials",
    "malformed",
    "store",
    "stored",
]

API_KEY_ENV = "KESTREL_API_KEY"
API_SECRET_ENV = "KESTREL_API_SECRET"
KEYRING_SERVICE = "kestrel"
FROM_ENV = "the environment"
FROM_KEYRING = "the OS keyring"


@dataclass(frozen=True)
class Credentials:
    """An API key and secret; their values never appear in a repr, a log or the store.

    ``source`` says where they were found (`FROM_ENV` or `FROM_KEYRING`), never a value.
    """

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    source: str = FROM_ENV


@dataclass(frozen=True)
class Stored:
    """What the OS keyring holds for one exchange: whether each part is there, no value.

    ``backend`` is the keyring backend's display name (e.g. ``macOS Keyring``).
    """

    backend: str
    api_key: bool
    secret: bool


def malformed(value: str) -> str:
    """Return how ``value`` is not printable ASCII without spaces ("" if it is)."""
    if not value.strip():
        return "holds only spaces"
    if any(c in "\r\n" for c in value):
        return "contains a line break"
    if any(c in " \t" for c in value):
        return "contains a space or a tab"
    if not value.isascii():
        return "contains a non-ASCII character"
    if not value.isprintable():
        return "contains a control character"
    return ""


def _check(where: str, value: str, fix: str) -> None:
    """Raise `ConfigError` naming ``where`` if ``value`` is `malformed` (never the value)."""
    problem = malformed(value)
    if problem:
        raise ConfigError(
            f"{where} is malformed: it {problem}; an API key and secret are printable ASCII "
            f"without spaces: {fix}"
        )


def keyring_usernames(exchange_id: str) -> tuple[str, str]:
    """Return the keyring usernames of ``exchange_id``'s API key and secret."""
    return f"{exchange_id}:api_key", f"{exchange_id}:secret"


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials | None:
    """Return the keys from ``$KESTREL_API_KEY`` and ``$KESTREL_API_SECRET``; None if neither.

    Raises:
        ConfigError: When exactly one is set (the message names the other, no value).
    """
    source = os.environ if env is None else env
    names = (API_KEY_ENV, API_SECRET_ENV)
    missing = [name for name in names if not source.get(name)]
    if len(missing) == len(names):
        return None
    if missing:
        present = next(name for name in names if name not in missing)
        raise ConfigError(
            f"live trading needs both API keys in the environment: set {missing[0]} too, "
            f"or unset {present} to use the OS keyring (keys are never read from a file)"
        )
    for name in names:
        _check(name, source[name], "copy it again from the exchange (nothing was sent)")
    return Credentials(source[API_KEY_ENV], source[API_SECRET_ENV], FROM_ENV)


def load_credentials(exchange_id: str, env: Mapping[str, str] | None = None) -> Credentials:
    """Return ``exchange_id``'s keys: from the environment, else from the OS keyring.

    Raises:
        ConfigError: When neither source has both parts, one variable is set without the
            other, the keyring holds half a pair, or it cannot be read (one line each,
            naming what to set; never a value).
    """
    found = credentials_from_env(env)
    if found is not None:
        return found
    backend = _require_backend()
    both = f"set {API_KEY_ENV} and {API_SECRET_ENV}"
    api_key, secret = _read(backend, exchange_id)
    if api_key and secret:
        fix = f"store it again with `kestrel keys set {exchange_id}` (nothing was sent)"
        for part, value, username in zip(("API key", "secret"), (api_key, secret),
                                         keyring_usernames(exchange_id), strict=True):  # fmt: skip
            _check(f"the OS keyring's {part} of {exchange_id} ({username})", value, fix)
        return Credentials(api_key, secret, FROM_KEYRING)
    if api_key or secret:
        have, lack = ("API key", "secret") if api_key else ("secret", "API key")
        raise ConfigError(
            f"the OS keyring has the {have} of {exchange_id} but not its {lack}: run "
            f"`kestrel keys set {exchange_id}` to store both, or {both}"
        )
    raise ConfigError(
        f"live trading needs the API keys of {exchange_id}: {both}, or store them in the "
        f"OS keyring with `kestrel keys set {exchange_id}` (keys are never read from a file)"
    )


def check_keyring() -> str:
    """Return the display name of the OS keyring in use.

    Raises:
        ConfigError: When the machine has none (say so before asking for keys to store).
    """
    return _name(_require_backend())


def stored(exchange_id: str) -> Stored | None:
    """Return which of ``exchange_id``'s two entries the OS keyring holds; None: no keyring.

    Raises:
        ConfigError: When the keyring is there but cannot be read (e.g. locked).
    """
    backend = _backend()
    if backend is None:
        return None
    api_key, secret = _read(backend, exchange_id)
    return Stored(_name(backend), api_key is not None, secret is not None)


def store(exchange_id: str, credentials: Credentials) -> str:
    """Write ``credentials`` as ``exchange_id``'s two keyring entries; return the backend name.

    Raises:
        ConfigError: No OS keyring on this machine, or it refused the write.
    """
    _check("the API key", credentials.api_key, "nothing was stored")
    _check("the secret", credentials.secret, "nothing was stored")
    backend = _require_backend()
    values = (credentials.api_key, credentials.secret)
    for username, value in zip(keyring_usernames(exchange_id), values, strict=True):
        _call(backend, "refused the write", backend.set_password, username, value, scrub=values)
    return _name(backend)


def forget(exchange_id: str) -> list[str]:
    """Delete ``exchange_id``'s two keyring entries (only these); return the usernames deleted.

    Raises:
        ConfigError: No OS keyring on this machine, or it refused the deletion.
    """
    backend = _require_backend()
    deleted = []
    for username in keyring_usernames(exchange_id):
        # Looked up first: backends raise PasswordDeleteError both for "not there" and for
        # a real failure, and only the second is an error.
        if _call(backend, "could not be read", backend.get_password, username) is None:
            continue
        _call(backend, "refused the deletion", backend.delete_password, username)
        deleted.append(username)
    return deleted


def _backend() -> Any | None:
    """Return the keyring backend in use, or None when the machine has none (``fail``)."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    return None if isinstance(backend, fail.Keyring) else backend


def _require_backend() -> Any:
    backend = _backend()
    if backend is None:
        raise ConfigError(
            f"no OS keyring is available on this machine: set {API_KEY_ENV} and "
            f"{API_SECRET_ENV} in the environment instead (keys are never read from a file)"
        )
    return backend


def _read(backend: Any, exchange_id: str) -> tuple[str | None, str | None]:
    """Return ``exchange_id``'s API key and secret in the keyring (None if absent or empty)."""
    key_name, secret_name = keyring_usernames(exchange_id)
    api_key = _call(backend, "could not be read", backend.get_password, key_name)
    secret = _call(backend, "could not be read", backend.get_password, secret_name)
    return api_key or None, secret or None


def _call(backend: Any, failed: str, method: Any, *args: str, scrub: tuple[str, ...] = ()) -> Any:
    """Return ``method(KEYRING_SERVICE, *args)``; a backend's failure becomes a `ConfigError`.

    ``scrub``: values to blank out of the backend's message, should it quote them.
    """
    try:
        return method(KEYRING_SERVICE, *args)
    except Exception as exc:  # a backend's own errors (locked, D-Bus...): not Kestrel's bug
        detail = " ".join(str(exc).split())[:200]
        for value in scrub:
            if value:
                detail = detail.replace(value, "***")
        raise ConfigError(
            f"the OS keyring ({_name(backend)}) {failed}: {type(exc).__name__}: {detail}; "
            f"unlock it, or set {API_KEY_ENV} and {API_SECRET_ENV} in the environment"
        ) from None


def _name(backend: Any) -> str:
    return str(getattr(backend, "name", type(backend).__name__))
