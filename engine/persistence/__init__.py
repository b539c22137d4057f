"""The run store: runs, orders, fills, trades and equity in SQL through SQLAlchemy.

SQLite at ``backtests/kestrel.db`` by default; any SQLAlchemy URL (PostgreSQL through
psycopg: ``postgresql+psycopg://user@host/db``) with ``--db`` or ``KESTREL_DB_URL``. The
same code and tables serve both. Tables and migrations live in
`engine.persistence.schema`, the store (locking, retries, queries) in
`engine.persistence.store`, bulk row inserts in `engine.persistence.bulk`, password masking
in `engine.persistence.urls`.
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# Imported on first use (`engine.lazy`): SQLAlchemy loads with the first store.
if TYPE_CHECKING:
    from engine.persistence.store import DEFAULT_DB_URL, RunStore, resolve_db_url
    from engine.persistence.urls import mask_url
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "DEFAULT_DB_URL": "engine.persistence.store",
            "RunStore": "engine.persistence.store",
            "mask_url": "engine.persistence.urls",
            "resolve_db_url": "engine.persistence.store",
        },
    )

__all__ = ["DEFAULT_DB_URL", "RunStore", "mask_url", "resolve_db_url"]
