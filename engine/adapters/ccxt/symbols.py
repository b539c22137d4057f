"""Small helpers of the ccxt venue: a perpetual's ccxt symbol and the local wall clock.

In: an engine symbol (``BTC/USDT``). Out: ccxt's linear perpetual of it (``BTC/USDT:USDT``);
the wall clock in ms. Re-exported by `engine.adapters.ccxt.venue`, where they are used.
"""

from __future__ import annotations

import time

__all__ = ["linear_swap", "wall_clock_ms"]


def linear_swap(symbol: str) -> str:
    """Return ccxt's linear perpetual of ``BASE/QUOTE``, settled in the quote (``:QUOTE``)."""
    return f"{symbol}:{symbol.partition('/')[2]}"


def wall_clock_ms() -> int:
    """Return the wall clock in ms (the local exchange's signature clock)."""
    return int(time.time() * 1000)
