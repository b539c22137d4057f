"""Live market data: the contract between an exchange feed and the paper/live node.

In: an exchange connection (ccxt REST + ccxt.pro websockets, `engine.adapters.ccxt`), or a
fake in tests. Out: market events (`Bar`, `TradeTick`, `QuoteTick`) the node hands to its
driver one at a time. The rules every implementation keeps, so that a node on live data
decides exactly as a backtest of the same bars:

* Only closed bars are yielded: an in-progress candle is never a `Bar`. A bar's
  ``ts_event`` is its close time (open + timeframe), as in backtests.
* Events come in non-decreasing ``ts_event`` order, each exactly once — including across
  reconnects, stalls and REST backfills (duplicates are dropped, gaps are filled).
* ``since_ns`` asks for catch-up first: every closed bar with ``ts_event > since_ns`` is
  fetched over REST and yielded before live ones (how a restarted node resumes). ``None``
  starts with the next bar that closes.
* A stream silent past its staleness bound is declared stale and backfilled over REST; its
  data is never trusted until then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from engine.model import Bar, QuoteTick, TradeTick

__all__ = ["LiveFeed", "MarketEvent"]

MarketEvent = Bar | TradeTick | QuoteTick


class LiveFeed(Protocol):
    """A source of closed bars (and trades/quotes when subscribed) from a live venue."""

    def stream(self, since_ns: int | None = None) -> AsyncIterator[MarketEvent]:
        """Yield market events in time order, catch-up from ``since_ns`` first (see above)."""
        ...

    async def close(self) -> None:
        """Release connections; ``stream`` ends after this."""
        ...
