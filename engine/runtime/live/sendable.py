"""Which kernel orders the live venue can send as a backtest would run them.

In: an `OrderRequested`, the last price the node saw of its symbol and whether the symbol
is a perpetual. Out: "" if `engine.runtime.live.venue.LiveVenue` sends it, else the reason
it is rejected with (the strategy hears `OrderRejected` with it). The venue's module
docstring and the README's "Live trading" say why each kind is or is not sent.
"""

from __future__ import annotations

import math

from engine.model import OrderRequested, OrderSide, OrderType, TimeInForce

__all__ = ["SENT", "SENT_TIF", "unsupported"]

#: time in force -> Binance's name, for the ones sent
SENT_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
#: order types sent (a trailing stop as node-managed exchange stops: `.trailing`)
SENT = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT,
        OrderType.TRAILING_STOP)  # fmt: skip


def unsupported(order: OrderRequested, last: float, perpetual: bool = False) -> str:
    """Return why ``order`` cannot be sent live as it would run in a backtest ("" if it can).

    ``last``: the last price the node saw (a trailing stop without a stop starts there).
    ``perpetual``: the symbol is a USDⓈ-M perpetual (no exchange-side stops there yet).
    """
    kind = order.order_type
    if kind not in SENT:
        return (
            "live trading sends market, limit, stop, stop-limit and trailing stop orders "
            f"only, not {kind}"
        )
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and order.stop_price is None:
        return f"a {kind} order needs a stop price"
    if kind is OrderType.TRAILING_STOP:
        if not (order.trailing_offset or 0.0) > 0:
            return "a trailing stop needs a positive trailing_offset"
        if order.stop_price is None and not math.isfinite(last):
            return "a trailing stop needs a last price to start from"
    if order.time_in_force not in SENT_TIF:
        return f"live trading sends GTC, IOC and FOK orders only, not {order.time_in_force}"
    if order.post_only:
        return "live trading does not send post-only orders yet"
    if perpetual and (
        kind in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP) or order.oco_group
    ):
        return (
            "stop, trailing stop and OCO orders on perpetuals are not sent yet (Binance's "
            "USDⓈ-M conditional orders go through its algo order API)"
        )
    if order.reduce_only and order.side is OrderSide.BUY and not perpetual:
        return "a reduce-only buy has nothing to reduce on a spot account (no shorts)"
    return ""
