"""Show database URLs and errors without their passwords.

A URL's password can come from ``--db`` or ``KESTREL_DB_URL``; it must never reach the
terminal, a log or an exception message. `mask_url` renders a URL with ``***`` in place
of the password (SQLAlchemy's ``render_as_string(hide_password=True)``) and `scrub`
removes the password (raw and percent-encoded) from any text, such as a driver's error.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from sqlalchemy.engine import make_url

__all__ = ["mask_url", "scrub"]

# user:password@ in a URL SQLAlchemy cannot parse (the fallback for malformed input).
_USERINFO = re.compile(r"(://[^:/@\s]*):([^@\s]*)@")


def _passwords(url: str) -> list[str]:
    found: list[str] = []
    try:
        password = make_url(url).password
    except Exception:  # a malformed URL: fall back to the regex below
        password = None
    if password:
        found.append(str(password))
    for match in _USERINFO.finditer(url):
        found.append(match.group(2))
    variants = {v for p in found if p for v in (p, quote(p, safe=""), unquote(p))}
    return sorted(variants, key=len, reverse=True)


def mask_url(url: str) -> str:
    """Return ``url`` with its password shown as ``***`` (unchanged when it has none)."""
    try:
        masked = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: mask user:password@ by hand
        masked = _USERINFO.sub(r"\1:***@", url)
    return masked


def scrub(message: str, url: str) -> str:
    """Return ``message`` with ``url``'s password replaced by ``***`` wherever it occurs."""
    for password in _passwords(url):
        message = message.replace(password, "***")
    return message
