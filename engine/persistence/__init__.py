"""The run store: runs, orders, fills, trades and equity in SQL through SQLAlchemy.

SQLite at ``backtests/kestrel.db`` by default; any SQLAlchemy URL (PostgreSQL through
psycopg: ``postgresql+psycopg://user@host/db``) with ``--db`` or ``KESTREL_DB_URL``. The
same code and tables serve both. Tables and migrations live in
`engine.persistence.schema`, the store (locking, retries, queries) in
`engine.persistence.store`, bulk row inserts in `engine.persistence.bulk`, password masking
in `engine.persistence.urls`.
"""

from engine.persistence.store import DEFAULT_DB_URL, RunStore, resolve_db_url
from engine.persistence.urls import mask_url

__all__ = ["DEFAULT_DB_URL", "RunStore", "mask_url", "resolve_db_url"]
