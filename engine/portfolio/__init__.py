"""Portfolio accounting: cash, positions, PnL and equity.

In: `OrderFilled` (changes cash and positions) and `Bar` (marks prices). Out:
`PositionChanged` per fill and one `EquitySnapshot` per timestamp (paper/live), a journal
of every change applied (`engine.portfolio.journal`: a backtest's equity curve is built
from it in `engine.portfolio.curve`) and, at the end of a run, a frozen `AccountState`
(`engine.portfolio.state`). Logic lives in `engine.portfolio.portfolio`; the venue's
pending-fill reservations are part of it (one ledger).
"""

from engine.portfolio.portfolio import Portfolio, Position

__all__ = ["Portfolio", "Position"]
