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

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

from engine.execution.models import FeeModel
from engine.model import Instrument

__all__ = ["FillAt", "equity_at_fill", "quantity_at_fill", "target_quantity"]


class FillAt(NamedTuple):
    """The fill a target is resolved at."""

    symbol: str
    price: float  # after slippage, quote currency
    ts_ns: int  # the fill's ts_event: rates are taken as of it
    liquidity: str  # "taker" or "maker", for the fee model


def quantity_at_fill(
    fraction: float,
    buy: bool,
    cash: float,
    positions: Mapping[str, float],
    last_prices: Mapping[str, float],
    fx: Callable[[str, int], float] | None,
    fill: FillAt,
    fee_model: FeeModel,
    instrument: Instrument,
) -> tuple[float, str]:
    """Return ``(quantity to fill, "")``, or ``(0, reason)`` when there is nothing to fill.

    ``cash`` and ``positions`` include fills the portfolio has not applied yet; see the
    module docstring for the rule and `equity_at_fill` / `target_quantity` for the parts.
    """
    symbol, price = fill.symbol, fill.price
    rate = 1.0 if fx is None else fx(symbol, fill.ts_ns)
    held = positions.get(symbol, 0.0)
    equity = equity_at_fill(cash, positions, last_prices, fx, symbol, price, fill.ts_ns)
    target = target_quantity(
        fraction,
        equity,
        price,
        rate,
        fee_model.sizing_rate,
        instrument,
        held,
        lambda quantity: fee_model.fee(quantity, price, fill.liquidity, fill.ts_ns),
    )
    wanted = target - held if buy else held - target  # the order's side is kept
    wanted = instrument.round_quantity(wanted) if wanted > 0 else 0.0
    if wanted <= 0 or wanted < instrument.min_quantity:
        return 0.0, (
            f"target reached at fill: {fraction:g} of equity {equity:.2f} at {price:g} "
            f"is {target:g}, the position is {held:g}"
        )
    return wanted, ""


def equity_at_fill(
    cash: float,
    positions: Mapping[str, float],
    last_prices: Mapping[str, float],
    fx: Callable[[str, int], float] | None,
    symbol: str,
    price: float,
    ts_ns: int,
) -> float:
    """Return the account's equity at a fill of ``symbol`` at ``price`` (account currency).

    Args:
        cash: Cash, fills not yet applied by the portfolio included (account currency).
        positions: Signed quantity per symbol, likewise including unapplied fills.
        last_prices: Last close per symbol (quote currency): the mark of the other symbols.
        fx: ``fx(symbol, ts_ns)``: quote-to-account rate as of ``ts_ns`` (None: all 1.0).
        symbol: The symbol being filled; its position is marked at ``price``.
        price: The fill price after slippage (quote currency).
        ts_ns: The fill's time; every rate is taken as of it.
    """
    equity = cash
    for other, quantity in positions.items():
        if not quantity:
            continue
        mark = price if other == symbol else last_prices.get(other, math.nan)
        equity += quantity * mark * (1.0 if fx is None else fx(other, ts_ns))
    return equity


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
