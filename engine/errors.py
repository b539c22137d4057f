"""The exception tree: faults only, grouped by how they are handled.

Business outcomes (a risk denial, a venue rejection) are events, never exceptions.
Everything here is a fault. The first level says who must act and how; catch a group, not
its members, to apply a policy. The CLI maps each group to one exit code (README, "Exit
codes"); every message is one line saying what was found and what to do about it.

```
KestrelError                        base; never raised as such (a test scans engine/)
├── UserInputError                  the user fixes an input and runs again       exit 2
│   ├── ConfigError                 bad TOML, unknown keys, bad values, bad --set overrides
│   ├── DataError                   missing, malformed, unsorted, duplicate or non-finite
│   │                               market data (a data, benchmark or catalog path)
│   ├── PluginError                 a strategy that cannot be found, imported or parameterized
│   ├── IndicatorError (ValueError) unknown indicator, bad indicator parameters or inputs
│   ├── RunLookupError              a run id or run folder that names no complete run, or
│   │                               several (an ambiguous prefix)
│   ├── OutputPathError             an output folder that is a file, cannot be written, or
│   │                               is a user's non-empty folder (--out, artifacts folder)
│   ├── QueryError                  a runs query that cannot be read (--where, --sort, an
│   │                               unknown field)
│   ├── UsageError                  a command line missing what typer cannot check (two runs
│   │                               to compare, --yes without a terminal)
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

Exit codes: 0 success, 130 interrupted (Ctrl-C, `Interrupted` below: not a fault, so
outside the tree), 70 for any exception outside this tree too (a bug as well). `exit_code`
gives an error's code; the CLI uses it. Kestrel raises a group's class, never the bare
`KestrelError` (tests/unit/test_errors_raise_sites.py fails on any ``raise KestrelError``
in engine/): the base only exists to be caught. One raised anyway (by a plugin) says
nobody's policy, so it is treated like an exception outside the tree: exit 70.
"""

from __future__ import annotations

import difflib
import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "ConfigError",
    "DataError",
    "ExchangeError",
    "ExchangeFatalError",
    "ExchangeInputError",
    "ExchangeStateUnknownError",
    "ExchangeTransientError",
    "IndicatorError",
    "InternalError",
    "Interrupted",
    "InvalidStateTransition",
    "KestrelError",
    "OutputPathError",
    "PersistenceError",
    "PluginError",
    "QueryError",
    "RunLookupError",
    "StoreOpenError",
    "StrategyError",
    "UsageError",
    "UserInputError",
    "did_you_mean",
    "exit_code",
    "warn",
]


class KestrelError(Exception):
    """Base class of every error Kestrel raises on purpose."""


class UserInputError(KestrelError):
    """An input the user gave (config, data, plugin, parameters) must be fixed."""


class ConfigError(UserInputError):
    """A run configuration (file, override or parameter) is invalid."""


class DataError(UserInputError):
    """Market data is missing, malformed or violates an invariant (sorted, unique, finite)."""


class PluginError(UserInputError):
    """A strategy plugin cannot be located, imported or given its parameters."""


class IndicatorError(UserInputError, ValueError):
    """An indicator name, parameter or input is invalid."""


class RunLookupError(UserInputError):
    """A run id or run folder does not name exactly one complete run.

    Blank, unknown, an ambiguous prefix, a folder that is not a run's or holds an
    incomplete, replaced or tampered run. The message says how to find the right one
    (`kestrel runs list`, with ``--all`` for incomplete runs).
    """


class OutputPathError(UserInputError):
    """A folder the command would write into cannot take the files: give another path.

    It is a file, lies under a file, is not writable, or is a user's non-empty folder that
    is not a previous run's (``--force`` writes into it anyway).
    """


class QueryError(UserInputError):
    """A query over stored runs cannot be read: a malformed ``--where`` or an unknown field."""


class UsageError(UserInputError):
    """A command line lacks what its arguments' types cannot say (typer checks the rest)."""


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


class Interrupted(Exception):  # noqa: N818 - it names what happened, like KeyboardInterrupt
    """Ctrl-C stopped a command; the message says what was kept. Exit code 130 (128 + SIGINT).

    Not a fault, so not a `KestrelError`: no group's policy applies and nothing is to fix.
    Commands turn ``KeyboardInterrupt`` into this where they know what was kept.
    """


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
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def exit_code(error: BaseException) -> int:
    """Return the CLI exit code for ``error`` (70 for anything that is not a known group).

    Args:
        error: The exception that ended a command.

    Returns:
        2 input to fix, 3 strategy code, 4 exchange unavailable (retry later), 5 other
        exchange trouble, 6 run store, 70 internal (and the bare base, see the module
        docstring), 130 interrupted.
    """
    if isinstance(error, Interrupted | KeyboardInterrupt):
        return EXIT_INTERRUPTED
    for group, code in EXIT_CODES:
        if isinstance(error, group):
            return code
    return EXIT_INTERNAL


def warn(text: str) -> None:
    """Write ``warning: <text>`` to stderr, one line: what a run goes on despite (the same
    line in a backtest, paper and live; a sweep's trial collects it: `collecting_warnings`)."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


@contextmanager
def collecting_warnings() -> Iterator[list[str]]:
    """Collect the `warn` lines the block writes into the list yielded, unprinted.

    A sweep's trial runs inside one: its lines travel back with its result, and the sweep
    says each distinct line once (`engine.optimize.trial.WarnOnce`), not once per trial.
    The block's stderr is captured (a trial runs alone in its worker or, inline, in the
    sweep's own thread); its other lines are written on to stderr as they were.
    """
    lines: list[str] = []
    buffer = io.StringIO()
    try:
        with redirect_stderr(buffer):
            yield lines
    finally:
        for line in buffer.getvalue().splitlines():
            if line.startswith("warning: "):
                lines.append(line.removeprefix("warning: "))
            else:
                print(line, file=sys.stderr)


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
