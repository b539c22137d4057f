"""The wallet's caps on what the live venue sends: never more than the account holds.

In: an order about to be sent (or a modification's new terms), the exchange's balances and
positions through the order manager. Out: the quantity to send and, when nothing can be
sent, why, and why a cut one was cut (`Cap`); and what an exchange fill moved in the wallet
(`kernel_fill`: a fee in the base asset). Split from `engine.runtime.live.venue`, whose
module docstring states the rules (sells cut to the free base asset, buys to what the free
quote pays with the fee, the backtest's cash-account cap; perpetuals reduce-only against
the exchange's position). A spot order cut below the instrument's minimum quantity or
notional is refused rather than sent (audit F6: a buy cut to 1e-05 BTC, 0.19 USDT, went out
and the exchange refused it, -1013 NOTIONAL, though the node knew min_notional = 10).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from engine.execution.caps import affordable_quantity
from engine.execution.models import FeeModel
from engine.model import Instrument, OrderRequested, OrderSide, OrderType
from engine.runtime.live.ledger import LiveFill, LiveOrder
from engine.runtime.live.orders import OrderManager

__all__ = ["Cap", "Wallet", "kernel_fill"]


class Cap(NamedTuple):
    """What `Wallet.cap` lets an order send: ``quantity`` (0 with ``refused`` saying why),
    whether it goes ``reduce_only``, and ``cut``: why ``quantity`` is below the order's
    ("" when it is not)."""

    quantity: float
    reduce_only: bool
    refused: str = ""
    cut: str = ""


class Wallet:
    """The caps of one account's orders (see the module docstring)."""

    def __init__(
        self,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        fees: FeeModel,
        cash_shortfall: str,
    ) -> None:
        """Read the account through ``manager``; price buys with ``fees``."""
        self.manager = manager
        self.instruments = instruments
        self.fees = fees
        self.cash_shortfall = cash_shortfall

    def cap(self, order: OrderRequested, perpetual: bool, stop: float | None, last: float) -> Cap:
        """Return what ``order`` may send: a perpetual's against the position (`reducing`),
        a sell's against the free base (`sellable`), a buy's against the free quote
        (`payable`; ``stop``: the stop price it is sent with). A spot order cut below the
        instrument's minimum quantity or notional (at its limit, stop, the ask a buy would
        reach, or ``last``, the last price seen) is refused: the exchange would refuse it."""
        if perpetual:
            quantity, reduce_only, refused = self.reducing(order)
            cut = quantity < order.quantity and not refused
            why = f"the {order.symbol} position at the exchange is {quantity:.10g}" if cut else ""
            return Cap(quantity, reduce_only, refused, why)
        if order.side is OrderSide.SELL:
            base = order.symbol.partition("/")[0]
            quantity, free = self.sellable(order)
            if quantity <= 0:
                return Cap(0.0, False, f"the wallet holds no {base} to sell")
            why = f"the wallet has {free:.10g} {base} free"
            price: float | None = order.limit_price or stop or last
        else:
            quantity, why, price = self.payable(order, stop)
            if quantity <= 0:
                return Cap(0.0, False, why)
        if quantity >= order.quantity:
            return Cap(quantity, False)
        small = self._below_minimum(order.symbol, quantity, price)
        if small:
            return Cap(0.0, False, f"{why}: cut to {quantity:.10g}, {small}; nothing sent")
        return Cap(quantity, False, "", why)

    def _below_minimum(self, symbol: str, quantity: float, price: float | None) -> str:
        """Return how ``quantity`` of ``symbol`` at ``price`` falls below the instrument's
        minimum quantity or notional ("" if it does not)."""
        instrument = self.instruments[symbol]
        if quantity < instrument.min_quantity:
            return f"below the minimum quantity {instrument.min_quantity:g} of {symbol}"
        if price is None or not math.isfinite(price):
            return ""  # nothing to value it at: the exchange decides
        if quantity * price < instrument.min_notional:
            return (
                f"worth {quantity * price:.2f} {instrument.quote_currency} at {price:.10g}, "
                f"below the minimum notional {instrument.min_notional:g} of {symbol}"
            )
        return ""

    def reducing(self, order: OrderRequested) -> tuple[float, bool, str]:
        """Return a perpetual order's quantity, whether it is sent reduce-only, and why it
        is refused ("" if it is not): see the module docstring."""
        held = self.manager.exchange.positions([order.symbol])[order.symbol].quantity
        buying = order.side is OrderSide.BUY
        closing = held != 0.0 and (held > 0) != buying
        if order.reduce_only:
            if not closing:
                side = str(order.side).lower()
                return (
                    0.0,
                    True,
                    (
                        f"a reduce-only {side} has nothing to reduce: the {order.symbol} "
                        f"position at the exchange is {held:.10g}"
                    ),
                )
            return min(order.quantity, abs(held)), True, ""
        return order.quantity, closing and order.quantity <= abs(held) * (1 + 1e-9), ""

    def locking_exits(
        self, order: OrderRequested, orders: Mapping[str, OrderRequested], working: Iterable[str]
    ) -> list[str]:
        """Return the engine's own exits (``[risk.exits]``: strategy id ``"<strategy>.exits"``)
        among ``working`` (engine order ids; ``orders``: their requests) to cancel before the
        spot market sell ``order``, when they lock coins it needs.

        Binance locks a sell's coins at placement, so the exits of a position would leave
        the strategy's own sale of it nothing to sell; the backtest sells, then the risk
        engine cancels the exits of the closed (or reduced, then re-placed) position. A
        market sell fills at once, so canceling first leaves the position unprotected only
        for that moment; other sells (a resting limit) keep the exits and are cut instead.
        """
        if order.order_type not in (OrderType.MARKET, OrderType.MARKET_ON_OPEN):
            return []
        base = order.symbol.partition("/")[0]
        if order.quantity <= self.manager.exchange.balances().get(base, (0.0, 0.0))[0]:
            return []
        exits = [orders[i] for i in working if i in orders]
        return [o.order_id for o in exits if o.symbol == order.symbol
                and o.side is OrderSide.SELL and o.strategy_id.endswith(".exits")]  # fmt: skip

    def sellable(self, order: OrderRequested) -> tuple[float, float]:
        """Return the part of a sell the wallet's free base holds (floored to the lot), and
        that free base."""
        base = order.symbol.partition("/")[0]
        free = self.manager.exchange.balances().get(base, (0.0, 0.0))[0]
        if order.quantity <= free:
            return order.quantity, free
        lot = self.instruments[order.symbol].lot_size
        return round(math.floor(free / lot + 1e-9) * lot, 12), free

    def payable(self, order: OrderRequested, stop: float | None) -> tuple[float, str, float | None]:
        """Return the part of a buy the wallet's free quote pays, why it is less than the
        order (a cut: what the wallet has; 0: why it is refused; "" when all of it), and
        the price it was valued at (None: no asks to price it).

        See the module docstring: the backtest's cash-account cap, at the limit price or
        at the ask the market order would reach in the book now.
        """
        instrument = self.instruments[order.symbol]
        exchange = self.manager.exchange
        if order.limit_price is not None:  # a limit or stop-limit: locked at its limit
            price: float | None = order.limit_price
        elif stop is not None:  # a stop-market: locked at its stop
            price = order.stop_price
        else:
            price = exchange.book_price(order.symbol, order.quantity, "asks")
        if price is None:
            return order.quantity, "", None  # no asks to price it: the exchange decides
        quote = instrument.quote_currency
        free = exchange.balances().get(quote, (0.0, 0.0))[0]
        # the taker rate: a limit buy may fill at once, and the reserve should cover it
        affordable = affordable_quantity(
            instrument, self.fees, order.quantity, price, "taker", cash=free, position=0.0
        )
        if affordable >= order.quantity:
            return order.quantity, "", price
        if affordable > 0 and self.cash_shortfall == "reduce":
            return affordable, f"the wallet has {free:.2f} {quote} free", price
        cost = order.quantity * price + self.fees.fee(order.quantity, price, "taker")
        reason = (
            f"insufficient cash: {order.quantity:.10g} {order.symbol} at {price:.10g} costs "
            f"{cost:.2f} with the fee, the wallet has {free:.2f} {quote} free"
        )
        if affordable > 0:
            reason += ' (execution.cash_shortfall = "cancel")'
        return 0.0, reason, price

    def refit(self, new: OrderRequested, leaves: float, current: LiveOrder) -> str:
        """Return why the wallet cannot hold ``new``'s remaining ``leaves`` once the open
        exchange order ``current`` is canceled (what it locks is freed), "" if it can."""
        buy = new.side is OrderSide.BUY
        limit = new.limit_price
        held = current.quantity - current.filled_quantity  # what the old order locks
        balances = self.manager.exchange.balances()
        if not buy:
            free = balances.get(new.symbol.partition("/")[0], (0.0, 0.0))[0] + held
            if leaves > free * (1 + 1e-9):
                return f"the wallet holds {free:.10g} to sell, the order would sell {leaves:.10g}"
            return ""
        price = limit if limit is not None else new.stop_price
        old = current.limit_price or current.stop_price
        if price is None or old is None:
            return ""
        rate = self.fees.fee(1.0, 1.0, "taker")
        free = balances.get(self.instruments[new.symbol].quote_currency, (0.0, 0.0))[0]
        cash = free + held * old * (1 + rate)
        if leaves * price * (1 + rate) > cash * (1 + 1e-9):
            return f"insufficient cash: {leaves:.10g} at {price:.10g} with the fee > {cash:.2f}"
        return ""


def kernel_fill(fill: LiveFill, instrument: Instrument) -> tuple[float, float, float]:
    """Return the kernel's ``(quantity, fee in quote, base fee held)`` of an exchange fill.

    A buy whose fee is in the base asset receives less than it bought; a sell gives up the
    fee on top of what it sold. Either way the quantity is what the wallet's base moved
    by, the fee is valued at the fill's price, and ``held`` (the fee, signed: > 0 on a
    buy, < 0 on a sell) is what the order's quantity changes by so that it still ends
    FILLED. A fee in a third asset (BNB) is not converted: 0 (see the module docstring).
    """
    base = fill.symbol.partition("/")[0]
    if fill.fee_asset == base and fill.fee:
        held = fill.fee if fill.side == "buy" else -fill.fee
        return fill.quantity - held, fill.fee * fill.price, held
    if fill.fee_asset != instrument.quote_currency:
        return fill.quantity, 0.0, 0.0
    return fill.quantity, fill.fee, 0.0
