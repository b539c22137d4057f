"""The run store's one SQLAlchemy `MetaData`: every table of `engine.persistence.schema`
and `engine.persistence.live_tables` is registered on it (created together, migrated by
the schema's version functions)."""

from __future__ import annotations

from sqlalchemy import MetaData

__all__ = ["metadata"]

metadata = MetaData()
