"""Risk: the gate between strategy intent and execution.

- `engine`: `RiskEngine` (validate, round to tick/lot, run checks, approve or deny).
- `validity`: the ``order_validity`` check (readable enums, prices, and only the fields
  the order type takes).
- `checks`: the `RiskCheck` protocol and the built-in checks (instrument minimums, short
  selling, cash, leverage).
- `limits`: configurable limits (order size, position, exposure, open orders, rate, price
  band, direction, symbol lists, trading hours).
- `config`: the ``[risk]`` section (`RiskConfig`) and what it builds.
- `events`: `TradingState` (ACTIVE / REDUCING / HALTED) and `TradingStateChanged`.
- `guards`: `PortfolioGuard` (max drawdown, daily loss, losing streak, cooldown).
"""

from engine.model import TradingState, TradingStateChanged
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
    "TradingState",
    "TradingStateChanged",
    "default_checks",
]
