"""The exception tree: faults only, grouped by how they are handled.

Business outcomes (a risk denial, a venue rejection) are events, never exceptions.
Everything here is a fault. The first level says who must act and how; catch a group, not
its members, to apply a policy. The CLI maps each group to one exit code (README, "Exit
codes"); every message is one line saying what was found and what to do about it.

```
KestrelError                        base; raised as such only by older code for an input
│                                   to fix (a run id, an --out folder): exit 2, see below
├── UserInputError                  the user fixes an input and runs again       exit 2
│   ├── ConfigError                 bad TOML, unknown keys, bad values, bad --set overrides
│   ├── DataError                   malformed, unsorted, duplicate or non-finite market data
│   ├── PluginError                 a strategy that cannot be found, imported or parameterized
│   ├── IndicatorError (ValueError) unknown indicator, bad indicator parameters or inputs
│   ├── StoreOpenError              also a PersistenceError (below)
│   └── ExchangeInputError          also an ExchangeError (below): the venue refused it
├── StrategyError                   the user's strategy code raised while running  exit 3
├── ExchangeError                   venue trouble (an exchange through an adapter); its
│   │                               subclass says the policy; unclassified ones: exit 5
│   ├── ExchangeTransientError      RETRY with bounded backoff, then raise: network, rate
│   │                               limit (429/418), exchange unavailable (5xx), timeout  exit 4
│   ├── ExchangeStateUnknownError   RECONCILE before acting: a request's outcome is unknown
│   │                               (an order sent, no answer); fetch orders and balances
│   │                               before sending anything more                        exit 5
│   ├── ExchangeInputError*         REFUSE, never retried: unknown exchange, symbol or
│   │                               timeframe, bad credentials — the input must change exit 2
│   └── ExchangeFatalError          STOP the node: the account cannot go on trading (keys
│                                   revoked, account suspended); a human must look    exit 5
├── PersistenceError                the run store (SQLAlchemy) failed while in use     exit 6
│   └── StoreOpenError*             it cannot be opened: a bad --db URL, a driver not
│                                   installed, a server not reachable — input to fix  exit 2
└── InternalError                   a bug in Kestrel: report it                        exit 70
    └── InvalidStateTransition      an order state change the transition table forbids
```
(* also under UserInputError, whose exit code wins: the user's fix is what is needed.)

Exit codes: 0 success, 130 interrupted (Ctrl-C), 70 for any exception outside this tree
too (a bug as well). `exit_code` gives an error's code; the CLI uses it. About 30 places
(run store lookups, run folders, the CLI's path checks) still raise the bare base for an
input the user must fix; until each names its group, the bare base maps to 2 like
`UserInputError`. New code raises a group, never the base.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "ConfigError",
    "DataError",
    "ExchangeError",
    "ExchangeFatalError",
    "ExchangeInputError",
    "ExchangeStateUnknownError",
    "ExchangeTransientError",
    "IndicatorError",
    "InternalError",
    "InvalidStateTransition",
    "KestrelError",
    "PersistenceError",
    "PluginError",
    "StoreOpenError",
    "StrategyError",
    "UserInputError",
    "did_you_mean",
    "exit_code",
]


class KestrelError(Exception):
    """Base class of every error Kestrel raises on purpose."""


class UserInputError(KestrelError):
    """An input the user gave (config, data, plugin, parameters) must be fixed."""


class ConfigError(UserInputError):
    """A run configuration (file, override or parameter) is invalid."""


class DataError(UserInputError):
    """Market data is malformed or violates an invariant (sorted, unique, finite, OHLC)."""


class PluginError(UserInputError):
    """A strategy plugin cannot be located, imported or given its parameters."""


class IndicatorError(UserInputError, ValueError):
    """An indicator name, parameter or input is invalid."""


class StrategyError(KestrelError):
    """User strategy code raised an exception while the kernel was running it."""


class ExchangeError(KestrelError):
    """An exchange reached through an adapter failed; ccxt errors are translated to these.

    Raised as such when no policy below fits: treat it like `ExchangeFatalError` (stop
    and let a human look), since nothing says a retry or a reconcile would help.
    """


class ExchangeTransientError(ExchangeError):
    """A transient exchange fault (network, rate limit, unavailable, timeout): retry later."""


class ExchangeStateUnknownError(ExchangeError):
    """A request's outcome at the exchange is unknown: reconcile before acting again.

    The case is an order sent whose answer never came (a timeout after the request left):
    the order may or may not exist. Retrying could place it twice; the node fetches open
    orders, fills and balances first and only then decides.
    """


class ExchangeInputError(ExchangeError, UserInputError):
    """The exchange refused the request's input (exchange id, symbol, timeframe, keys)."""


class ExchangeFatalError(ExchangeError):
    """The account cannot go on trading at this exchange: stop the node."""


class PersistenceError(KestrelError):
    """Writing to or reading from the run store failed."""


class StoreOpenError(PersistenceError, UserInputError):
    """The run store cannot be opened (URL, driver, server): the user fixes ``--db``."""


class InternalError(KestrelError):
    """An invariant of Kestrel's own code broke: a bug to report, not an input to fix."""


class InvalidStateTransition(InternalError):  # noqa: N818 - the name states the fault
    """An order was asked to move to a state its current state cannot reach."""


# The exit code of each group, first match wins: `ExchangeInputError` and `StoreOpenError`
# are input to fix as well as venue or store errors, and the user's fix is what matters, so
# input comes first.
EXIT_CODES: tuple[tuple[type[KestrelError], int], ...] = (
    (UserInputError, 2),
    (StrategyError, 3),
    (ExchangeTransientError, 4),
    (ExchangeError, 5),
    (PersistenceError, 6),
    (InternalError, 70),
)
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h: a bug, also for exceptions outside the tree


def exit_code(error: BaseException) -> int:
    """Return the CLI exit code for ``error`` (70 for anything that is not a known group).

    Args:
        error: The exception that ended a command.

    Returns:
        2 input to fix, 3 strategy code, 4 exchange unavailable (retry later), 5 other
        exchange trouble, 6 run store, 70 internal.
    """
    for group, code in EXIT_CODES:
        if isinstance(error, group):
            return code
    if type(error) is KestrelError:  # the bare base: an input to fix (see the docstring)
        return 2
    return EXIT_INTERNAL


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
