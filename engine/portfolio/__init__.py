"""Portfolio accounting: cash, positions, PnL and equity.

In: `OrderFilled` (changes cash and positions) and `Bar` (marks prices). Out:
`PositionChanged` per fill and one `EquitySnapshot` per timestamp. Logic lives in
`engine.portfolio.portfolio`.
"""

from engine.portfolio.portfolio import Portfolio, Position

__all__ = ["Portfolio", "Position"]
