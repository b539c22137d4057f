"""Fixtures shared by every test folder: kept small on purpose."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Return the URL of the test PostgreSQL server, or skip when it cannot be reached.

    With ``KESTREL_REQUIRE_POSTGRES=1`` (CI) an unreachable server fails the test instead:
    a silently skipped database suite would hide a broken CI service.
    """
    required = os.environ.get("KESTREL_REQUIRE_POSTGRES") == "1"
    url = POSTGRES_URL
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL at {url} is unreachable: {type(exc).__name__}: {exc}"
        if required:
            pytest.fail(f"{message} (KESTREL_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    name = f"kestrel_fresh_{uuid.uuid4().hex[:10]}"
    import sqlalchemy as sa

    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
