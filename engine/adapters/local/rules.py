"""Binance's order rules the local exchange applies (`engine.adapters.local.venue`).

In: an order's parameters and prices. Out: the checks' answers, or a `BinanceError` (the
HTTP status, Binance's error code and message the server answers with).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BinanceError", "off_grid", "stop_price_of", "triggers"]


class BinanceError(Exception):
    """A Binance error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``
    (and ``"data"`` when given: a cancel-replace's halves)."""

    def __init__(self, status: int, code: int, msg: str, data: Any = None) -> None:
        """Keep the HTTP status, Binance error code, message and optional ``data``."""
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.data = data


def off_grid(value: float, step: float) -> bool:
    """True if ``value`` is not a whole number of ``step`` (a tick or a lot)."""
    return abs(round(value / step) * step - value) > step * 1e-6


def stop_price_of(params: dict[str, str]) -> float:
    """Return a stop order's ``stopPrice`` or raise -1102 as Binance does without one."""
    try:
        stop = float(params["stopPrice"])
    except (KeyError, ValueError):
        stop = math.nan
    if not (math.isfinite(stop) and stop > 0):
        raise BinanceError(
            400,
            -1102,
            "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
        )
    return stop


def triggers(kind: str, side: str, stop: float, price: float) -> bool:
    """True if ``price`` triggers a ``kind`` stop of ``side`` at ``stop`` (Binance's rules)."""
    upward = side == "BUY"  # STOP_LOSS: a buy triggers at or above the stop, a sell at or below
    if kind.startswith("TAKE_PROFIT"):
        upward = not upward
    return price >= stop if upward else price <= stop
