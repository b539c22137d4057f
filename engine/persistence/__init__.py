"""The run store: runs, orders, fills, trades and equity in SQL through SQLAlchemy.

SQLite at ``backtests/kestrel.db`` by default; any SQLAlchemy URL (PostgreSQL through
psycopg: ``postgresql+psycopg://user@host/db``) with ``--db`` or ``KESTREL_DB_URL``. The
same code and tables serve both. Logic lives in `engine.persistence.store`.
"""

from engine.persistence.store import DEFAULT_DB_URL, RunStore, resolve_db_url

__all__ = ["DEFAULT_DB_URL", "RunStore", "resolve_db_url"]
