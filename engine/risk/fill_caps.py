"""The [risk] limits applied again to a quantity sized at the fill (``target_sizing = "fill"``).

In: the order risk approved (its provisional quantity), the fill price (quote currency),
the quantity the target asks for there, the symbol's position at the fill, the risk
state and checks. Out: the largest quantity the quantity, notional and position limits
(``max_order_quantity``, ``max_order_notional``, ``max_position_quantity``,
``max_position_notional``, ``max_position_pct``) allow, on the lot grid, and the sentence
why the target was capped ("" when it was not). `RiskEngine.fill_cap` calls it; the
broker's fill sizing (`engine.execution.fills`) applies it before it fills.

Why: risk checks the provisional quantity at the decision close; the broker resized it at
the fill with no limit in sight, so an order approved at 230 under ``max_order_quantity =
230`` filled 256 with no denial or warning. Working orders count as in the checks
(`engine.risk.limits.pending_by_symbol`); the order itself is left out by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import OrderRequested
from engine.risk.checks import RiskCheck, RiskState
from engine.risk.limits import (
    OrderNotionalCheck,
    OrderQuantityCheck,
    PositionNotionalCheck,
    PositionPercentCheck,
    PositionQuantityCheck,
    pending_by_symbol,
)

__all__ = ["fill_cap"]

_TOLERANCE = 1.0 + 1e-9  # as the checks': a limit met to rounding is met


def fill_cap(
    order: OrderRequested,
    price: float,
    wanted: float,
    position: float,
    state: RiskState,
    checks: Sequence[RiskCheck],
) -> tuple[float, str]:
    """Return ``(quantity, why)``: ``wanted`` capped at the limits among ``checks``."""
    value = price * state.rate(order.symbol)  # one unit, account currency
    sign = order.side.sign
    pending = pending_by_symbol(state, side=order.side).get(order.symbol, 0.0)
    before = sign * (position + pending)

    def room(limit_quantity: float) -> float:
        # |before + q| <= limit; a reducing order may always go to the same size beyond 0
        return max(limit_quantity - before, -2.0 * before)

    caps: list[tuple[float, str]] = []
    for check in checks:
        if isinstance(check, OrderQuantityCheck):
            caps.append((check.limit, f"max_order_quantity {check.limit:g}"))
        elif isinstance(check, PositionQuantityCheck):
            caps.append((room(check.limit), f"max_position_quantity {check.limit:g}"))
        elif value > 0 and isinstance(check, OrderNotionalCheck):
            caps.append((check.limit / value, f"max_order_notional {check.limit:.2f}"))
        elif value > 0 and isinstance(check, PositionNotionalCheck):
            caps.append((room(check.limit / value), f"max_position_notional {check.limit:.2f}"))
        elif value > 0 and isinstance(check, PositionPercentCheck):
            equity = max(state.portfolio.equity(), 0.0)
            limit = equity * check.limit_pct / 100.0
            caps.append(
                (room(limit / value), f"max_position_pct {check.limit_pct:g}% of {equity:.2f}")
            )
    if not caps:
        return wanted, ""
    cap, name = min(caps, key=lambda item: item[0])
    if wanted <= cap * _TOLERANCE:
        return wanted, ""
    instrument = state.instrument
    quantity = max(instrument.round_quantity(cap * _TOLERANCE), 0.0)
    why = (
        f"target_sizing fill: the target {wanted:g} at {price:g} is capped at {quantity:g} "
        f"by {name}"
    )
    if quantity < instrument.min_quantity or quantity * price < instrument.min_notional:
        # what is left is an order risk would deny (`InstrumentRulesCheck`): none is sent
        return 0.0, f"{why}, below the minimum order of {order.symbol}"
    return quantity, why
