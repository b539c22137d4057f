"""The exception tree: faults only, grouped by how they are handled.

Business outcomes (a risk denial, a venue rejection) are events, never exceptions.
Everything here is a fault: something the user or the environment must fix.

```
KestrelError                    base; the CLI prints str(error) on one line, exit code 2
├── ConfigError                 bad TOML, unknown keys, bad values, bad --set overrides
├── DataError                   malformed, unsorted, duplicate or non-finite market data
├── PluginError                 a strategy that cannot be found, imported or parameterized
├── StrategyError               user strategy code raised while running
├── IndicatorError (ValueError) unknown indicator, bad indicator parameters or inputs
├── PersistenceError            the run store (SQLAlchemy) failed
├── InvalidStateTransition      an order state change the transition table forbids (a bug)
└── BrokerError                 a venue or adapter fault
    ├── TransientBrokerError    retried with backoff (timeouts, rate limits, network)
    ├── PermanentBrokerError    never retried (auth, bad symbol, insufficient funds)
    └── ExchangeError           an exchange reached through an adapter (ccxt) failed
        ├── ExchangeTransientError  retried with bounded backoff, then raised: network,
        │                           rate limit (429/418), exchange unavailable (5xx), timeout
        └── ExchangeInputError      refused, never retried: unknown exchange, symbol or
                                    timeframe, bad credentials — the user must fix the input
```

Messages are sentences that say what was found and what to do about it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BrokerError",
    "ConfigError",
    "DataError",
    "ExchangeError",
    "ExchangeInputError",
    "ExchangeTransientError",
    "IndicatorError",
    "InvalidStateTransition",
    "KestrelError",
    "PermanentBrokerError",
    "PersistenceError",
    "PluginError",
    "StrategyError",
    "TransientBrokerError",
    "did_you_mean",
]


class KestrelError(Exception):
    """Base class of every error Kestrel raises on purpose."""


class ConfigError(KestrelError):
    """A run configuration (file, override or parameter) is invalid."""


class DataError(KestrelError):
    """Market data is malformed or violates an invariant (sorted, unique, finite, OHLC)."""


class PluginError(KestrelError):
    """A strategy plugin cannot be located, imported or given its parameters."""


class StrategyError(KestrelError):
    """User strategy code raised an exception while the kernel was running it."""


class IndicatorError(KestrelError, ValueError):
    """An indicator name, parameter or input is invalid."""


class PersistenceError(KestrelError):
    """Writing to or reading from the run store failed."""


class InvalidStateTransition(KestrelError):  # noqa: N818 - the name states the fault
    """An order was asked to move to a state its current state cannot reach."""


class BrokerError(KestrelError):
    """A broker or venue fault (not a business rejection, which is an event)."""


class TransientBrokerError(BrokerError):
    """A fault that may succeed when retried: timeout, rate limit, network hiccup."""


class PermanentBrokerError(BrokerError):
    """A fault that will fail again if retried: authentication, unknown symbol, funds."""


class ExchangeError(BrokerError):
    """An exchange reached through an adapter failed; ccxt errors are translated to these."""


class ExchangeTransientError(ExchangeError, TransientBrokerError):
    """A transient exchange fault (network, rate limit, unavailable, timeout): retry later."""


class ExchangeInputError(ExchangeError, PermanentBrokerError):
    """The exchange refused the request's input (exchange id, symbol, timeframe, keys)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or a list of valid choices.

    Args:
        word: The unknown name the user wrote.
        choices: The valid names.

    Returns:
        A suffix for an error message, starting with a space; empty if there are no choices.
    """
    options = sorted(set(choices))
    if not options:
        return ""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(repr(o) for o in options[:12])
    more = ", …" if len(options) > 12 else ""
    return f" (valid: {shown}{more})"
