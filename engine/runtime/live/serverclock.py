"""The node's "now" on an exchange it does not host: the exchange's own clock.

In: a reader of the exchange's server time in ms (`CcxtExchange.server_time_ms`: ccxt's
``fetch_time``, ``GET /api/v3/time`` on spot, ``GET /fapi/v1/time`` on USDⓈ-M) and the
machine's monotonic clock. Out: ns since the Unix epoch, the source of the node's
`engine.clock.WallClock` in ``kestrel live`` without ``--replay`` (`engine.cli_live`).

Why: a DAY order's day, a GTD order's expiry (`engine.runtime.live.expiry`), the timers and
``ctx.time_ns`` must be the market's time. On a real venue that is the machine's time give
or take its drift, and the exchange's is the one its orders are stamped with. On a
``kestrel exchange serve`` replaying history at ``--exchange-url`` the machine's time is
years after the bars: every GTD order would be refused as already expired and no DAY
order would ever expire, where the exchange's ``/time`` answers its replay clock. So the
node reads the exchange's: one code, right on both.

How: `ServerClock.refresh` reads the exchange (the node calls it as each bar arrives, so
the bar's orders and the expiries checked after it see the exchange's time at that bar);
between reads the clock runs on at the machine's rate from the last reading, and it reads
again once `MAX_AGE_S` has passed (an idle node's once-a-second look reads it again). So it
is the exchange's within that much wall time: exact enough against a real venue, and
against a replay, whose clock moves in bar steps, its time at the bar plus the few wall
seconds the node took. A read that fails after the adapter's retries (the network) leaves
the clock running on from the last reading, counted in `failures`, and the next read tries
again: a clock never stops the node; the first read, at start, raises. It never goes
back: against a paused replay it runs on at most `MAX_AGE_S` past the exchange's time and
waits there until the exchange moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.errors import ExchangeTransientError

__all__ = ["MAX_AGE_S", "ServerClock"]

MAX_AGE_S = 1.0  # wall seconds a reading is carried before the exchange is read again
_NS_PER_MS = 1_000_000


class ServerClock:
    """The exchange's clock, read over REST and carried on between reads (see the module).

    Attributes:
        reads: How many times the exchange was read.
        failures: How many reads failed (the clock ran on from the last reading).
    """

    def __init__(
        self,
        read_ms: Callable[[], int],
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        """Read the exchange's time with ``read_ms`` now (raises as it does), and later."""
        self._read_ms = read_ms
        self._monotonic_ns = monotonic_ns
        self._max_age_ns = int(max_age_s * 1e9)
        self.reads = 0
        self.failures = 0
        self._server_ns = 0
        self._at_ns = 0
        self._last_ns = 0  # the latest time returned: the clock never goes back
        self._take(read_ms())

    def _take(self, server_ms: int) -> None:
        self.reads += 1
        self._server_ns = int(server_ms) * _NS_PER_MS
        self._at_ns = self._monotonic_ns()

    def refresh(self) -> int:
        """Read the exchange's time now; return the clock (ns). A transient failure keeps
        the last reading (see the module)."""
        try:
            self._take(self._read_ms())
        except ExchangeTransientError:
            self.failures += 1
            now = self._monotonic_ns()  # carried on from the last reading, aged afresh
            self._server_ns += now - self._at_ns
            self._at_ns = now
        return self._forward(self._server_ns + (self._monotonic_ns() - self._at_ns))

    def _forward(self, now_ns: int) -> int:
        self._last_ns = max(self._last_ns, now_ns)
        return self._last_ns

    def __call__(self) -> int:
        """Return the exchange's time in ns: the last reading plus the wall time since,
        reading again first if that is more than ``max_age_s``; never less than before."""
        elapsed = self._monotonic_ns() - self._at_ns
        if elapsed > self._max_age_ns:
            return self.refresh()
        return self._forward(self._server_ns + elapsed)
