"""Lockstep practice: the local exchange moves on only once the node has handled its bars.

``kestrel live CONFIG --live --replay DATA --speed lockstep`` starts the local exchange in
this process, paused, and never lets it run by itself: the node's bar loop asks it to step
to the next bar close (`LocalExchange.advance_to_close`) only when it has handled every bar
the exchange closed so far — the bar's ``on_bar`` ran, the orders it placed were sent and
answered (the order manager's calls are synchronous), the bar's checkpoint was committed.
So a market order decided on bar t meets bar t+1's open at the exchange, where the
backtest's ``next_open`` rule fills it, however long the node takes: a practice run gives
the backtest's fills and equity (with ``slippage_bps = 0``: the exchange does not slip)
through the real command, as fast as the machine goes. At a ``--speed`` the exchange keeps
its own pace, and a node that falls behind fills at later prices.

The hook is in-process and only exists for the local exchange the command started
(``--replay``): a real venue, or a server at ``--exchange-url``, is never driven — the CLI
refuses ``--speed lockstep`` without ``--replay``. Before each step it waits (at most
`LISTEN_S`) until the node's websockets listen — its candle streams and its user-data
stream — so the step's messages reach them; a bar whose message was missed anyway is
backfilled over REST by the feed, as after any drop.

Any practice run (``--replay``, lockstep or at a ``--speed``) reads "now" from the replay
(`replay_clock_ns`), not from the machine: a DAY order's day, a GTD order's expiry and the
timers are then the replayed market's, as a backtest's are its bars'.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from engine.model import Bar, QuoteTick, TradeTick

__all__ = ["LISTEN_S", "Lockstep", "SteppedExchange", "replay_clock_ns"]

LISTEN_S = 10.0  # wall seconds a step waits for the node's websockets before going anyway


class SteppedExchange(Protocol):
    """What lockstep needs of the local exchange (`engine.adapters.local.LocalExchange`)."""

    def advance_to_close(self) -> list[tuple[str, int]]:
        """Step to the next bar close; return ``(symbol, close ns)`` of the bars closed."""
        ...

    def listening(self, streams: Sequence[str] = (), user: bool = False) -> bool:
        """Return True once each of ``streams`` (and the user-data stream) listens."""
        ...


class Lockstep:
    """Steps the exchange when the node has handled every bar it closed.

    Attributes:
        pending: ``(symbol, close ns)`` of the bars closed and not yet handled.
        steps: How many times the exchange was stepped to a bar close.
    """

    def __init__(
        self, exchange: SteppedExchange, streams: Sequence[str], user: bool = True
    ) -> None:
        """Drive ``exchange``.

        Args:
            exchange: The local exchange, started paused.
            streams: The candle streams (name prefixes) the node's feed reads.
            user: Wait for the node's user-data stream as well.
        """
        self._exchange = exchange
        self._streams = tuple(streams)
        self._user = user
        self.pending: set[tuple[str, int]] = set()
        self.steps = 0

    async def next_bar(self) -> None:
        """Step the exchange to the next bar close unless a closed bar is still unhandled.

        Called while the node waits for its next bar; the blocking call runs in a thread,
        so the node's websockets keep reading meanwhile.
        """
        if self.pending:
            return
        deadline = time.monotonic() + LISTEN_S
        while time.monotonic() < deadline and not await asyncio.to_thread(
            self._exchange.listening, self._streams, self._user
        ):
            await asyncio.sleep(0.01)
        closed = await asyncio.to_thread(self._exchange.advance_to_close)
        if closed:
            self.steps += 1
        self.pending.update(closed)

    def handled(self, event: Bar | TradeTick | QuoteTick) -> None:
        """Record that the node handled ``event`` (a bar, or a tick: after the bars before it)."""
        # Events come in time order: a bar closed before the event that is still pending
        # was dropped by the feed (it never comes), so it no longer holds the exchange back.
        mine = (event.symbol, event.ts_event) if type(event) is Bar else None
        self.pending = {
            (symbol, ts)
            for symbol, ts in self.pending
            if ts >= event.ts_event and (symbol, ts) != mine
        }


def replay_clock_ns(local: Any) -> Callable[[], int]:
    """Return the clock of a practice run on ``local`` (the in-process local exchange): its
    replay time in ns, for the node's `engine.clock.WallClock` (see the module)."""
    replay = local.replay
    return lambda: int(replay.now_ms) * 1_000_000
