"""The local exchange's account and matching: Binance spot order semantics over the replay.

Fill rules (the same as the backtest's bar matching, `engine.execution.matching`):

* MARKET fills at once at the market price (the in-progress bar's open), which is the
  backtest's ``market_fill = "next_open"``: a client that saw bar t close and sends an
  order fills at bar t+1's open. In a gap (no bar in progress) it waits for the next open.
  No slippage model is applied: the price is the open, the fee is the configured rate.
* LIMIT that is marketable at placement (a buy at or above the market price, a sell at or
  below) fills at once at the market price, as a taker. Otherwise it rests and is checked
  against every later bar with `engine.execution.matching.limit_reached`: a bar opening
  beyond the limit fills it at the open as soon as the bar opens (a taker); a bar trading
  through the limit (or reaching it, when ``touch``) fills it at the limit when the bar
  closes (a maker) — the replay knows the range only then. The prices are the backtest's;
  the backtest stamps both at the bar's close. IOC/FOK limits that do not fill at once
  expire.
* STOP_LOSS / TAKE_PROFIT (and their ``_LIMIT`` forms) need ``stopPrice`` (-1102 without it,
  -1013 PRICE_FILTER off the tick). Binance's trigger directions: STOP_LOSS triggers a sell
  when the price falls to ``stopPrice`` and a buy when it rises to it; TAKE_PROFIT the other
  way round. One already triggered by the market price at placement is refused as Binance
  does (-2010 ``Stop price would trigger immediately.``). An untriggered stop is NEW and not
  working (``isWorking`` false) but its funds are locked at placement, as on Binance (a
  buy's at its limit, or at ``stopPrice`` for a stop-market). It triggers as the backtest's
  stops do (`engine.execution.matching.stop_reached`): a bar opening beyond ``stopPrice``
  triggers it at the open, as soon as the bar opens; a bar trading through it triggers it
  at ``stopPrice`` when the bar closes. A triggered stop-market fills at that price as a
  taker (no slippage: the open on a gap, else ``stopPrice``); a triggered stop-limit fills
  there as a taker if its limit is marketable at that price, else it rests as a limit from
  the next bar on (the backtest's rule).
* Fees: ``fee_rate``, charged by default in the quote asset on both sides (``fee_rate`` of
  the notional: one asset keeps the arithmetic equal to the backtest's). With
  ``fee_asset="received"`` they are charged as Binance charges them (without BNB): in the
  asset the trade brings in, so a buy pays ``fee_rate`` of its quantity in the base asset
  (it receives ``quantity * (1 - fee_rate)``) and a sell ``fee_rate`` of its notional in
  the quote asset.
* Balances: a buy needs ``quantity * price * (1 + fee_rate)`` free quote (a resting buy
  locks that much at its limit price; ``quantity * price`` when its fee is paid in the base
  asset), a sell needs ``quantity`` free base.
* Filters: price on the tick (PRICE_FILTER), quantity on the lot and at least the minimum
  (LOT_SIZE), notional at least the minimum (NOTIONAL) -> ``-1013 Filter failure: ...``.
* Ids: ``orderId`` counts from 1; ``clientOrderId`` is the client's ``newClientOrderId`` or
  ``local-<orderId>``. As on Binance a client id is unique among *open* orders: reusing one
  an open order (a waiting stop included) has -> ``-2010 Duplicate order sent.``; once that
  order is filled, canceled or expired the id may be used again, and a look-up or cancel
  by ``origClientOrderId`` then finds the newest order under it.
* Times: orders and trades are stamped with the replay clock (the exchange's "now").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.adapters.local.faults import Faults
from engine.adapters.local.replay import Kline, Replay
from engine.adapters.local.rules import BinanceError, off_grid, stop_price_of, triggers
from engine.execution.matching import limit_reached, stop_reached
from engine.model import Bar, Instrument, OrderSide

__all__ = ["STOP_TYPES", "BinanceError", "Order", "OrderList", "Venue", "split_symbol"]

#: Binance's spot stop order types the local exchange takes.
STOP_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_ORDER_TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER", *STOP_TYPES)


def split_symbol(instrument: Instrument) -> tuple[str, str]:
    """Return the ``(base, quote)`` assets: ``BTC/USDT`` -> ``BTC``; quote = its currency."""
    return instrument.symbol.partition("/")[0], instrument.quote_currency


def fmt(value: float) -> str:
    """Format a number as Binance does: a decimal string with 8 places."""
    return f"{value:.8f}"


@dataclass
class Order:
    """One order's state, in Binance's vocabulary."""

    order_id: int
    client_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT / STOP_LOSS[_LIMIT] / TAKE_PROFIT[_LIMIT]
    time_in_force: str
    price: float
    quantity: float
    time_ms: int
    status: str = "NEW"
    filled: float = 0.0
    quote_filled: float = 0.0
    update_ms: int = 0
    locked: float = 0.0
    partial_fraction: float = 1.0
    stop_price: float = 0.0  # 0 for market and limit orders, as Binance shows them
    armed_ms: int = 0  # a stop: 0 until triggered, then when it acts as its base order
    fills: list[dict[str, Any]] = field(default_factory=list)
    reduce_only: bool = False  # USDⓈ-M futures: may only reduce the position
    list_id: int = -1  # the order list (OCO) it is a leg of, -1 for none (Binance's value)

    @property
    def open(self) -> bool:
        """True while the order can still fill."""
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def waiting(self) -> bool:
        """True for a stop not triggered yet."""
        return self.type in STOP_TYPES and not self.armed_ms

    @property
    def as_limit(self) -> bool:
        """True for a limit, or a stop-limit triggered (it then rests as a limit)."""
        if self.type in ("LIMIT", "LIMIT_MAKER"):
            return True
        return self.type.endswith("_LIMIT") and not self.waiting

    def as_json(self) -> dict[str, Any]:
        """Return the order as Binance's GET /api/v3/order answers it."""
        return {
            "symbol": self.symbol.replace("/", ""),
            "orderId": self.order_id,
            "orderListId": self.list_id,
            "clientOrderId": self.client_id,
            "price": fmt(self.price),
            "origQty": fmt(self.quantity),
            "executedQty": fmt(self.filled),
            "cummulativeQuoteQty": fmt(self.quote_filled),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(0.0),
            "time": self.time_ms,
            "updateTime": self.update_ms or self.time_ms,
            "isWorking": not self.waiting,
            "workingTime": -1 if self.waiting else (self.armed_ms or self.time_ms),
            "origQuoteOrderQty": fmt(0.0),
            "selfTradePreventionMode": "NONE",
        }


