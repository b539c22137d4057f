"""The rules of a modification's new terms, shared by the simulated broker and the live venue.

In: a working order, what it filled, its instrument and the new quantity, limit price and
stop price asked for (None: unchanged). Out: the order with the new terms on the grids, or
why they are refused (`engine.execution.broker.SimulatedBroker.modify`,
`engine.runtime.live.modify`).
"""

from __future__ import annotations

import math

from engine.model import Instrument, OrderRequested, OrderSide, OrderType

__all__ = ["amend_terms"]

_STOPS = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


def amend_terms(
    order: OrderRequested,
    filled: float,
    instrument: Instrument,
    quantity: float | None,
    limit_price: float | None,
    stop_price: float | None,
) -> tuple[OrderRequested, str]:
    """Return ``order`` with the new terms, or ``order`` and why they are refused.

    The new quantity must exceed ``filled`` (what the order filled), also once on the lot
    grid; prices must be positive; only an order with a limit (stop) price can change it.
    New prices go on the tick grid passively, as on submission
    (`Instrument.round_order_price`): a buy limit down, a buy stop up, and so on.
    """
    new_quantity = order.quantity if quantity is None else quantity
    problem = ""
    if not (math.isfinite(new_quantity) and new_quantity > filled):
        problem = f"quantity {new_quantity:g} must exceed the filled {filled:g}"
    elif instrument.round_quantity(new_quantity) <= filled:
        problem = (
            f"quantity {new_quantity:g} rounds to {instrument.round_quantity(new_quantity):g}"
            f" at lot size {instrument.lot_size:g}, which must exceed the filled {filled:g}"
        )
    for name, value in (("limit_price", limit_price), ("stop_price", stop_price)):
        if value is not None and not (math.isfinite(value) and value > 0):
            problem = f"{name} must be a positive number, got {value}"
    if limit_price is not None and order.limit_price is None:
        problem = f"a {order.order_type} order has no limit price to modify"
    if stop_price is not None and order.order_type not in _STOPS:
        problem = f"a {order.order_type} order has no stop price to modify"
    if problem:
        return order, problem
    buy = order.side is OrderSide.BUY
    return order._replace(
        quantity=instrument.round_quantity(new_quantity),
        limit_price=order.limit_price
        if limit_price is None
        else instrument.round_order_price(limit_price, buy, stop=False),
        stop_price=order.stop_price
        if stop_price is None
        else instrument.round_order_price(stop_price, buy, stop=True),
    ), ""
