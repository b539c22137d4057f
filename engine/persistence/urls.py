"""Show database URLs and errors without their passwords.

A URL's password can come from ``--db`` or ``KESTREL_DB_URL``; it must never reach the
terminal, a log or an exception message. The rule is a pattern, never what SQLAlchemy
parses (a malformed URL parses wrong: ``user:p@ss@host`` has password ``p`` to SQLAlchemy,
so its ``ss`` showed and every ``p`` of a message became ``***``):

- The userinfo is everything between the scheme separator — ``://``, or a malformed
  ``//``, ``:/``, ``:``, or none at all — and the LAST ``@`` of the URL. An SQLite URL
  has none (its ``@`` is in a file path).
- `mask_url` shows a well-formed ``scheme://user:password@`` as ``scheme://user:***@``
  and any other userinfo (a malformed separator, an ``@`` inside it) as ``***`` whole.
- `scrub` masks the URL, every URL-shaped ``scheme:…@`` in a message, and the userinfo's
  password found by that pattern (raw and percent-encoded) wherever else it occurs.
- `check_url` refuses a userinfo holding an unencoded ``@`` before any driver sees it:
  the driver would take the password's tail for the host and print it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["check_url", "mask_url", "scrub"]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# A URL inside a message: a scheme, a separator, a userinfo without blanks or quotes, '@'.
_IN_TEXT = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*)(:/{0,3}|/{2,3})([^\s'\"]*)@")


def _split(url: str) -> tuple[str, str, str] | None:
    """Return ``(scheme and separator, userinfo, "@" and the rest)``; None: no userinfo."""
    at = url.rfind("@")
    if at < 0:
        return None
    scheme = _SCHEME.match(url.lstrip())
    if scheme is not None and scheme.group().lower().startswith("sqlite"):
        return None  # sqlite:///a@b/kestrel.db: a path, never a user:password
    start = len(url) - len(url.lstrip())
    end = start
    if scheme is not None:
        end = start + scheme.end()
        separator = re.match(r":/{0,3}|/{1,3}", url[end:])
        if separator is None:  # "postgres@host": the scheme was the userinfo
            end = start
        else:
            end += separator.end()
    if end > at:
        end = start
    return url[:end], url[end:at], url[at:]


def _well_formed(prefix: str, userinfo: str) -> bool:
    return prefix.endswith("://") and "@" not in userinfo and not prefix[:1].isspace()


def mask_url(url: str) -> str:
    """Return ``url`` with its whole password (the userinfo if malformed) shown as ``***``."""
    parts = _split(url)
    if parts is None:
        return url
    prefix, userinfo, rest = parts
    if not userinfo:
        return url
    if _well_formed(prefix, userinfo):
        user, colon, _ = userinfo.partition(":")
        return f"{prefix}{user}:***{rest}" if colon else url
    return f"{prefix}***{rest}"


def _secrets(url: str) -> list[str]:
    """Return the userinfo's secrets: the password; a malformed one's whole userinfo too."""
    parts = _split(url)
    if parts is None or not parts[1]:
        return []
    prefix, userinfo, _ = parts
    if _well_formed(prefix, userinfo):
        secret = userinfo.partition(":")[2]
        found = [secret] if secret else []
    else:
        _, colon, password = userinfo.partition(":")
        # "user@password@host": the ':' forgotten; with a ':', "p@ss" is one password
        found = [userinfo, password if colon else userinfo.partition("@")[2]]
    variants = {v for p in found if p for v in (p, quote(p, safe=""), unquote(p))}
    return sorted(variants, key=len, reverse=True)


def scrub(message: str, url: str) -> str:
    """Return ``message`` with ``url``'s password, and any URL's userinfo, masked."""
    message = message.replace(url, mask_url(url))
    if url.strip() != url and url.strip():
        message = message.replace(url.strip(), mask_url(url.strip()))
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return _IN_TEXT.sub(lambda m: _mask_match(m), message)


def _mask_match(match: re.Match[str]) -> str:
    scheme, separator, userinfo = match.groups()
    if scheme.lower().startswith("sqlite") or userinfo in ("", "***"):
        return match.group()
    if separator == "://" and "@" not in userinfo:
        user, colon, password = userinfo.partition(":")
        return match.group() if not colon or password == "***" else f"{scheme}://{user}:***@"
    return f"{scheme}{separator}***@"


def _in_memory_sqlite(url: str) -> bool:
    """Return True for ``sqlite://``, ``sqlite:///`` and ``sqlite:///:memory:`` (any driver)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] != "sqlite":
        return False
    database = rest.split("?")[0].removeprefix("/")
    return database in ("", ":memory:") or "mode=memory" in rest


def check_url(url: str) -> None:
    """Refuse an in-memory SQLite URL, or one whose userinfo holds an unencoded ``@``.

    Both before a driver sees the URL: an in-memory store loses a run at its save, and a
    driver would take the rest of an ``@`` password for the host.

    Raises:
        ValueError: Either case; the message says what to give instead.
    """
    if _in_memory_sqlite(url):
        raise ValueError(
            "an in-memory SQLite store cannot hold runs (the save writes from several "
            "connections, each with its own empty database); give a file "
            "(sqlite:///path/kestrel.db), or --no-db to keep no store"
        )
    parts = _split(url)
    if parts is not None and "@" in parts[1]:
        raise ValueError(
            "its user:password part holds an unencoded '@' (the driver would take the rest "
            "for the host): write '@' in the password as %40"
        )
