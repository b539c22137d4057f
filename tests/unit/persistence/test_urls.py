"""Database URLs reach the terminal with their whole ``user:password`` part masked.

The password is found by pattern (everything between the scheme separator, however
malformed, and the last ``@``), never by what SQLAlchemy parses out of a malformed URL:
``p@ss`` parses as ``p``, and replacing ``p`` everywhere garbled the message and leaked
``ss``.
"""

from __future__ import annotations

import pytest

from engine.persistence import urls
from engine.persistence.urls import mask_url, scrub

SHAPES = [
    # (url, its password, fragments that must never show, what the masked form shows)
    ("postgresql+psycopg//postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    ("postgresql+psycopg:/postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    ("postgresql+psycopg:postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    ("postgresql+psycopg:///postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    ("postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    (" postgresql://postgres:S3cretPw@127.0.0.1/x", "S3cretPw", [], "@127.0.0.1/x"),
    (
        "postgresql+psycopg://postgres:Adm1n@2024!@127.0.0.1/x",
        "Adm1n@2024!",
        ["Adm1n", "2024!"],
        "@127.0.0.1",
    ),
    ("postgresql+psycopg://postgres:p@ss@127.0.0.1:1/x", "p@ss", ["ss@"], "@127.0.0.1:1/x"),
    ("postgresql+psycopg://postgres:pa:ss:wd@h/x", "pa:ss:wd", ["ss:wd"], "@h/x"),
    ("postgresql+psycopg://postgres:a/b/c@h/x", "a/b/c", ["b/c"], "@h/x"),
    ("postgresql+psycopg://postgres:S3cretPw@127.0.0.1:notaport/x", "S3cretPw", [], "notaport"),
    ("postgresql+psycopg://postgres:p%40ss%2Fw0rd@h/db", "p@ss/w0rd", ["p%40ss", "w0rd"], "@h/db"),
    ("postgresql+psycopg://postgres@S3cretPw@h/db", "S3cretPw", [], "@h/db"),
]


@pytest.mark.parametrize(("url", "password", "fragments", "shown"), SHAPES)
def test_mask_url_hides_every_piece_of_the_userinfo(
    url: str, password: str, fragments: list[str], shown: str
) -> None:
    masked = mask_url(url)
    for secret in [password, *fragments]:
        assert secret not in masked, masked
    assert "***" in masked
    assert shown in masked


@pytest.mark.parametrize(("url", "password", "fragments", "shown"), SHAPES)
def test_scrub_masks_the_url_and_its_password_in_any_message(
    url: str, password: str, fragments: list[str], shown: str
) -> None:
    """A driver may echo the URL or its password (a connection string it cannot parse)."""
    message = f"cannot open {url!r}: password={password} (its password part, opening apps)"
    cleaned = scrub(message, url)
    for secret in [password, *fragments]:
        assert secret not in cleaned, cleaned
    assert "cannot open" in cleaned
    # no piece of the text is taken for a password (``p@ss`` masked every "p", then "ss")
    assert "its password part, opening apps" in cleaned


def test_the_username_and_a_well_formed_url_stay_readable() -> None:
    assert mask_url("postgresql+psycopg://postgres:pw@db:5432/test") == (
        "postgresql+psycopg://postgres:***@db:5432/test"
    )
    assert (
        mask_url("postgresql+psycopg://postgres@db/test") == "postgresql+psycopg://postgres@db/test"
    )
    assert mask_url("sqlite:///backtests/kestrel.db") == "sqlite:///backtests/kestrel.db"
    assert mask_url("sqlite:////tmp/a@b/kestrel.db") == "sqlite:////tmp/a@b/kestrel.db"


def test_an_unencoded_at_sign_in_the_userinfo_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="%40") as caught:
        urls.check_url("postgresql+psycopg://postgres:Adm1n@2024!@127.0.0.1/x")
    assert "2024" not in str(caught.value)
    urls.check_url("postgresql+psycopg://postgres:Adm1n%402024!@127.0.0.1/x")
    urls.check_url("sqlite:////tmp/a@b/kestrel.db")  # a path, not a user:password


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite+pysqlite://"]
)
def test_an_in_memory_sqlite_store_is_refused(url: str) -> None:
    """Found by an audit: `backtest --db sqlite://` ran the whole backtest, then failed to
    save it ("no such table: orders": each of the save's threads has its own empty
    database), exit 6, the run lost."""
    with pytest.raises(ValueError, match="in-memory SQLite"):
        urls.check_url(url)
    urls.check_url("sqlite:////tmp/k.db")  # a file is fine
