"""Fixtures shared by every test folder: kept small on purpose."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pytest_configure(config: pytest.Config) -> None:
    """Take SIGINT as Python does by default, in the main process and in each worker.

    A suite started as a background job (``make test &``, some CI runners) inherits SIGINT
    ignored, and so would every ``kestrel`` process a test starts: those that a test stops
    with Ctrl-C (``exchange serve``, ``optimize``) would never stop.
    `tests/integration/test_subprocess_ctrl_c.py` checks what a started process inherits.
    """
    del config
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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


class MemoryKeyring(KeyringBackend):
    """An OS keyring in a dict, for tests: ``entries[(service, username)] = password``."""

    # Below the fail backend's 0: keyring never picks it by itself, only `keyring.set_keyring`
    # in the fixtures below does.
    priority = -1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no {username} in {service}")


@contextlib.contextmanager
def keyring_in_use(backend: KeyringBackend) -> Iterator[None]:
    """Make ``backend`` the keyring in use, then restore the one before."""
    before = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(before)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory OS keyring in place of the machine's (restored afterwards)."""
    backend = MemoryKeyring()
    with keyring_in_use(backend):
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A machine without an OS keyring (keyring's ``fail`` backend), as on a headless server."""
    with keyring_in_use(keyring.backends.fail.Keyring()):
        yield
