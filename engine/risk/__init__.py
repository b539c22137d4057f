"""Risk: the gate between strategy intent and execution.

- `engine`: `RiskEngine` (validate, round to tick/lot, run checks, approve or deny).
- `checks`: the `RiskCheck` protocol and the built-in checks (instrument minimums, short
  selling, cash, leverage).
"""

from engine.risk.checks import (
    CashCheck,
    InstrumentRulesCheck,
    LeverageCheck,
    RiskCheck,
    RiskState,
    ShortSellingCheck,
    default_checks,
)
from engine.risk.engine import RiskEngine

__all__ = [
    "CashCheck",
    "InstrumentRulesCheck",
    "LeverageCheck",
    "RiskCheck",
    "RiskEngine",
    "RiskState",
    "ShortSellingCheck",
    "default_checks",
]
