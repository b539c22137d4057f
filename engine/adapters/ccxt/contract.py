"""The live error contract: every ccxt exception an order path can meet, and what to do.

In: a ccxt exception (and, for ``DDoSProtection``, the HTTP status or body it carries). Out: a
`Verdict` — the `Action` the order manager (`engine.runtime.live.orders`) and the ccxt venue
(`engine.adapters.ccxt.venue`) take, and the engine error raised if the action gives up.

`CONTRACT` is the one table; `contract_markdown` renders it for the README (a test checks the
README holds exactly that rendering). Rules are tried top to bottom, first match wins, so a
subclass comes before its base (ccxt: ``OrderNotFound`` < ``InvalidOrder``,
``AccountSuspended`` < ``AuthenticationError``, ``InvalidNonce`` and ``DDoSProtection`` <
``NetworkError``).

Why the ban and rate-limit rows read the status: ccxt 4.5.x's binance raises
``DDoSProtection`` for both HTTP 429 (rate limit, body ``-1003``) and 418 (IP ban) before it
reads the body, and ``RateLimitExceeded`` / ``DDoSProtection`` are siblings under
``NetworkError``. Its message is ``"binance 418 <reason> <body>"``, so the status is read
there (the body's "banned" as a fallback). A 429 that halts, or a 418 that is retried, would
both be bugs; a ``DDoSProtection`` with neither marker is treated as a ban (the safe side).

Why a create that fails with a network error is UNKNOWN and not retried: the request may have
reached the exchange (Binance says so of its 5xx and of -1006/-1007), and re-sending could
place the order twice. The order is looked up by its client id instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from engine.errors import (
    ExchangeError,
    ExchangeFatalError,
    ExchangeInputError,
    ExchangeStateUnknownError,
    ExchangeTransientError,
)

__all__ = [
    "CONTRACT",
    "Action",
    "Rule",
    "Verdict",
    "classify",
    "contract_markdown",
    "http_status",
    "would_trigger",
]


class Action(StrEnum):
    """What the caller does about a failed exchange call."""

    RETRY = "retry"  # back off and try again; an order create becomes UNKNOWN instead
    UNKNOWN = "unknown"  # the outcome is unknown: look the order up by client id
    RATE_LIMITED = "rate_limited"  # wait Retry-After (at least the backoff), try again
    HALT = "halt"  # stop trading at once and alert (IP ban)
    RESYNC = "resync"  # resync the clock offset with the exchange, try once more
    LOOK_UP = "look_up"  # the order may exist (duplicate client id): look it up
    NOT_FOUND = "not_found"  # the exchange does not know the order (yet): look again later
    TRIGGERED = "triggered"  # a stop the exchange's price is through: send what it becomes
    REJECT = "reject"  # the exchange refused the order: rejected, the strategy hears it
    STOP = "stop"  # the account cannot trade (keys, permissions): stop with a clear line


@dataclass(frozen=True)
class Rule:
    """One row of the contract: which exceptions it matches and what follows."""

    name: str  # what the README shows in the first column
    matches: Callable[[BaseException, str], bool]  # (exception, its one-line text)
    action: Action
    error: type[ExchangeError]  # raised when the action gives up (or at once for STOP)
    policy: str  # the README's description of what happens


@dataclass(frozen=True)
class Verdict:
    """The matched rule of one exception, with its one-line description."""

    rule: Rule
    detail: str

    @property
    def action(self) -> Action:
        """The rule's action."""
        return self.rule.action

    def error(self, exchange_id: str, what: str) -> ExchangeError:
        """Return the engine error to raise when the action gives up on ``what``."""
        return self.rule.error(f"{exchange_id}: {what} failed ({self.rule.name}): {self.detail}")


_STATUS = re.compile(r"^\S+ (\d{3}) ")
# Binance's "execution status unknown" codes, in the body ccxt quotes (spaces vary).
_UNKNOWN_CODE = re.compile(r'"code":\s*-100[67]\b|execution status unknown', re.IGNORECASE)


def http_status(text: str) -> int | None:
    """Return the HTTP status ccxt put after the exchange id (``"binance 418 ..."``), if any."""
    found = _STATUS.match(text)
    return int(found.group(1)) if found else None


def _is(*names: str) -> Callable[[BaseException, str], bool]:
    def matches(exc: BaseException, _: str) -> bool:
        import ccxt  # lazy: the CLI must not pay ccxt's import time for other commands

        return isinstance(exc, tuple(getattr(ccxt, name) for name in names))

    return matches


def _rate_limited(exc: BaseException, text: str) -> bool:
    import ccxt

    if isinstance(exc, ccxt.RateLimitExceeded):
        return True
    return isinstance(exc, ccxt.DDoSProtection) and http_status(text) == 429


def _banned(exc: BaseException, text: str) -> bool:
    import ccxt

    # Any DDoSProtection that is not a plain 429: 418, or no status at all (the safe side).
    return isinstance(exc, ccxt.DDoSProtection) and http_status(text) != 429


def _execution_unknown(exc: BaseException, text: str) -> bool:
    import ccxt

    if isinstance(exc, ccxt.RequestTimeout):
        return True
    return isinstance(exc, ccxt.BaseError) and _UNKNOWN_CODE.search(text) is not None


