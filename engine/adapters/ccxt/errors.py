"""ccxt's exceptions translated into the engine's error tree, at the adapter boundary.

| ccxt (and subclasses)                                           | engine                   |
|-----------------------------------------------------------------|--------------------------|
| NetworkError (RequestTimeout, ExchangeNotAvailable, DDoSProtection, | ExchangeTransientError: |
| RateLimitExceeded, ...)                                          | retried with backoff     |
| DDoSProtection of an HTTP 418 (``"binance 418 ..."``: an IP ban) | ExchangeFatalError:      |
| AccountSuspended                                                 | stop, a human must look  |
| BadSymbol, AuthenticationError, PermissionDenied, BadRequest,    | ExchangeInputError:      |
| ArgumentsRequired, NotSupported                                  | refused, never retried   |
| any other ccxt.BaseError                                         | ExchangeError            |

Only the adapters call ccxt; nothing above them sees a ccxt class. This table serves reads
(downloads, the feed). Order paths follow the live error contract instead
(`engine.adapters.ccxt.contract`), which also produces `ExchangeStateUnknownError`: only an
order path can know that a timed-out request was an order. Retrying a 418 would only lengthen
the ban, so it stops here too (ccxt raises DDoSProtection for 429 and 418 alike; the status
in its message tells them apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import (
    ExchangeError,
    ExchangeFatalError,
    ExchangeInputError,
    ExchangeTransientError,
    did_you_mean,
)

__all__ = ["RetryPolicy", "call_with_retry", "check_exchange_id", "retry_after_s", "translate"]

T = TypeVar("T")


def check_exchange_id(exchange_id: str) -> None:
    """Raise `ExchangeInputError` (with a "did you mean") unless ccxt knows ``exchange_id``."""
    import ccxt  # lazy, as in `translate`

    if exchange_id not in ccxt.exchanges:
        raise ExchangeInputError(
            f"unknown exchange {exchange_id!r}{did_you_mean(exchange_id, ccxt.exchanges)}"
        )


def translate(exc: BaseException, exchange_id: str, what: str) -> ExchangeError:
    """Return the engine error for ccxt exception ``exc`` raised while doing ``what``."""
    import ccxt  # lazy: the CLI must not pay ccxt's import time for other commands

    from engine.adapters.ccxt.contract import http_status

    detail = " ".join(str(exc).split())[:300]
    if isinstance(exc, ccxt.DDoSProtection) and http_status(detail) == 418:
        return ExchangeFatalError(f"{exchange_id}: {what} failed: IP banned (418): {detail}")
    if isinstance(exc, ccxt.NetworkError):
        kind = type(exc).__name__
        return ExchangeTransientError(f"{exchange_id}: {what} failed: {kind}: {detail}")
    if isinstance(exc, ccxt.AccountSuspended):  # before its base, AuthenticationError (refused)
        return ExchangeFatalError(f"{exchange_id}: {what} failed: account suspended: {detail}")
    refused = (
        ccxt.BadSymbol,
        ccxt.AuthenticationError,
        ccxt.PermissionDenied,
        ccxt.BadRequest,
        ccxt.ArgumentsRequired,
        ccxt.NotSupported,
    )
    if isinstance(exc, refused):
        kind = type(exc).__name__
        return ExchangeInputError(f"{exchange_id}: {what} refused: {kind}: {detail}")
    return ExchangeError(f"{exchange_id}: {what} failed: {type(exc).__name__}: {detail}")


class RetryPolicy:
    """Bounded exponential backoff for transient exchange errors.

    Attempt ``k`` (from 0) that fails transiently waits ``backoff_s * 2**k`` seconds before
    the next one — longer if the exchange asked for more with a ``Retry-After`` header (429,
    418), but never more than ``max_pause_s``; after ``attempts`` failures the last error is
    raised. Nothing else is retried.
    """

    def __init__(
        self,
        attempts: int = 5,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        max_pause_s: float = 120.0,
    ) -> None:
        """Allow ``attempts`` tries in all, the first pause being ``backoff_s`` seconds."""
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.max_pause_s = max_pause_s

    def pause_s(self, attempt: int, retry_after_s: float | None) -> float:
        """Return the pause after failed attempt ``attempt`` (from 0), in seconds."""
        pause: float = max(self.backoff_s * 2.0**attempt, retry_after_s or 0.0)
        return min(pause, self.max_pause_s)


def retry_after_s(exchange: Any) -> float | None:
    """Return the ``Retry-After`` seconds of ``exchange``'s last response, if it sent one."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: not worth parsing, the backoff applies
        return None


def call_with_retry(
    policy: RetryPolicy,
    exchange_id: str,
    what: str,
    call: Callable[[], T],
    retry_after: Callable[[], float | None] | None = None,
) -> T:
    """Return ``call()``, retrying transient ccxt errors per ``policy``; translate the rest.

    ``retry_after`` returns the server's ``Retry-After`` of the failed call (see
    `retry_after_s`), which can lengthen the pause.

    Raises:
        ExchangeTransientError: When every attempt failed transiently (message says how many).
        ExchangeInputError, ExchangeError: At once, for any other ccxt error.
    """
    import ccxt

    for attempt in range(policy.attempts):
        try:
            return call()
        except ccxt.BaseError as exc:
            error: Any = translate(exc, exchange_id, what)
            if not isinstance(error, ExchangeTransientError):
                raise error from None
            if attempt + 1 == policy.attempts:
                raise ExchangeTransientError(
                    f"{error} (gave up after {policy.attempts} attempts)"
                ) from None
            policy.sleep(policy.pause_s(attempt, retry_after() if retry_after else None))
    raise AssertionError("unreachable")  # pragma: no cover
