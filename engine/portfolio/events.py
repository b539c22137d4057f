"""Account facts, re-exported from `engine.model.events` where every event now lives.

`CashAdjusted`, `MarginCalled` and `AccountLiquidated` moved to `engine.model` (issue 12:
one home for events). This module keeps the old import path working for code written
against it, and for branches in flight when the move landed; import from `engine.model`.
"""

from engine.model.events import AccountLiquidated, CashAdjusted, MarginCalled

__all__ = ["AccountLiquidated", "CashAdjusted", "MarginCalled"]
