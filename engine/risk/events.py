"""Risk facts: the trading state and its transitions.

- ``ACTIVE``: every order that passes the checks is approved.
- ``REDUCING``: only orders that reduce exposure pass (reduce-only orders, and orders that
  bring the expected position closer to zero).
- ``HALTED``: no new order passes; cancels (which never go through risk) still do, and
  orders already working at the broker (protective exits) keep working.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = ["TradingState", "TradingStateChanged"]


class TradingState(StrEnum):
    """What the risk engine lets through."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def severity(self) -> int:
        """Return 0 (active), 1 (reducing) or 2 (halted)."""
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class TradingStateChanged(NamedTuple):
    """The risk engine's trading state changed (a guard tripped, a cooldown ended, a user).

    Attributes:
        previous: State before.
        state: State after.
        reason: Who or what changed it, with the numbers (e.g. the drawdown that tripped).
        ts_event: When it changed (ns UTC; the bar close or fill time that caused it).
    """

    previous: TradingState
    state: TradingState
    reason: str
    ts_event: int
    ts_init: int
