"""Risk facts, re-exported from `engine.model` where every event now lives.

`TradingState` (an enum, in `engine.model.enums`) and `TradingStateChanged` (in
`engine.model.events`) moved to `engine.model` (issue 12: one home for events). This module
keeps the old import path working for code written against it, and for branches in flight
when the move landed; import from `engine.model`.
"""

from engine.model.enums import TradingState
from engine.model.events import TradingStateChanged

__all__ = ["TradingState", "TradingStateChanged"]