@dataclass
class OrderList:
    """An order list (Binance's OCO): ``orders`` are its legs' ``orderId``s, below first."""

    list_id: int
    client_id: str
    symbol: str
    orders: list[int]
    time_ms: int
    done: bool = False  # ALL_DONE: a leg filled, or the list was canceled


class Venue:
    """Balances, orders and trades of the single local account, matched against a replay."""

    def __init__(
        self,
        replay: Replay,
        instruments: dict[str, Instrument],
        balances: dict[str, float],
        faults: Faults,
        fee_rate: float = 0.001,
        touch: bool = False,
        fee_in_received: bool = False,
    ) -> None:
        """Start with ``balances`` (asset -> free amount) and no orders.

        ``fee_in_received``: charge each fee in the asset the trade brings in (Binance's
        rule) instead of the quote asset (see the module).
        """
        self.replay = replay
        self.instruments = instruments
        self.free = dict(balances)
        self.locked: dict[str, float] = dict.fromkeys(balances, 0.0)
        self.faults = faults
        self.fee_rate = fee_rate
        self.touch = touch
        self.fee_in_received = fee_in_received
        self.orders: dict[int, Order] = {}
        self.by_client: dict[str, int] = {}
        self.trades: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # user-data events not yet sent
        self.lists: dict[int, OrderList] = {}  # order lists by orderListId (from 0)

    # -- lookups --------------------------------------------------------------------------

    def instrument(self, symbol_id: str) -> Instrument:
        """Return the instrument of a Binance symbol id (``BTCUSDT``) or raise -1121."""
        for symbol, instrument in self.instruments.items():
            if symbol.replace("/", "") == symbol_id:
                return instrument
        raise BinanceError(400, -1121, "Invalid symbol.")

    def find(self, symbol_id: str, order_id: str | None, client_id: str | None) -> Order:
        """Return the order by id or client id, or raise -2013 (also for injected misses)."""
        self.instrument(symbol_id)
        number = int(order_id) if order_id else self.by_client.get(client_id or "", -1)
        order = self.orders.get(number)
        if order is None or order.symbol.replace("/", "") != symbol_id:
            raise BinanceError(400, -2013, "Order does not exist.")
        if self.faults.hide_order(order.order_id):
            raise BinanceError(400, -2013, "Order does not exist.")
        return order

    def client_id_in_use(self, client_id: str) -> bool:
        """True while an open order has ``client_id`` (Binance: "unique among open orders")."""
        number = self.by_client.get(client_id)
        return number is not None and self.orders[number].open

    def balances_json(self) -> list[dict[str, Any]]:
        """Return Binance's ``balances`` list, assets sorted."""
        return [
            {"asset": a, "free": fmt(self.free[a]), "locked": fmt(self.locked.get(a, 0.0))}
            for a in sorted(self.free)
        ]

    # -- orders ---------------------------------------------------------------------------

    def create(self, params: dict[str, str]) -> Order:
        """Validate and place an order from POST /api/v3/order parameters; match it at once."""
        order, need_asset, need = self.validate(params)
        self.place(order, need_asset, need)
        if not order.waiting:
            self.match_now(order)
        return order

    def validate(
        self, params: dict[str, str], number: int | None = None
    ) -> tuple[Order, str, float]:
        """Return the order ``params`` describe (not placed), the asset it locks and how much.

        ``number``: its ``orderId`` (default: the next). Raises the `BinanceError` Binance
        answers for a bad order, a duplicate client id, a stop that would trigger at once, a
        LIMIT_MAKER that would take, or funds short.
        """
        instrument = self.instrument(params.get("symbol", ""))
        side = params.get("side", "")
        kind = params.get("type", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1102, "Mandatory parameter 'side' was not sent or invalid.")
        if kind not in _ORDER_TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        number = number or len(self.orders) + 1
        client_id = params.get("newClientOrderId") or f"local-{number}"
        if self.client_id_in_use(client_id):
            raise BinanceError(400, -2010, "Duplicate order sent.")
        if self.faults.take_reject():
            raise BinanceError(400, -2010, "Order was rejected (injected fault).")
        limit_kind = kind in ("LIMIT", "LIMIT_MAKER") or kind.endswith("_LIMIT")
        try:
            quantity = float(params.get("quantity", "nan"))
            price = float(params["price"]) if limit_kind else 0.0
        except (KeyError, ValueError):
            raise BinanceError(400, -1102, "Mandatory parameter was not sent or invalid.") from None
        stop = stop_price_of(params) if kind in STOP_TYPES else 0.0
        if not (math.isfinite(quantity) and quantity > 0):
            raise BinanceError(400, -1013, "Invalid quantity.")
        market = self.replay.markets[instrument.symbol]
        now = self.replay.now_ms
        reference = price if limit_kind else (stop or market.price(now) or 0.0)
        prices = [p for p, has in ((price, limit_kind), (stop, kind in STOP_TYPES)) if has]
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        self._check_filters(instrument, prices, quantity, reference, reduce_only)
        current = market.price(now)
        if stop and current is not None and triggers(kind, side, stop, current):
            raise BinanceError(400, -2010, "Stop price would trigger immediately.")
        taker = current is not None and (price >= current if side == "BUY" else price <= current)
        if kind == "LIMIT_MAKER" and taker:
            raise BinanceError(400, -2010, "Order would immediately match and take.")
        need_asset, need = self._reserve(instrument, side, quantity, reference, reduce_only)
        tif = params.get("timeInForce", "GTC") if limit_kind and kind != "LIMIT_MAKER" else "GTC"
        order = Order(
            order_id=number,
            client_id=client_id,
            symbol=instrument.symbol,
            side=side,
            type=kind,
            time_in_force=tif,
            price=price,
            quantity=quantity,
            time_ms=now,
            partial_fraction=self.faults.take_partial(),
            stop_price=stop,
            reduce_only=reduce_only,
        )
        return order, need_asset, need

    def place(self, order: Order, asset: str, amount: float) -> None:
        """Book a validated ``order``, lock ``amount`` of ``asset`` for it, report it NEW."""
        self.orders[order.order_id] = order
        self.by_client[order.client_id] = order.order_id
        self.faults.note_new_order(order.order_id)
        self._lock(order, asset, amount)
        self._report(order, "NEW")

    def cancel(self, symbol_id: str, order_id: str | None, client_id: str | None) -> Order:
        """Cancel an open order or raise -2011 (unknown or no longer open)."""
        try:
            order = self.find(symbol_id, order_id, client_id)
        except BinanceError:
            raise BinanceError(400, -2011, "Unknown order sent.") from None
        if not order.open:
            raise BinanceError(400, -2011, "Unknown order sent.")
        self._close(order, "CANCELED")
        for sibling in self.siblings(order):  # canceling a leg cancels its list (Binance)
            if sibling.open:
                self._close(sibling, "CANCELED")
        if order.list_id >= 0:
            self.lists[order.list_id].done = True
        return order

    def siblings(self, order: Order) -> list[Order]:
        """Return the other legs of ``order``'s order list (none for a plain order)."""
        if order.list_id < 0:
            return []
        legs = self.lists[order.list_id].orders
        return [self.orders[n] for n in legs if n != order.order_id]

    def on_bars(self, closed: list[tuple[str, Kline]], opened: list[tuple[str, Kline]]) -> None:
        """Match open orders: limits and stops against bars that closed, markets (and limits
        and stops the open is beyond) at bars that opened."""
        for symbol, kline in closed:
            bar = kline.as_bar(symbol)
            for order in self._open_orders(symbol):
                if not order.open:
                    continue  # its order list's other leg filled on this bar
                if order.waiting:
                    self._trigger(order, bar, kline.close_ms)
                elif order.as_limit and order.armed_ms <= kline.open_ms:
                    side = OrderSide.BUY if order.side == "BUY" else OrderSide.SELL
                    reached = limit_reached(side, order.price, bar, self.touch)
                    if reached is not None:
                        self._fill(order, reached.price, maker=not reached.at_open)
        for symbol, kline in opened:
            opening = kline.as_bar(symbol)
            for order in self._open_orders(symbol):
                if not order.open:
                    continue
                if order.type == "MARKET":
                    self._fill(order, kline.open, maker=False)
                    continue
                if order.waiting:
                    # only the open is known yet: a bar opening beyond the stop triggers it
                    # at the open, at once; one trading through it waits for the close
                    if triggers(order.type, order.side, order.stop_price, kline.open):
                        self._trigger(order, opening, kline.close_ms)
                    continue
                # A bar opening beyond a resting limit fills it at the open, at once, as the
                # backtest's `limit_reached` does (there at the bar's close; same price).
                side = OrderSide.BUY if order.side == "BUY" else OrderSide.SELL
                reached = limit_reached(side, order.price, opening, self.touch)
                if reached is not None and reached.at_open:
                    self._fill(order, reached.price, maker=False)

    def _trigger(self, order: Order, bar: Bar, close_ms: int) -> None:
        """Trigger the stop ``order`` if ``bar`` reached it; fill it if it is marketable.

        A stop-limit that does not fill at once rests as a limit from the bar after
        ``bar`` (``armed_ms`` = ``bar``'s close), the backtest's rule.
        """
        side = OrderSide.BUY if order.side == "BUY" else OrderSide.SELL
        if order.type.startswith("TAKE_PROFIT"):  # triggers the other way (see the module)
            side = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
        reached = stop_reached(side, order.stop_price, bar)
        if reached is None:
            return
        order.armed_ms = close_ms
        order.update_ms = self.replay.now_ms
        if not order.type.endswith("_LIMIT"):
            self._fill(order, reached.price, maker=False)
            return
        buy = order.side == "BUY"
        if reached.price <= order.price if buy else reached.price >= order.price:
            self._fill(order, reached.price, maker=False)
        if order.open and order.time_in_force in ("IOC", "FOK"):
            self._close(order, "EXPIRED")

    # -- internals ------------------------------------------------------------------------

    def _open_orders(self, symbol: str) -> list[Order]:
        return [o for o in self.orders.values() if o.open and o.symbol == symbol]

    def _check_filters(
        self,
        instrument: Instrument,
        prices: list[float],
        quantity: float,
        reference: float,
        reduce_only: bool = False,
    ) -> None:
        """Binance's filters; ``prices``: the order's limit and stop prices (those it has).

        A reduce-only order (USDⓈ-M futures) is exempt from the minimum notional, as there.
        """
        for value in prices:
            if value <= 0 or off_grid(value, instrument.tick_size):
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        if off_grid(quantity, instrument.lot_size) or quantity < instrument.min_quantity:
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        if quantity * reference < instrument.min_notional and not reduce_only:
            raise BinanceError(400, -1013, "Filter failure: NOTIONAL")

    def _reserve(
        self, instrument: Instrument, side: str, quantity: float, price: float, reduce_only: bool
    ) -> tuple[str, float]:
        """Return the asset and amount an order locks, or raise -2010 if the wallet lacks it.

        Spot: a buy locks its quote with the fee at ``price``, a sell its base quantity.
        """
        base, quote = split_symbol(instrument)
        if side == "BUY":
            fee_rate = 0.0 if self.fee_in_received else self.fee_rate  # paid from the base
            need_asset, need = quote, quantity * price * (1.0 + fee_rate)
        else:
            need_asset, need = base, quantity
        if self.free.get(need_asset, 0.0) + 1e-12 < need:
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        return need_asset, need

    def _fee(self, order: Order, quantity: float, notional: float) -> tuple[float, str]:
        """Return a fill's fee and its asset (see the module's fees)."""
        base, quote = split_symbol(self.instruments[order.symbol])
        if self.fee_in_received and order.side == "BUY":
            return quantity * self.fee_rate, base
        return notional * self.fee_rate, quote

    def _settle(self, order: Order, quantity: float, price: float, fee: float) -> dict[str, Any]:
        """Move the wallet's assets for a fill; return fields to add to the trade (none here).

        ``fee`` is in `_fee`'s asset: the base asset for a buy when fees are charged in the
        asset received, else the quote asset.
        """
        base, quote = split_symbol(self.instruments[order.symbol])
        sign = 1.0 if order.side == "BUY" else -1.0
        base_fee = fee if self.fee_in_received and order.side == "BUY" else 0.0
        self.free[base] = self.free.get(base, 0.0) + sign * quantity - base_fee
        self.free[quote] = self.free.get(quote, 0.0) - sign * quantity * price - (fee - base_fee)
        self.locked.setdefault(base, 0.0)
        return {}

    def _lock(self, order: Order, asset: str, amount: float) -> None:
        order.locked = amount
        self.free[asset] = self.free.get(asset, 0.0) - amount
        self.locked[asset] = self.locked.get(asset, 0.0) + amount

    def _locked_asset(self, order: Order) -> str:
        base, quote = split_symbol(self.instruments[order.symbol])
        return quote if order.side == "BUY" else base

    def match_now(self, order: Order) -> None:
        market = self.replay.markets[order.symbol]
        now = self.replay.now_ms
        if market.in_progress(now) is None:
            if order.type == "LIMIT" and order.time_in_force in ("IOC", "FOK"):
                self._close(order, "EXPIRED")
            return  # a market order in a gap waits for the next open
        price = market.price(now)
        assert price is not None
        if order.type == "MARKET":
            self._fill(order, price, maker=False)
            return
        marketable = price <= order.price if order.side == "BUY" else price >= order.price
        if marketable:
            self._fill(order, price, maker=False)
        if order.open and order.time_in_force in ("IOC", "FOK"):
            self._close(order, "EXPIRED")

    def _fill(self, order: Order, price: float, maker: bool) -> None:
        instrument = self.instruments[order.symbol]
        remaining = order.quantity - order.filled
        quantity = remaining
        if order.partial_fraction < 1.0:
            # Whole lots, floored; the epsilon keeps 0.02 * 0.25 / 1e-5 from flooring to 499.
            part = math.floor(order.quantity * order.partial_fraction / instrument.lot_size + 1e-9)
            quantity = min(remaining, round(max(part, 1) * instrument.lot_size, 12))
            order.partial_fraction = 1.0  # one partial fill per injected fault
        notional = quantity * price
        fee, fee_asset = self._fee(order, quantity, notional)
        for sibling in self.siblings(order):  # an order list locks once: the filling leg's
            order.locked += sibling.locked
            sibling.locked = 0.0
        # Release the share of the lock this fill used, then move the assets.
        share = order.locked * quantity / remaining
        order.locked -= share
        self.locked[self._locked_asset(order)] -= share
        self.free[self._locked_asset(order)] += share
        extra = self._settle(order, quantity, price, fee)
        order.filled += quantity
        order.quote_filled += notional
        order.update_ms = self.replay.now_ms
        done = order.quantity - order.filled <= instrument.lot_size * 1e-6
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        trade = {
            "symbol": order.symbol.replace("/", ""),
            "id": len(self.trades) + 1,
            "orderId": order.order_id,
            "orderListId": order.list_id,
            "price": fmt(price),
            "qty": fmt(quantity),
            "quoteQty": fmt(notional),
            "commission": fmt(fee),
            "commissionAsset": fee_asset,
            "time": self.replay.now_ms,
            "isBuyer": order.side == "BUY",
            "isMaker": maker,
            "isBestMatch": True,
            **extra,
        }
        self.trades.append(trade)
        order.fills.append(
            {
                "price": fmt(price),
                "qty": fmt(quantity),
                "commission": fmt(fee),
                "commissionAsset": fee_asset,
                "tradeId": trade["id"],
            }
        )
        if done and order.locked:
            self._release(order)
        self._report(order, "TRADE", trade)
        self._end_list(order)

    def _end_list(self, order: Order) -> None:
        """A leg of an order list traded: the other legs expire (Binance's OCO)."""
        if order.list_id < 0 or self.lists[order.list_id].done:
            return
        self.lists[order.list_id].done = True
        for sibling in self.siblings(order):
            if sibling.open:
                self._close(sibling, "EXPIRED")

    def _release(self, order: Order) -> None:
        asset = self._locked_asset(order)
        self.locked[asset] -= order.locked
        self.free[asset] += order.locked
        order.locked = 0.0

    def _close(self, order: Order, status: str) -> None:
        self._release(order)
        order.status = status
        order.update_ms = self.replay.now_ms
        self._report(order, status)

    def _report(self, order: Order, execution: str, trade: dict[str, Any] | None = None) -> None:
        now = self.replay.now_ms
        self.events.append(
            {
                "e": "executionReport",
                "E": now,
                "s": order.symbol.replace("/", ""),
                "c": order.client_id,
                "S": order.side,
                "o": order.type,
                "f": order.time_in_force,
                "q": fmt(order.quantity),
                "p": fmt(order.price),
                "P": fmt(order.stop_price),
                "F": fmt(0.0),
                "g": order.list_id,
                "C": order.client_id if execution == "CANCELED" else "",
                "x": execution,
                "X": order.status,
                "r": "NONE",
                "i": order.order_id,
                "l": trade["qty"] if trade else fmt(0.0),
                "z": fmt(order.filled),
                "L": trade["price"] if trade else fmt(0.0),
                "n": trade["commission"] if trade else "0",
                "N": trade["commissionAsset"] if trade else None,
                "T": now,
                "t": trade["id"] if trade else -1,
                "w": order.open and not order.waiting,
                "m": bool(trade and trade["isMaker"]),
                "M": False,
                "O": order.time_ms,
                "Z": fmt(order.quote_filled),
                "Y": trade["quoteQty"] if trade else fmt(0.0),
                "Q": fmt(0.0),
            }
        )
        if trade is not None or execution in ("NEW", "CANCELED", "EXPIRED"):
            self.events.append(
                {
                    "e": "outboundAccountPosition",
                    "E": now,
                    "u": now,
                    "B": [
                        {"a": b["asset"], "f": b["free"], "l": b["locked"]}
                        for b in self.balances_json()
                    ],
                }
            )
