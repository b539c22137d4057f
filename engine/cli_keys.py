"""``kestrel keys set|status|delete EXCHANGE``: live trading's API keys in the OS keyring.

In: a ccxt exchange id (an unknown one is refused with a "did you mean"); for ``set``, the
API key and the secret typed at two hidden prompts, or two lines on stdin with ``--stdin``
(for scripts). Never as arguments: shells keep those in their history and ``ps`` shows them.
Out: the exchange's two keyring entries (service ``kestrel``, usernames
``<exchange>:api_key`` and ``<exchange>:secret``: `engine.adapters.ccxt.keys`) written or
deleted, and a line saying what was done; ``status`` says which parts the environment and
the keyring have and which source ``kestrel live`` would use (exit 2 with its one-line
error when it would find none). No command prints a key, nor any part of one.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from engine.errors import UsageError

__all__ = ["keys_app", "keys_delete", "keys_set", "keys_status", "register"]

keys_app = typer.Typer(
    help="API keys for `kestrel live` in the OS keyring (the environment's alternative).",
    no_args_is_help=True,
)
Exchange = Annotated[
    str, typer.Argument(help="The ccxt exchange id, as the config's live.exchange (binance).")
]


def keys_set(
    exchange: Exchange,
    stdin: Annotated[
        bool,
        typer.Option("--stdin", help="Read the API key, then the secret, as two lines of stdin."),
    ] = False,
) -> None:
    """Store an exchange's API key and secret in the OS keyring (asked for, never echoed)."""
    from engine.adapters.ccxt.errors import check_exchange_id
    from engine.adapters.ccxt.keys import (
        API_KEY_ENV,
        API_SECRET_ENV,
        Credentials,
        check_keyring,
        store,
    )

    check_exchange_id(exchange)
    check_keyring()  # no keyring: say so before asking for the keys
    if stdin:
        api_key, secret = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        api_key = typer.prompt("API key", hide_input=True).strip()
        secret = typer.prompt("API secret", hide_input=True).strip()
    else:
        raise UsageError(
            "kestrel keys set asks on a terminal: pipe the key and secret with --stdin"
        )
    if not api_key or not secret:
        empty = "API key" if not api_key else "secret"
        raise UsageError(f"the {empty} is empty; nothing was stored (--stdin: key, then secret)")
    backend = store(exchange, Credentials(api_key, secret))
    print(f"stored the API key and secret of {exchange} in the OS keyring ({backend})")
    if os.environ.get(API_KEY_ENV) or os.environ.get(API_SECRET_ENV):
        # Otherwise the user would wonder why live keeps using other keys.
        print(f"note: {API_KEY_ENV} / {API_SECRET_ENV} are set here and come first")


def keys_status(exchange: Exchange) -> None:
    """Say which parts of the keys the environment and the keyring have (never a value)."""
    from engine.adapters.ccxt.errors import check_exchange_id
    from engine.adapters.ccxt.keys import (
        API_KEY_ENV,
        API_SECRET_ENV,
        keyring_usernames,
        load_credentials,
        stored,
    )
    from engine.errors import ConfigError

    check_exchange_id(exchange)
    parts = [
        f"{name} {'set' if os.environ.get(name) else 'not set'}"
        for name in (API_KEY_ENV, API_SECRET_ENV)
    ]
    print(f"environment: {', '.join(parts)}")
    try:
        held = stored(exchange)
    except ConfigError as exc:  # a locked keyring: still say what the environment has
        print(f"OS keyring: {exc}")
    else:
        if held is None:
            print("OS keyring: none available on this machine")
        else:
            names = keyring_usernames(exchange)
            found = [
                f"{name} {'stored' if there else 'missing'}"
                for name, there in zip(names, (held.api_key, held.secret), strict=True)
            ]
            print(f"OS keyring ({held.backend}): {', '.join(found)}")
    keys = load_credentials(exchange)  # raises the error `kestrel live` would give
    print(f"kestrel live would use the keys from {keys.source}")


def keys_delete(exchange: Exchange) -> None:
    """Delete an exchange's API key and secret from the OS keyring (Kestrel's entries only)."""
    from engine.adapters.ccxt.errors import check_exchange_id
    from engine.adapters.ccxt.keys import forget

    check_exchange_id(exchange)
    deleted = forget(exchange)
    if deleted:
        print(f"deleted {' and '.join(deleted)} from the OS keyring")
    else:
        print(f"the OS keyring holds no keys of {exchange}: nothing deleted")


def register(app: typer.Typer) -> None:
    """Add ``keys set|status|delete`` to ``app``."""
    keys_app.command("set")(keys_set)
    keys_app.command("status")(keys_status)
    keys_app.command("delete")(keys_delete)
    app.add_typer(keys_app, name="keys")
