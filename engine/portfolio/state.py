"""A frozen view of the account at the end of a run: cash, positions, fees, cash flows.

In: a `Portfolio` (or `FxPortfolio`) after its last event (`AccountState.of`). Out: plain
immutable values a finished run hands out (``BacktestResult.portfolio``) instead of the
live portfolio, so that reading a result can neither change it nor keep the kernel alive.
All amounts are in the account currency except ``average_price`` (quote currency).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from engine.portfolio.fx import FxPosition
from engine.portfolio.portfolio import Portfolio, Position

__all__ = ["AccountState", "PositionState"]


@dataclass(frozen=True, slots=True)
class PositionState:
    """One symbol's holding at the end (``quantity`` signed: > 0 long, < 0 short).

    ``average_cost`` is the cost basis per unit in the account currency: the
    quantity-weighted mean of fill price × rate (`engine.portfolio.fx`); without fx it
    equals ``average_price``.
    """

    symbol: str
    quantity: float
    average_price: float
    average_cost: float
    realized_pnl: float
    fees: float
    cash_flows: float

    @classmethod
    def of(cls, position: Position) -> PositionState:
        """Return the state of ``position`` now."""
        cost = position.average_cost if isinstance(position, FxPosition) else None
        return cls(
            position.symbol,
            position.quantity,
            position.average_price,
            position.average_price if cost is None else cost,
            position.realized_pnl,
            position.fees,
            position.cash_flows,
        )

    def unrealized_pnl(self, last_price: float, rate: float = 1.0) -> float:
        """Return ``quantity × (last_price × rate − average_cost)`` (account currency)."""
        return self.quantity * (last_price * rate - self.average_cost) if self.quantity else 0.0


@dataclass(frozen=True, slots=True)
class AccountState:
    """The account at the end of a run.

    ``equity`` is cash plus every open position at its last price (at the rate as of the
    last event for a foreign quote), as `Portfolio.equity` said after the last event.
    """

    initial_cash: float
    cash: float
    equity: float
    fees_paid: float
    cash_flows: float  # Σ borrow fees and funding, signed (< 0: paid)
    positions: Mapping[str, PositionState]  # every symbol of the run, flat ones included

    @classmethod
    def of(cls, portfolio: Portfolio) -> AccountState:
        """Return the state of ``portfolio`` now."""
        positions = {s: PositionState.of(p) for s, p in portfolio.positions.items()}
        return cls(
            portfolio.initial_cash,
            portfolio.cash,
            portfolio.equity(),
            portfolio.fees_paid,
            portfolio.cash_flows,
            MappingProxyType(positions),
        )

    def position_quantity(self, symbol: str) -> float:
        """Return the signed quantity held in ``symbol`` at the end."""
        return self.positions[symbol].quantity

    def open_positions(self) -> dict[str, PositionState]:
        """Return the positions not flat at the end, by symbol."""
        return {s: p for s, p in self.positions.items() if p.quantity}
