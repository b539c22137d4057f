"""Sizing at the fill: a target fraction of equity turned into a quantity when the order fills.

``execution.target_sizing = "fill"`` makes `Context.order_target_percent` send a market
order whose quantity is only provisional (sized at the last close, as with ``"close"``, so
risk checks something sensible when the order is requested). When the broker fills it, it
replaces that quantity by the one the fraction gives at that moment:

- ``price`` is the fill price after slippage (quote currency) and ``rate`` the quote-to-
  account rate as of the fill (1.0 without FX);
- ``equity`` = cash + Σ positions, the filled symbol marked at the fill price, every other
  symbol at its last close (account currency; fills not yet applied by the portfolio count);
- target = ``fraction × equity / (price × rate × (1 + fee))``, rounded toward zero to the
  lot, where ``fee`` is the fee model's ``sizing_rate`` (0.001 for a 0.1% fee), so the
  target and its fee are affordable: ``target × price × (1 + fee) ≤ equity``; a fee model
  whose real fee exceeds that reserve (per-unit fees, minimums) shrinks the target until
  the position plus the fee of this fill fit in ``|fraction| × equity`` — all-in
  (1.0) from flat buys ``floor(cash / (open × 1.001))`` whole shares at a 0.1% fee, as
  backtesting.py, backtrader, vectorbt, NautilusTrader and zipline do;
- the order fills ``target − position`` in its own direction. The side decided at the
  close is kept: when the price moved so that the position already reaches the target,
  nothing is filled and the order is canceled (reason ``target reached at fill``).

Only `Context.order_target_percent` is sized this way (a fraction of equity is what
changes with the price); ``order_target_value``, ``order_target_quantity``, sizers and
plain orders keep the quantity they were sent with. The request is registered with the
broker while it still waits on the bus, so it is known before the order can fill (also
under ``market_fill = "same_close"``).

The broker publishes `OrderModified` with the resolved quantity before the fill, so
orders.csv and ``on_order_updated`` show it. The cash-account cap (``cash_shortfall``)
still applies after the resize. Working orders other than this one are not counted at the
fill (the context already counted them when it sized the provisional order).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model import Instrument

__all__ = ["target_quantity"]


def target_quantity(
    fraction: float,
    equity: float,
    price: float,
    rate: float,
    fee_rate: float,
    instrument: Instrument,
    held: float = 0.0,
    fee: Callable[[float], float] | None = None,
) -> float:
    """Return the signed position ``fraction`` of ``equity`` buys at ``price``, fee included.

    Args:
        fraction: Target as a fraction of equity (1.0 = 100% long, -0.5 = 50% short).
        equity: Account value at the fill, account currency.
        price: Fill price after slippage, quote currency per unit.
        rate: Quote-to-account conversion rate at the fill (1.0 without FX).
        fee_rate: Fee to reserve, a fraction of notional (the fee model's ``sizing_rate``).
        instrument: Gives the lot size the quantity is rounded to (toward zero).
        held: The position before the fill (signed units); only the fee of the traded
            difference is checked.
        fee: ``fee(quantity)``: the fee model's fee in quote currency for trading
            ``quantity`` at ``price``. When the reserve ``fee_rate`` falls short of it (a
            per-unit fee, a minimum), the target shrinks until ``|target| × price × rate
            + fee(|target − held|) × rate ≤ |fraction| × equity``.
    """
    unit_cost = price * rate * (1.0 + fee_rate)
    if not (unit_cost > 0.0 and equity > 0.0):
        return 0.0
    target = instrument.round_quantity(fraction * equity / unit_cost)
    if fee is None:
        return target
    budget = abs(fraction) * equity
    sign = 1.0 if fraction > 0 else -1.0
    for _ in range(8):  # the fee of a smaller trade is no larger: a few steps settle it
        charged = fee(abs(target - held)) if target != held else 0.0
        # a relative allowance of 1e-12: float noise must not cost a whole lot
        if target == 0 or (abs(target) * price + charged) * rate <= budget * (1 + 1e-12):
            break
        smaller = instrument.round_quantity(sign * max(budget / rate - charged, 0.0) / price)
        target = smaller if abs(smaller) < abs(target) else target - sign * instrument.lot_size
    return target
