"""Where the commands that read runs find the run store, and the ``--db`` option.

In: ``--db``, else ``$KESTREL_DB_URL``, else the project the working directory is in. Out:
an open `engine.persistence.RunStore` to read (`open_store`), or one line to fix: a read
never creates a store that ``--db`` or ``$KESTREL_DB_URL`` names (a mistyped path would
make its folders and an empty store, and the command would report "no runs").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.errors import StoreOpenError
from engine.paths import project_root

if TYPE_CHECKING:
    from engine.persistence import RunStore

__all__ = ["DbOption", "open_store", "project_backtests"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the run store (default: $KESTREL_DB_URL or "
        "sqlite:///<project root>/backtests/kestrel.db).",
    ),
]


def project_backtests() -> Path:
    """Return the ``backtests/`` folder of the project the working directory is in.

    Commands without a config (``runs``, ``report``) find the project root by walking up
    from the working directory (`engine.paths.project_root`), as ``backtest`` does from its
    config's folder, so they see the store and runs it wrote from any subfolder.
    """
    return project_root(Path.cwd()) / "backtests"


def open_store(db: str | None) -> RunStore:
    """Open ``--db``, else ``$KESTREL_DB_URL``, else the project's SQLite store, to read.

    An SQLite file named by ``--db`` or ``$KESTREL_DB_URL`` must exist: a mistyped path
    would otherwise create its folders and an empty store, and the command would report
    "no runs". The project's own store (``backtests/kestrel.db``) is created on first use.

    Raises:
        StoreOpenError: ``--db`` is empty, the named SQLite file does not exist, or the
            store cannot be opened.
    """
    from engine.persistence import RunStore, resolve_db_url
    from engine.persistence.store import sqlite_file

    environment = os.environ.get("KESTREL_DB_URL")
    resolve_db_url(db)  # an empty --db is refused, never the working directory's store
    if db is None and not environment:
        return RunStore(f"sqlite:///{project_backtests() / 'kestrel.db'}")
    url = db if db is not None else str(environment)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        source = "--db" if db is not None else "$KESTREL_DB_URL"
        raise StoreOpenError(
            f"no run store at {path} (from {source}): nothing has been saved there; check "
            "the path (a command that saves runs creates it)"
        )
    return RunStore(url)
