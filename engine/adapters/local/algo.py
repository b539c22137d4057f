"""The local exchange's USDⓈ-M conditional orders: Binance's algo order API over the replay.

Binance takes USDⓈ-M stop orders only through its algo service (``POST /fapi/v1/algoOrder``
with ``algoType = CONDITIONAL``; ``/fapi/v1/order`` answers -4120 for them), and ccxt
4.5.90 sends them there: ``create_order`` on a swap market with ``stopPrice`` /
``triggerPrice`` / ``stopLossPrice`` / ``takeProfitPrice`` calls ``fapiPrivatePostAlgoOrder``
(the client id as ``clientAlgoId``, the trigger as ``triggerPrice``, the type ``STOP_MARKET``
or ``STOP`` with a ``price``; ``TAKE_PROFIT[_MARKET]`` for ``takeProfitPrice``); with
``params={"trigger": True}`` ``fetch_order`` calls ``GET algoOrder`` (``algoId`` or
``clientAlgoId``), ``fetch_open_orders`` ``GET openAlgoOrders``, ``fetch_orders``
``GET allAlgoOrders`` and ``cancel_order`` ``DELETE algoOrder``. ccxt.pro's ``watch_orders``
parses the user stream's ``ALGO_UPDATE`` (``caid``, ``aid``, ``X`` the algo status, ``tp``).

The book here (`AlgoBook`, owned by `engine.adapters.local.futures.FuturesVenue`):

* **Placement**: ``type`` STOP_MARKET, STOP, TAKE_PROFIT_MARKET or TAKE_PROFIT (else -1116);
  ``triggerPrice`` (-1102 without it); ``price`` for STOP / TAKE_PROFIT; ``quantity`` unless
  ``closePosition=true`` (STOP_MARKET / TAKE_PROFIT_MARKET only, whole position, -4136
  otherwise); the tick and lot filters (the minimum notional is not checked: the order
  locks nothing, its margin is checked when it triggers). A trigger the market price is
  already at or through is refused, -2021 ``Order would immediately trigger.``; a reused
  ``clientAlgoId`` -4116 ``ClientOrderId is duplicated.``; an armed ``reject`` fault
  (`engine.adapters.local.faults`) -2010, as a plain order's. Nothing is locked and no
  position is required: reduce-only is enforced when it triggers, as on Binance.
* **Triggering** is the spot stops' (`engine.execution.matching.stop_reached` with
  `engine.adapters.local.rules.triggers`' directions: STOP* a sell when the price falls to
  the trigger, a buy when it rises to it; TAKE_PROFIT* the other way): a bar opening
  beyond it triggers at the open as soon as it opens, a bar trading through it at the
  trigger when it closes. The triggered algo order (``TRIGGERED``, ``actualOrderId``,
  ``triggerTime``) places a plain order in the matching engine — MARKET, or LIMIT at
  ``price`` — whose ``clientOrderId`` is the ``clientAlgoId`` (the order's
  ``ORDER_TRADE_UPDATE``s carry it), which fills at the trigger price (the open on a gap)
  as a taker, or, a limit not marketable there, rests from the next bar. When that order
  has ended the algo order is ``FINISHED`` with its ``executedQty`` / ``avgPrice``. An
  armed ``partial`` fault applies to that placed order (it is the next new order): it
  fills ``fraction`` at the trigger, the rest at the next matching bar.
* **reduceOnly / closePosition at the trigger**: the order may only shrink the position —
  cut to the position's size; a flat position or one on the order's side rejects it
  (``REJECTED``, ``rm`` ``Reduce Only reject``): two reduce-only exits of one position can
  never both fill beyond it and open the other side. A plain conditional order's margin is
  checked at the trigger (``REJECTED``, ``Margin is insufficient.``).
* **Cancel**: a ``NEW`` algo order only (else -2011 ``Unknown order sent.``); ``CANCELED``.

Every change of status is an ``ALGO_UPDATE`` on the user stream (Binance's fields: ``caid``,
``aid``, ``at``, ``o``, ``s``, ``S``, ``ps``, ``f``, ``q``, ``X``, ``ai``, ``ap``, ``aq``,
``act``, ``tp``, ``p``, ``wt``, ``cp``, ``R``, ``tt``, ``rm``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.adapters.local.faults import Faults
from engine.adapters.local.replay import Kline, Replay
from engine.adapters.local.rules import BinanceError, off_grid, triggers
from engine.adapters.local.venue import Order, fmt
from engine.execution.matching import stop_reached
from engine.model import Instrument, OrderSide

__all__ = ["ALGO_TYPES", "AlgoBook", "AlgoHost", "AlgoOrder"]

#: USDⓈ-M conditional order types the algo API takes (trailing stops are the node's)
ALGO_TYPES = ("STOP_MARKET", "STOP", "TAKE_PROFIT_MARKET", "TAKE_PROFIT")


@dataclass
class AlgoOrder:
    """One conditional order in the algo service."""

    algo_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    quantity: float  # 0 with close_position: the whole position at the trigger
    price: float  # 0 for the _MARKET types
    trigger_price: float
    reduce_only: bool
    close_position: bool
    create_ms: int
    status: str = "NEW"
    update_ms: int = 0
    trigger_ms: int = 0
    actual: Order | None = None  # the matching-engine order it placed when triggered
    reason: str = ""

    @property
    def limit(self) -> bool:
        """True for STOP / TAKE_PROFIT: the triggered order is a limit at ``price``."""
        return not self.type.endswith("_MARKET")

    def as_json(self) -> dict[str, Any]:
        """Return the order as ``GET /fapi/v1/algoOrder`` answers it."""
        actual = self.actual
        filled = actual.filled if actual else 0.0
        average = actual.quote_filled / actual.filled if actual and actual.filled else 0.0
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_id,
            "algoType": "CONDITIONAL",
            "orderType": self.type,
            "symbol": self.symbol.replace("/", ""),
            "side": self.side,
            "positionSide": "BOTH",
            "timeInForce": self.time_in_force,
            "quantity": fmt(self.quantity),
            "algoStatus": self.status,
            "actualOrderId": str(actual.order_id) if actual else "",
            "actualPrice": fmt(average),
            "triggerPrice": fmt(self.trigger_price),
            "price": fmt(self.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "NONE",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "createTime": self.create_ms,
            "updateTime": self.update_ms or self.create_ms,
            "triggerTime": self.trigger_ms,
            "goodTillDate": 0,
            "executedQty": fmt(filled),
            "avgPrice": fmt(average),
        }


class _Position(Protocol):
    amount: float


class AlgoHost(Protocol):
    """What the book uses of its account (`engine.adapters.local.futures.FuturesVenue`)."""

    replay: Replay
    instruments: dict[str, Instrument]
    orders: dict[int, Order]
    by_client: dict[str, int]
    events: list[dict[str, Any]]
    faults: Faults

    @property
    def positions(self) -> Mapping[str, _Position]:
        """The one-way positions by symbol."""
        ...

    def instrument(self, symbol_id: str) -> Instrument:
        """The instrument of a Binance symbol id, or -1121."""
        ...

    def settle_asset(self, symbol: str) -> str:
        """The wallet asset of ``symbol``."""
        ...

    def place(self, order: Order, asset: str, amount: float) -> None:
        """Book ``order`` in the matching engine and report it NEW."""
        ...

    def _reserve(
        self, instrument: Instrument, side: str, quantity: float, price: float, reduce_only: bool
    ) -> tuple[str, float]: ...

    def _fill(self, order: Order, price: float, maker: bool) -> None: ...

    def _close(self, order: Order, status: str) -> None: ...


class AlgoBook:
    """The account's conditional orders (see the module); fills go through ``venue``."""

    def __init__(self, venue: AlgoHost) -> None:
        """Serve ``venue``'s account; no orders yet."""
        self.venue = venue
        self.orders: dict[int, AlgoOrder] = {}
        self.by_client: dict[str, int] = {}

    def create(self, params: dict[str, str]) -> AlgoOrder:
        """Place a conditional order from ``POST /fapi/v1/algoOrder`` parameters."""
        venue = self.venue
        instrument = venue.instrument(params.get("symbol", ""))
        side = params.get("side", "")
        kind = params.get("type", "")
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1102, "Mandatory parameter 'side' was not sent or invalid.")
        if params.get("algoType", "") != "CONDITIONAL" or kind not in ALGO_TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        number = len(self.orders) + 1
        client_id = params.get("clientAlgoId") or f"algo-{number}"
        if client_id in self.by_client or client_id in venue.by_client:
            raise BinanceError(400, -4116, "ClientOrderId is duplicated.")
        if venue.faults.take_reject():
            raise BinanceError(400, -2010, "Order was rejected (injected fault).")
        close_position = params.get("closePosition", "false").lower() == "true"
        if close_position and kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            raise BinanceError(400, -4136, "Target strategy invalid for orderType.")
        try:
            trigger = float(params["triggerPrice"])
            price = float(params["price"]) if not kind.endswith("_MARKET") else 0.0
            quantity = 0.0 if close_position else float(params["quantity"])
        except (KeyError, ValueError):
            raise BinanceError(400, -1102, "Mandatory parameter was not sent or invalid.") from None
        for value in [trigger, price] if price or not kind.endswith("_MARKET") else [trigger]:
            if not (math.isfinite(value) and value > 0) or off_grid(value, instrument.tick_size):
                raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        if not close_position and (
            not (math.isfinite(quantity) and quantity >= instrument.min_quantity)
            or off_grid(quantity, instrument.lot_size)
        ):
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        current = venue.replay.markets[instrument.symbol].price(venue.replay.now_ms)
        if current is not None and triggers(_rule(kind), side, trigger, current):
            raise BinanceError(400, -2021, "Order would immediately trigger.")
        order = AlgoOrder(
            algo_id=number,
            client_id=client_id,
            symbol=instrument.symbol,
            side=side,
            type=kind,
            time_in_force=params.get("timeInForce", "GTC"),
            quantity=quantity,
            price=price,
            trigger_price=trigger,
            reduce_only=close_position or params.get("reduceOnly", "false").lower() == "true",
            close_position=close_position,
            create_ms=venue.replay.now_ms,
        )
        self.orders[number] = order
        self.by_client[client_id] = number
        self._report(order)
        return order

    def find(self, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        """Return the order by ``algoId`` or ``clientAlgoId``, or raise -2013."""
        number = int(algo_id) if algo_id else self.by_client.get(client_id or "", -1)
        order = self.orders.get(number)
        if order is None:
            raise BinanceError(400, -2013, "Order does not exist.")
        return order

    def cancel(self, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        """Cancel a NEW order, or raise -2011 (unknown, triggered or ended)."""
        try:
            order = self.find(algo_id, client_id)
        except BinanceError:
            raise BinanceError(400, -2011, "Unknown order sent.") from None
        if order.status != "NEW":
            raise BinanceError(400, -2011, "Unknown order sent.")
        self._set(order, "CANCELED")
        return order

    def open_orders(self, symbol_id: str) -> list[AlgoOrder]:
        """Return the NEW orders (of ``symbol_id`` if given)."""
        return [o for o in self.all_orders(symbol_id) if o.status == "NEW"]

    def all_orders(self, symbol_id: str) -> list[AlgoOrder]:
        """Return every order (of ``symbol_id`` if given)."""
        if symbol_id:
            self.venue.instrument(symbol_id)
        rows = self.orders.values()
        return [o for o in rows if not symbol_id or o.symbol.replace("/", "") == symbol_id]

    # -- matching -------------------------------------------------------------------------

    def on_close(self, symbol: str, kline: Kline) -> None:
        """Trigger what the closed bar reached; finish orders whose placed order ended."""
        bar = kline.as_bar(symbol)
        for order in self._waiting(symbol):
            self._trigger(order, bar, kline.close_ms)
        self.sweep()

    def on_open(self, symbol: str, kline: Kline) -> None:
        """Trigger, at the open, what a bar opening beyond the trigger reached."""
        for order in self._waiting(symbol):
            if triggers(_rule(order.type), order.side, order.trigger_price, kline.open):
                self._trigger(order, kline.as_bar(symbol), kline.close_ms)
        self.sweep()

    def sweep(self) -> None:
        """Mark FINISHED the triggered orders whose matching-engine order has ended."""
        for order in self.orders.values():
            if order.status == "TRIGGERED" and order.actual and not order.actual.open:
                self._set(order, "FINISHED")

    def _waiting(self, symbol: str) -> list[AlgoOrder]:
        return [o for o in self.orders.values() if o.status == "NEW" and o.symbol == symbol]

    def _trigger(self, order: AlgoOrder, bar: Any, close_ms: int) -> None:
        side = OrderSide.BUY if order.side == "BUY" else OrderSide.SELL
        if order.type.startswith("TAKE_PROFIT"):  # triggers the other way (see the module)
            side = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
        reached = stop_reached(side, order.trigger_price, bar)
        if reached is None:
            return
        venue = self.venue
        order.trigger_ms = venue.replay.now_ms
        held = venue.positions[order.symbol].amount
        signed = 1.0 if order.side == "BUY" else -1.0
        quantity = order.quantity
        if order.reduce_only:
            if held == 0.0 or (held > 0) == (signed > 0):
                self._set(order, "REJECTED", "Reduce Only reject")
                return
            quantity = abs(held) if order.close_position else min(quantity, abs(held))
        instrument = venue.instruments[order.symbol]
        try:
            venue._reserve(instrument, order.side, quantity, reached.price, order.reduce_only)
        except BinanceError as exc:
            self._set(order, "REJECTED", exc.msg)
            return
        actual = Order(
            order_id=len(venue.orders) + 1,
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            type="LIMIT" if order.limit else "MARKET",
            time_in_force=order.time_in_force if order.limit else "GTC",
            price=order.price,
            quantity=quantity,
            time_ms=venue.replay.now_ms,
            reduce_only=order.reduce_only,
            armed_ms=close_ms,  # a limit not marketable at the trigger rests from the next bar
            partial_fraction=venue.faults.take_partial(),  # the placed order is a new order
        )
        order.actual = actual
        self._set(order, "TRIGGERED")
        venue.place(actual, venue.settle_asset(order.symbol), 0.0)
        buy = order.side == "BUY"
        if not order.limit or (
            reached.price <= order.price if buy else reached.price >= order.price
        ):
            venue._fill(actual, reached.price, maker=False)
        if actual.open and actual.time_in_force in ("IOC", "FOK"):
            venue._close(actual, "EXPIRED")

    def _set(self, order: AlgoOrder, status: str, reason: str = "") -> None:
        order.status = status
        order.reason = reason
        order.update_ms = self.venue.replay.now_ms
        self._report(order)

    def _report(self, order: AlgoOrder) -> None:
        """Queue the ``ALGO_UPDATE`` of ``order``'s current status."""
        now = self.venue.replay.now_ms
        actual = order.actual
        row = order.as_json()
        update = {
            "caid": order.client_id,
            "aid": order.algo_id,
            "at": "CONDITIONAL",
            "o": order.type,
            "s": row["symbol"],
            "S": order.side,
            "ps": "BOTH",
            "f": order.time_in_force,
            "q": row["quantity"],
            "X": order.status,
            "ai": str(actual.order_id) if actual else "",
            "ap": row["avgPrice"],
            "aq": row["executedQty"],
            "act": actual.type if actual else "0",
            "tp": row["triggerPrice"],
            "p": row["price"],
            "V": "NONE",
            "wt": "CONTRACT_PRICE",
            "pm": "NONE",
            "cp": order.close_position,
            "pP": False,
            "R": order.reduce_only,
            "tt": order.trigger_ms,
            "gtd": 0,
            "rm": order.reason,
        }
        self.venue.events.append({"e": "ALGO_UPDATE", "T": now, "E": now, "o": update})


def _rule(kind: str) -> str:
    """The spot stop type whose trigger direction ``kind`` has (`rules.triggers`)."""
    return "TAKE_PROFIT" if kind.startswith("TAKE_PROFIT") else "STOP_LOSS"
