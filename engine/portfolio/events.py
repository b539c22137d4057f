"""Account facts: cash flows that are not fills, margin calls and liquidations.

Past tense, immutable named tuples with ``ts_event``/``ts_init`` like every event in
`engine.model.events`; they live beside the portfolio because only the account produces
them. Amounts are in the account currency.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["AccountLiquidated", "CashAdjusted", "MarginCalled"]


class CashAdjusted(NamedTuple):
    """Cash changed without a fill: a borrow fee or a funding payment.

    Attributes:
        symbol: The position the flow belongs to.
        amount: Signed change of cash (< 0: the account paid, > 0: it received).
        reason: ``"borrow_fee"`` or ``"funding"``.
        ts_event: When it was due at the source (funding time, or the UTC midnight that
            closed the last borrow day).
        ts_init: Simulated time at which the portfolio applied it (the bar close being
            processed); the equity curve counts it from that snapshot on.
    """

    symbol: str
    amount: float
    reason: str
    ts_event: int
    ts_init: int


class MarginCalled(NamedTuple):
    """At a bar close, equity fell below the maintenance margin: liquidation follows.

    Attributes:
        equity: Cash plus positions marked at their last closes.
        maintenance_margin: ``account.maintenance_margin × gross_exposure``.
        gross_exposure: Σ |quantity × last close|.
    """

    equity: float
    maintenance_margin: float
    gross_exposure: float
    ts_event: int
    ts_init: int


class AccountLiquidated(NamedTuple):
    """Every liquidation order of a margin call has ended (filled, canceled or denied).

    Attributes:
        symbols: The symbols whose positions were ordered closed.
        equity: Equity once the last liquidation order ended.
    """

    symbols: tuple[str, ...]
    equity: float
    ts_event: int
    ts_init: int
