"""The cash-account cap of a buy: how much of it the cash pays for, fee included.

A pure function of the account's cash, the position and the fill, so that it can be read
(and tested) apart from the broker, which calls it on every buy of a cash account.
"""

from __future__ import annotations

from engine.execution.models import FeeModel
from engine.model import Instrument

__all__ = ["affordable_quantity"]


def affordable_quantity(
    instrument: Instrument,
    fees: FeeModel,
    quantity: float,
    price: float,
    liquidity: str,
    *,
    cash: float,
    position: float,
    fx: float = 1.0,
    at_ns: int | None = None,
) -> float:
    """Return how much of a buy of ``quantity`` at ``price`` the cash can pay for.

    The cost of ``q`` units is ``(q × price + fee(q)) × fx``, with the fee the configured
    model charges for exactly that fill (its ``liquidity``, the tier it falls in, a
    minimum or a maximum) rather than an estimate, so paying it never takes ``cash``
    below zero. The part that buys back a short (``position`` < 0) is always allowed; the
    rest must be paid for, in whole lots and at least ``min_quantity``. Fee models never
    charge less for more, so the largest affordable number of lots is found by bisection,
    which runs only when the cash does not cover the whole fill.

    Args:
        instrument: Lot size and minimum quantity of the symbol.
        fees: The run's fee model (quote currency per fill).
        quantity: Quantity to buy, instrument units on the lot grid.
        price: Fill price, quote currency (after slippage).
        liquidity: ``"maker"`` or ``"taker"``: which fee rate applies.
        cash: Cash available, account currency (fills not yet settled included).
        position: Signed position before the fill (fills not yet settled included).
        fx: Account currency per unit of quote currency at the fill's time.
        at_ns: The fill's time, for a fee model whose rate depends on it (None: now).
    """
    cover = min(quantity, max(-position, 0.0))
    if cover >= quantity:
        return quantity
    if (quantity * price + fees.fee(quantity, price, liquidity, at_ns)) * fx <= cash:
        return quantity if cover or quantity >= instrument.min_quantity else 0.0
    lot = instrument.lot_size
    low, high = 0, int((quantity - cover) / lot + 1e-9)  # lots beyond the cover; 0 fits
    while low < high:
        middle = (low + high + 1) // 2
        total = cover + instrument.round_quantity(middle * lot)
        if (total * price + fees.fee(total, price, liquidity, at_ns)) * fx <= cash:
            low = middle
        else:
            high = middle - 1
    extra = instrument.round_quantity(low * lot)
    if extra < instrument.min_quantity:
        extra = 0.0
    return min(quantity, cover + extra)