def _duplicate(exc: BaseException, text: str) -> bool:
    import ccxt

    lowered = text.lower()  # spot's -2010; USDⓈ-M's algo orders' -4116
    return isinstance(exc, ccxt.InvalidOrder) and (
        "duplicate order" in lowered or "clientorderid is duplicated" in lowered
    )


# Binance's refusals of a stop its price is already through, code and text as it answers:
# spot -2010 "Stop price would trigger immediately." (an order, an OCO's stop leg, a
# cancel-replace's new order; its error list also words it "Order would trigger
# immediately.": the stop price against the last traded price); USDⓈ-M algo orders -2021
# "Order would immediately trigger.".
# ccxt 4.5.90 raises OrderImmediatelyFillable for both (by the text, which its message then
# holds without the body: "binance Stop price would trigger immediately."), and also for a
# LIMIT_MAKER that would take (-2010 "Order would immediately match and take."), which
# stays a rejection: so the text decides, and a code quoted with it must be one of the two.
_WOULD_TRIGGER_TEXT = (
    "stop price would trigger immediately",
    "order would trigger immediately",
    "order would immediately trigger",
)
_CODE = re.compile(r'"code":\s*(-?\d+)')


def would_trigger(text: str) -> bool:
    """True if ``text`` (ccxt's message, or Binance's bare ``msg``: a cancel-replace's
    refused new order) is Binance's refusal of a stop its price is already through."""
    lowered = text.lower()
    code = _CODE.search(text)
    if code is not None and code.group(1) not in ("-2010", "-2021"):
        return False
    return any(words in lowered for words in _WOULD_TRIGGER_TEXT)


def _stop_through(exc: BaseException, text: str) -> bool:
    import ccxt

    return isinstance(exc, ccxt.InvalidOrder) and would_trigger(text)


CONTRACT: tuple[Rule, ...] = (
    Rule(
        "DDoSProtection HTTP 429, RateLimitExceeded",
        _rate_limited,
        Action.RATE_LIMITED,
        ExchangeTransientError,
        "wait Retry-After (at least the backoff), then retry the same request",
    ),
    Rule(
        "DDoSProtection HTTP 418 (IP ban)",
        _banned,
        Action.HALT,
        ExchangeFatalError,
        "halt trading at once and alert; nothing is retried",
    ),
    Rule(
        "InvalidNonce (-1021)",
        _is("InvalidNonce"),
        Action.RESYNC,
        ExchangeFatalError,
        "resync the clock offset with the exchange, retry once; a second one stops",
    ),
    Rule(
        "RequestTimeout, -1006, -1007",
        _execution_unknown,
        Action.UNKNOWN,
        ExchangeStateUnknownError,
        "an order stays UNKNOWN until found by client id; a read is retried",
    ),
    Rule(
        "NetworkError, ExchangeNotAvailable (5xx)",
        _is("NetworkError"),
        Action.RETRY,
        ExchangeTransientError,
        "retry with backoff, then reconcile; an order create is UNKNOWN (looked up)",
    ),
    Rule(
        "OrderNotFound (-2013, -2011)",
        _is("OrderNotFound"),
        Action.NOT_FOUND,
        ExchangeStateUnknownError,
        "right after a create: look up again with backoff; never marked lost",
    ),
    Rule(
        "InvalidOrder 'Duplicate order sent' (-2010; USDⓈ-M algo orders' -4116)",
        _duplicate,
        Action.LOOK_UP,
        ExchangeStateUnknownError,
        "the client id is known: look the order up; adopt it only if it is the "
        "order sent (its symbol, side and quantity)",
    ),
    Rule(
        "InvalidOrder 'Stop price would trigger immediately.' (-2010; USDⓈ-M -2021)",
        _stop_through,
        Action.TRIGGERED,
        ExchangeInputError,
        "a stop the exchange's price is through: sent as its market (limit) order instead",
    ),
    Rule(
        "AccountSuspended",
        _is("AccountSuspended"),
        Action.STOP,
        ExchangeFatalError,
        "stop the node with a clear line",
    ),
    Rule(
        "AuthenticationError, PermissionDenied",
        _is("AuthenticationError"),
        Action.STOP,
        ExchangeInputError,
        "stop the node with a clear line (fix the keys)",
    ),
    Rule(
        "InsufficientFunds, InvalidOrder, BadRequest, BadSymbol",
        _is("InsufficientFunds", "InvalidOrder", "BadRequest"),
        Action.REJECT,
        ExchangeInputError,
        "the order is rejected; the strategy hears OrderRejected",
    ),
    Rule(
        "any other ccxt error",
        lambda exc, _: True,
        Action.STOP,
        ExchangeError,
        "stop the node: nothing says a retry would help",
    ),
)


def classify(exc: BaseException) -> Verdict:
    """Return the contract's verdict on ccxt exception ``exc`` (first matching rule)."""
    detail = " ".join(str(exc).split())[:300]
    for rule in CONTRACT:
        if rule.matches(exc, detail):
            return Verdict(rule, f"{type(exc).__name__}: {detail}")
    raise AssertionError("unreachable: the last rule matches everything")  # pragma: no cover


def contract_markdown() -> str:
    """Return the contract as the README's Markdown table."""
    lines = ["| ccxt error | action | engine error if it gives up |", "|---|---|---|"]
    for rule in CONTRACT:
        lines.append(f"| {rule.name} | {rule.policy} | `{rule.error.__name__}` |")
    return "\n".join(lines)
