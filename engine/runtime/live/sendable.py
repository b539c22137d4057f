"""Which kernel orders the live venue can send as a backtest would run them.

In: an `OrderRequested`, the last price the node saw of its symbol and whether the symbol
is a perpetual. Out: "" if `engine.runtime.live.venue.LiveVenue` sends it, else the reason
it is rejected with (the strategy hears `OrderRejected` with it). The venue's module
docstring and the README's "Live trading" say why each kind is or is not sent.

Sent: market, limit, stop, stop-limit and trailing stop orders; market-on-open as a
market order (sent after a bar closed, it fills at the next bar's open, where the
backtest fills it); post-only limits (GTC, DAY, GTD) as Binance's LIMIT_MAKER, on a
USDⓈ-M perpetual as a LIMIT with time in force GTX (what ccxt sends for ``postOnly`` on a
swap market; one the last price is already through is rejected here, as the backtest's
broker rejects it; the exchange refuses one only its newer price is through, -2010 on spot,
-5022 on USDⓈ-M, with the same outcome); GTC,
IOC and FOK as themselves; DAY and GTD as GTC that the node cancels at their expiry
(`engine.runtime.live.expiry`: Binance spot has no GTD). ``post_only`` on another kind is
ignored, as the backtest's broker ignores it.

Not sent: market-on-close. The backtest fills it at the close of the first bar after it
was decided; the node acts when a bar has closed, so a market order it sends then fills at
the next bar's open — one bar later, at another price. A faithful one needs an order placed
just before a bar closes, which a bar-driven node cannot time.

On perpetuals, stop and stop-limit orders go as Binance USDⓈ-M conditional orders through
its algo order API (`engine.adapters.ccxt.algo`: ``POST /fapi/v1/algoOrder``, type
STOP_MARKET or STOP, ``reduceOnly`` when they close the position); trailing stops as the
node-managed chain of such stops (`engine.runtime.live.trailing`); OCO groups (a stop and
a limit) as two reduce-only orders the node pairs, cancelling the other once one traded
(`engine.runtime.live.pairs`: USDⓈ-M has no order list).
"""

from __future__ import annotations

import math

from engine.adapters.ccxt.venue import OrderSpec
from engine.model import OrderRequested, OrderSide, OrderType, TimeInForce, limit_marketable

__all__ = ["SENT", "SENT_TIF", "order_spec", "stop_to_send", "takes", "unsupported"]

#: time in force -> Binance's name, for the ones sent (DAY and GTD: GTC the node expires)
SENT_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
            TimeInForce.DAY: "DAY", TimeInForce.GTD: "GTD"}  # fmt: skip
#: order types sent (a trailing stop as node-managed exchange stops: `.trailing`)
SENT = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT,
        OrderType.TRAILING_STOP, OrderType.MARKET_ON_OPEN)  # fmt: skip


def unsupported(order: OrderRequested, last: float, perpetual: bool = False) -> str:
    """Return why ``order`` cannot be sent live as it would run in a backtest ("" if it can).

    ``last``: the last price the node saw (a trailing stop without a stop starts there; a
    post-only limit it is through would take).
    ``perpetual``: the symbol is a USDⓈ-M perpetual (stops go as algo orders, OCO groups
    as node-managed pairs).
    """
    kind = order.order_type
    if kind not in SENT:
        return (
            "live trading sends market, market-on-open, limit, stop, stop-limit and trailing "
            f"stop orders only, not {kind} (see engine.runtime.live.sendable)"
        )
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and order.stop_price is None:
        return f"a {kind} order needs a stop price"
    if kind is OrderType.TRAILING_STOP:
        if not (order.trailing_offset or 0.0) > 0:
            return "a trailing stop needs a positive trailing_offset"
        if order.stop_price is None and not math.isfinite(last):
            return "a trailing stop needs a last price to start from"
    if order.time_in_force not in SENT_TIF:
        return f"live trading does not send {order.time_in_force} orders"
    if order.time_in_force is TimeInForce.GTD and order.expire_time_ns is None:
        return "a GTD order needs an expire_time_ns"
    if order.post_only and kind is OrderType.LIMIT:  # other kinds ignore it, as backtests do
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            return f"a post-only order rests: it cannot be {order.time_in_force}"
        taking = takes(order, last)
        if taking:
            return taking
    if order.reduce_only and order.side is OrderSide.BUY and not perpetual:
        return "a reduce-only buy has nothing to reduce on a spot account (no shorts)"
    return ""


def takes(order: OrderRequested, last: float) -> str:
    """Return why post-only limit ``order`` would take at ``last`` ("" if it rests)."""
    limit = order.limit_price
    if not order.post_only or limit is None or not math.isfinite(last):
        return ""
    if limit_marketable(order.side, limit, last):  # the backtest's rule, one definition
        return f"post-only limit {limit:g} would take liquidity at the last price {last:g}"
    return ""


def stop_to_send(order: OrderRequested, last: float | None) -> float | None:
    """Return the stop price of ``order`` to send, None for no stop: also for a stop the
    last price seen is already through (sent as its market or limit order; see
    `engine.runtime.live.venue`)."""
    stop = order.stop_price
    if order.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT) or stop is None:
        return None
    if last is None or not math.isfinite(last):
        return stop
    through = last >= stop if order.side is OrderSide.BUY else last <= stop
    return None if through else stop


def order_spec(
    order: OrderRequested,
    quantity: float,
    expires: int | None,
    reduce_only: bool,
    stop: float | None,
) -> OrderSpec:
    """Return the exchange order of ``order`` for ``quantity`` (``stop``: `stop_to_send`'s;
    ``expires``: a DAY or GTD order's expiry, ns): a market-on-open goes as a market."""
    limit = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    return OrderSpec(
        client_id="",
        symbol=order.symbol,
        side=str(order.side).lower(),
        order_type="limit" if limit else "market",  # market-on-open too
        quantity=quantity,
        price=order.limit_price if limit else None,
        tif=SENT_TIF[order.time_in_force],
        stop_price=stop,
        reduce_only=reduce_only,
        post_only=order.post_only and order.order_type is OrderType.LIMIT,
        expire_ns=expires,
    )
